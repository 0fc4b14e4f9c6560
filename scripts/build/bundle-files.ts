import { copyFileSync, existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import type { Metafile } from "esbuild";

/** Files next to a source module that it opens at run time: `new URL("./file.py", import.meta.url)`. */
const SIBLING_FILE = /new URL\(\s*["'](\.\/[^"']+)["']\s*,\s*import\.meta\.url\s*\)/g;

/**
 * Copies the files the bundled workspace sources open relative to themselves (the moto launcher,
 * for one) next to the bundle, where `import.meta.url` now points. Found by reading the bundle's
 * inputs, so a module that moves or a new such file needs no change here.
 */
export function copySiblingFiles(metafile: Metafile, root: string, outdir: string): string[] {
  const copied: string[] = [];
  for (const input of Object.keys(metafile.inputs)) {
    if (input.includes("node_modules") || !/\.[cm]?[jt]s$/.test(input)) continue;
    const source = resolve(root, input);
    for (const [, relative] of readFileSync(source, "utf8").matchAll(SIBLING_FILE)) {
      const file = join(dirname(source), relative!);
      if (!existsSync(file)) throw new Error(`${input} opens ${relative}, which does not exist`);
      copyFileSync(file, join(outdir, basename(file)));
      copied.push(basename(file));
    }
  }
  return copied;
}

interface BundledPackage {
  name: string;
  version: string;
  license: string;
  text: string;
}

/** The npm packages whose code is in the bundle, each with its license (from its package.json and LICENSE file). */
export function bundledPackages(metafile: Metafile, root: string): BundledPackage[] {
  const dirs = new Set<string>();
  for (const input of Object.keys(metafile.inputs)) {
    const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (match) dirs.add(resolve(root, match[1]!));
  }
  return [...dirs]
    .map((dir) => {
      const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
      const licenseFile = readdirSync(dir).find((file) => /^(licen[cs]e|copying)/i.test(file));
      return {
        name: manifest.name as string,
        version: manifest.version as string,
        license: String(manifest.license ?? "UNKNOWN"),
        text: licenseFile ? readFileSync(join(dir, licenseFile), "utf8").trim() : "",
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * THIRD-PARTY-NOTICES.md: every bundled package with its version and license; each distinct license
 * text once, followed by the packages it covers (most of the AWS SDK shares one Apache-2.0 text).
 */
export function renderThirdPartyNotices(packages: BundledPackage[]): string {
  const byText = new Map<string, BundledPackage[]>();
  for (const pkg of packages) byText.set(pkg.text, [...(byText.get(pkg.text) ?? []), pkg]);
  const lines = [
    "# Third-party notices",
    "",
    "The flowlog-guard package bundles the following packages. Each is listed with its license.",
    "",
    ...packages.map((pkg) => `- ${pkg.name}@${pkg.version} (${pkg.license})`),
  ];
  for (const [text, covered] of byText) {
    lines.push("", `## ${covered.map((pkg) => pkg.name).join(", ")}`, "");
    lines.push(
      text ? ["```", text, "```"].join("\n") : `License: ${covered[0]!.license} (no license file shipped)`,
    );
  }
  return `${lines.join("\n")}\n`;
}
