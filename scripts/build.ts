/**
 * The one build of flowlog-guard: the npm package (dist/package, `npm pack` it or publish it) and the
 * Lambda function bundles (dist/functions/<Function>), from the same sources with the same esbuild
 * settings. The repository itself runs from source (docs/adr/0001); this is for what leaves it
 * (docs/adr/0007-package-build.md).
 *
 *   npm run build
 */
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { buildFunctionBundle, FUNCTION_ENTRIES } from "./build/functions.ts";
import { buildPackage } from "./build/package.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const DIST = join(ROOT, "dist");
const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`;

const started = performance.now();
const pkg = await buildPackage(join(DIST, "package"));
console.log(
  `package   ${relative(ROOT, pkg.dir)}: flowlog-guard@${pkg.version}, ${kb(pkg.javascriptBytes)} of JavaScript, ` +
    `${pkg.bundled} npm packages bundled, no runtime dependencies (npm pack ${relative(ROOT, pkg.dir)})`,
);
for (const [name, entry] of Object.entries(FUNCTION_ENTRIES)) {
  const bundle = await buildFunctionBundle(entry, join(DIST, "functions", name));
  console.log(
    `function  ${relative(ROOT, bundle.entry)}: ${kb(bundle.totalBytes)} in ${1 + bundle.chunks.length} file(s)`,
  );
}
console.log(`built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
