import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { isBuiltin } from "node:module";
import { basename, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { generateDtsBundle } from "dts-bundle-generator";
import { build, type Metafile } from "esbuild";
import { bundledPackages, copySiblingFiles, renderThirdPartyNotices } from "./bundle-files.ts";
import { NODE22_BUNDLE } from "./esbuild-options.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CLI_DIR = join(ROOT, "packages/cli");

/** The package's name on the registry: the command's name. */
export const PACKAGE_NAME = "flowlog-guard";

export interface PackageBuild {
  /** The folder to `npm pack` or `npm publish`. */
  dir: string;
  version: string;
  /** Bytes of JavaScript in lib/ (the bundle and its chunks). */
  javascriptBytes: number;
  /** npm packages whose code is inside the bundle. */
  bundled: number;
}

const readJson = (file: string) => JSON.parse(readFileSync(file, "utf8"));

/**
 * Builds the publishable `flowlog-guard` package into `dir`: the CLI and the engine it needs bundled
 * to JavaScript (lib/), with type declarations of its programmatic entry, the launcher that checks
 * the Node version (bin/), and the files moved along with the sources (the moto launcher). Starts
 * from the CLI package's entry points, so moving modules inside the workspace needs no change here.
 * Everything is bundled by default: the package has no runtime dependencies. `external` (esbuild
 * patterns such as `@aws-sdk/*`) leaves packages out of the bundle and makes each one the bundle
 * imports a dependency at its installed version (docs/adr/0007-package-build.md says when to).
 */
export async function buildPackage(dir: string, external: string[] = []): Promise<PackageBuild> {
  const root = readJson(join(ROOT, "package.json"));
  const cli = readJson(join(CLI_DIR, "package.json"));
  const entry = join(CLI_DIR, cli.exports["."]);
  const launcher = join(CLI_DIR, cli.bin[PACKAGE_NAME]);
  const lib = join(dir, "lib");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, "bin"), { recursive: true });

  const result = await build({
    ...NODE22_BUNDLE,
    entryPoints: { index: entry },
    outdir: lib,
    absWorkingDir: ROOT,
    external,
  });
  copySiblingFiles(result.metafile, ROOT, lib);
  const packages = bundledPackages(result.metafile, ROOT);
  writeFileSync(join(dir, "THIRD-PARTY-NOTICES.md"), renderThirdPartyNotices(packages));
  writeFileSync(join(lib, "index.d.ts"), declarationsOf(entry));
  writeLauncher(launcher, join(dir, "bin", basename(launcher)), "../lib/index.js");
  for (const file of ["README.md", "CHANGELOG.md", "LICENSE"])
    copyFileSync(join(ROOT, file), join(dir, file));
  writeFileSync(
    join(dir, "package.json"),
    `${JSON.stringify(manifest(root, basename(launcher), dependenciesOf(result.metafile)), null, 2)}\n`,
  );

  const outputs = Object.entries(result.metafile.outputs);
  return {
    dir,
    version: root.version,
    javascriptBytes: outputs.reduce((sum, [, output]) => sum + output.bytes, 0),
    bundled: packages.length,
  };
}

/** The packages the bundle imports instead of containing, each at the version installed here. */
function dependenciesOf(metafile: Metafile): Record<string, string> | undefined {
  const names = Object.values(metafile.outputs)
    .flatMap((output) => output.imports)
    // Node's built-ins ("node:events", and bare "events" some bundled code still writes) are no dependency.
    .filter((imported) => imported.external && !isBuiltin(imported.path))
    .map((imported) => /^(@[^/]+\/)?[^/]+/.exec(imported.path)![0]);
  if (names.length === 0) return undefined;
  return Object.fromEntries(
    [...new Set(names)]
      .sort()
      .map((name) => [name, `^${readJson(join(ROOT, "node_modules", name, "package.json")).version}`]),
  );
}

/** package.json of the published package: one version (the repository's). */
function manifest(root: Record<string, unknown>, launcher: string, dependencies?: Record<string, string>) {
  return {
    name: PACKAGE_NAME,
    version: root.version,
    description: root.description,
    keywords: ["aws", "vpc", "flow-logs", "compliance", "cis", "security-hub", "remediation", "cli"],
    license: root.license,
    type: "module",
    bin: { [PACKAGE_NAME]: `bin/${launcher}` },
    exports: {
      ".": { types: "./lib/index.d.ts", default: "./lib/index.js" },
      "./package.json": "./package.json",
    },
    types: "./lib/index.d.ts",
    files: ["bin", "lib", "CHANGELOG.md", "LICENSE", "THIRD-PARTY-NOTICES.md"],
    engines: root.engines,
    dependencies,
  };
}

/** The repository's launcher, pointed at the built entry instead of the TypeScript source. */
function writeLauncher(source: string, target: string, builtEntry: string): void {
  const text = readFileSync(source, "utf8");
  const pattern = /^var ENTRY = "[^"]+";$/m;
  if (!pattern.test(text)) throw new Error(`${relative(ROOT, source)} has no 'var ENTRY = "...";' line`);
  writeFileSync(target, text.replace(pattern, `var ENTRY = ${JSON.stringify(builtEntry)};`));
  chmodSync(target, 0o755);
}

/** One declaration file for the package's entry, with the workspace packages' types inlined. */
function declarationsOf(entry: string): string {
  const [declarations] = generateDtsBundle([{ filePath: entry, output: { noBanner: true } }], {
    preferredConfigPath: join(ROOT, "scripts/build/tsconfig.declarations.json"),
  });
  return `/// <reference types="node" />\n${declarations}`;
}
