import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type InstalledPackage, packAndInstall } from "../scripts/build/pack.ts";
import { createVpc, testPool } from "./support/aws.ts";
import { runCli } from "./support/cli.ts";

const REGION = "eu-west-1";
const REPO_MODULES = fileURLToPath(new URL("../node_modules/", import.meta.url));

/** A Node older than the package supports (the machine's own, when the repository pins a newer one). */
function olderNode(): string | undefined {
  const candidates = execFileSync("which", ["-a", "node"], { encoding: "utf8" }).split("\n").filter(Boolean);
  return candidates.find((node) => {
    const major = Number(
      execFileSync(node, ["-p", "process.versions.node.split('.')[0]"], { encoding: "utf8" }),
    );
    return major < 22;
  });
}

describe("the flowlog-guard npm package, installed from its tarball into an empty project", () => {
  let workdir: string;
  let installed: InstalledPackage;
  const run = (args: string[], options: Parameters<typeof runCli>[1] = {}) =>
    runCli(args, { bin: installed.bin, cwd: installed.project, ...options });

  beforeAll(async () => {
    workdir = mkdtempSync(join(tmpdir(), "flowlog-guard-package-"));
    installed = await packAndInstall(workdir);
  }, 300_000);
  afterAll(() => rmSync(workdir, { recursive: true, force: true }));

  it("installs itself and nothing else: everything it runs is inside", () => {
    expect(installed.installedPackages).toEqual(["flowlog-guard"]);
    const dir = join(installed.project, "node_modules/flowlog-guard");
    for (const file of [
      "lib/index.js",
      "lib/index.d.ts",
      "lib/moto_launcher.py",
      "CHANGELOG.md",
      "README.md",
      "LICENSE",
    ]) {
      expect(existsSync(join(dir, file)), file).toBe(true);
    }
    // The license package.json names, in full, as in the repository.
    const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    expect(manifest.license).toBe("Apache-2.0");
    const license = readFileSync(join(dir, "LICENSE"), "utf8");
    expect(license).toBe(readFileSync(fileURLToPath(new URL("../LICENSE", import.meta.url)), "utf8"));
    expect(license).toMatch(/^\s*Apache License\s+Version 2\.0, January 2004/);
    expect(license).toContain("END OF TERMS AND CONDITIONS");
    expect(JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).dependencies).toBeUndefined();
    const notices = readFileSync(join(dir, "THIRD-PARTY-NOTICES.md"), "utf8");
    for (const bundled of ["@aws-sdk/client-ec2", "commander", "zod"]) {
      expect(notices).toMatch(new RegExp(`^- ${bundled}@\\d+\\.\\d+\\.\\d+ \\((Apache-2\\.0|MIT)\\)$`, "m"));
    }
  });

  it("--help teaches the commands; --version is the package's version", async () => {
    const help = await run(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Usage: flowlog-guard/);
    for (const command of ["scan", "fix-all", "iam-policy", "demo"]) expect(help.stdout).toContain(command);

    const version = await run(["--version"]);
    expect(version.stdout.trim()).toBe(installed.build.version);
  });

  it("iam-policy --account-id prints the policy scoped to that account", async () => {
    const result = await run(["iam-policy", "--account-id", "111122223333"]);
    expect(result.code).toBe(0);
    const policy = JSON.parse(result.stdout) as { Statement: { Resource: string | string[] }[] };
    const resources = policy.Statement.flatMap((statement) => statement.Resource);
    expect(resources.some((arn) => arn.includes(":111122223333:"))).toBe(true);
  });

  it("scan --json reads moto and reports the VPC that has no flow log (exit 3)", async () => {
    const vpcId = await createVpc(testPool(), REGION);
    const result = await run(["scan", "--regions", REGION, "--json"]);
    expect(result.code, result.stderr).toBe(3);
    const report = JSON.parse(result.stdout) as { vpcs: { vpcId: string; status: string }[] };
    expect(report.vpcs.find((vpc) => vpc.vpcId === vpcId)?.status).toBe("non-compliant");
  });

  it("demo without moto exits 2 and says how to install it (and ships the moto launcher)", async () => {
    // A python3 that has no moto, and that fails differently if the package did not ship the launcher.
    const python = join(workdir, "python3");
    writeFileSync(
      python,
      '#!/bin/sh\n[ -f "$1" ] || { echo "no launcher at $1" >&2; exit 9; }\n' +
        'echo \'{"error":"import","detail":"No module named moto"}\'\nexit 3\n',
    );
    chmodSync(python, 0o755);
    const result = await run(["demo"], { env: { FLOWLOG_GUARD_PYTHON: python } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('pip install "moto[server]"');
    expect(result.stderr).toContain("No module named moto");
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it.skipIf(!olderNode())("on Node older than 22.12 prints one line saying so, no stack trace", async () => {
    const result = await run(["--help"], { node: olderNode() });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^flowlog-guard needs Node\.js 22\.12\.0 or newer, and this is v\d+/);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("its type declarations compile in a TypeScript project that imports it", () => {
    const consumer = join(installed.project, "consumer.mts");
    writeFileSync(
      consumer,
      'import { ExitCode, main } from "flowlog-guard";\nconst code: number = await main(["--version"]);\n' +
        "export const ok: boolean = code === ExitCode.ok;\n",
    );
    const tsc = join(REPO_MODULES, "typescript/bin/tsc");
    const args = ["--noEmit", "--strict", "--module", "nodenext", "--target", "es2023", "--skipLibCheck"];
    const typeRoots = ["--typeRoots", join(REPO_MODULES, "@types"), "--types", "node"];
    const result = spawnSync(process.execPath, [tsc, ...args, ...typeRoots, consumer], {
      cwd: installed.project,
      encoding: "utf8",
    });
    expect(result.status, result.stdout).toBe(0);
  }, 60_000);
});
