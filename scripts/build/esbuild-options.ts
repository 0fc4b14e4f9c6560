import type { BuildOptions } from "esbuild";

/**
 * What every bundle of flowlog-guard shares, the Lambda functions and the npm package alike: ESM for
 * Node 22, minified, code splitting (what a command or an invocation does not need is a chunk loaded
 * later). docs/adr/0004-function-bundles.md and docs/adr/0007-package-build.md say why.
 */
export const NODE22_BUNDLE = {
  bundle: true,
  splitting: true,
  platform: "node",
  target: "node22",
  format: "esm",
  minify: true,
  legalComments: "none",
  // ESM bundles of CommonJS dependencies need a require (as SST's banner adds).
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  metafile: true,
  logLevel: "error",
} as const satisfies BuildOptions;

/** What the `nodejs22.x` Lambda runtime provides, so the function bundles leave it out (ADR 4). */
export const LAMBDA_RUNTIME_PROVIDES = ["@aws-sdk/*"] as const;
