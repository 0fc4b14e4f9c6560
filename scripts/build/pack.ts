import { execFileSync } from "node:child_process";
import { lstatSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildPackage, PACKAGE_NAME, type PackageBuild } from "./package.ts";

export interface InstalledPackage {
  build: PackageBuild;
  /** The `npm pack` tarball. */
  tarball: string;
  packedBytes: number;
  /** An empty project the tarball was installed into, outside the repository. */
  project: string;
  /** `<project>/node_modules/.bin/flowlog-guard`. */
  bin: string;
  /** Everything `npm install` put under `<project>/node_modules`. */
  installedBytes: number;
  /** Packages under node_modules (flowlog-guard itself included). */
  installedPackages: string[];
  buildMs: number;
  installMs: number;
}

/**
 * Builds the package, packs it and installs the tarball into an empty project under `workdir`, with
 * its own npm cache, as an operator would (`npm install flowlog-guard`). `workdir` must be outside
 * the repository, so that nothing resolves to the repository's node_modules. `external`: as for
 * buildPackage (to measure the package with, for example, the AWS SDK as dependencies).
 */
export async function packAndInstall(workdir: string, external: string[] = []): Promise<InstalledPackage> {
  const npm = (args: string[], cwd: string) =>
    execFileSync("npm", [...args, "--no-audit", "--no-fund", "--cache", join(workdir, "npm-cache")], {
      cwd,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
  let started = performance.now();
  const build = await buildPackage(join(workdir, "package"), external);
  const buildMs = performance.now() - started;
  const [packed] = JSON.parse(npm(["pack", "--json", "--pack-destination", workdir], build.dir)) as [
    { filename: string },
  ];
  const tarball = join(workdir, packed.filename);

  const project = join(workdir, "project");
  mkdirSync(project, { recursive: true });
  writeFileSync(join(project, "package.json"), '{ "private": true }\n');
  started = performance.now();
  npm(["install", tarball], project);
  const installMs = performance.now() - started;

  const modules = join(project, "node_modules");
  return {
    build,
    tarball,
    packedBytes: statSync(tarball).size,
    project,
    bin: join(modules, ".bin", PACKAGE_NAME),
    installedBytes: sizeOf(modules),
    installedPackages: packagesIn(modules),
    buildMs,
    installMs,
  };
}

function sizeOf(path: string): number {
  const stat = lstatSync(path);
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(path).reduce((sum, entry) => sum + sizeOf(join(path, entry)), 0);
}

function packagesIn(modules: string): string[] {
  return readdirSync(modules)
    .filter((entry) => !entry.startsWith("."))
    .flatMap((entry) =>
      entry.startsWith("@") ? readdirSync(join(modules, entry)).map((name) => `${entry}/${name}`) : [entry],
    );
}
