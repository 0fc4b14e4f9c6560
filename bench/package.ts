/**
 * The npm package as an operator gets it: builds it, packs it (`npm pack`), installs the tarball into
 * an empty project with an empty npm cache, and prints the packed size, the installed size, the
 * packages installed and how long each step took. Target: packed under 1 MB. Prints numbers; never
 * fails on them. `--external` measures the alternative of ADR 7, packages left out of the bundle as
 * dependencies (installed from the registry).
 *
 *   npm run bench:package
 *   npm run bench:package -- --external '@aws-sdk/*,@smithy/*'
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { packAndInstall } from "../scripts/build/pack.ts";

const flag = process.argv.indexOf("--external");
const external = flag > 0 ? process.argv[flag + 1]!.split(",") : [];
const workdir = mkdtempSync(join(tmpdir(), "flowlog-guard-package-"));
try {
  const installed = await packAndInstall(workdir, external);
  const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`;
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const started = performance.now();
  execFileSync(process.execPath, [installed.bin, "--help"], { cwd: installed.project, stdio: "ignore" });
  const helpMs = performance.now() - started;
  console.log(
    `flowlog-guard@${installed.build.version} (npm pack, then npm install <tarball> into an empty project), ` +
      (external.length ? `not bundled: ${external.join(", ")}` : "everything bundled"),
  );
  console.log(
    `packed     ${kb(installed.packedBytes).padStart(8)}  ${installed.packedBytes < 1024 * 1024 ? "(< 1 MB: met)" : "(< 1 MB: MISSED)"}`,
  );
  console.log(
    `installed  ${kb(installed.installedBytes).padStart(8)}  node_modules: ${
      installed.installedPackages.length > 5
        ? `${installed.installedPackages.length} packages`
        : installed.installedPackages.join(", ")
    }`,
  );
  console.log(`build      ${seconds(installed.buildMs).padStart(8)}  (esbuild bundle + type declarations)`);
  console.log(
    `install    ${seconds(installed.installMs).padStart(8)}  (npm install <tarball>, empty npm cache)`,
  );
  console.log(`--help     ${seconds(helpMs).padStart(8)}  (a fresh process running the installed command)`);
} finally {
  rmSync(workdir, { recursive: true, force: true });
}
