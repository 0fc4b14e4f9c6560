import { readdirSync, rmSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { LAMBDA_RUNTIME_PROVIDES, NODE22_BUNDLE } from "./esbuild-options.ts";

/** The Lambda handlers the stacks deploy (stacks/remediation.ts), by function name. */
export const FUNCTION_ENTRIES = {
  Remediate: fileURLToPath(new URL("../../packages/functions/src/remediate.ts", import.meta.url)),
  FixAll: fileURLToPath(new URL("../../packages/functions/src/fix-all.ts", import.meta.url)),
};

export interface FunctionBundle {
  /** The file Lambda loads at init. */
  entry: string;
  /** Chunks loaded on the first invocation (engine, zod schemas, ...). */
  chunks: string[];
  totalBytes: number;
}

/**
 * Bundles one handler as the stacks have SST bundle it: `nodejs22.x`, ESM, minified, code splitting
 * (the engine is a chunk loaded on first invocation), and AWS SDK v3 from the runtime
 * (docs/adr/0004-function-bundles.md).
 */
export async function buildFunctionBundle(entry: string, outdir: string): Promise<FunctionBundle> {
  rmSync(outdir, { recursive: true, force: true });
  await build({ ...NODE22_BUNDLE, entryPoints: [entry], outdir, external: [...LAMBDA_RUNTIME_PROVIDES] });
  const files = readdirSync(outdir).filter((file) => file.endsWith(".js"));
  const entryFile = `${basename(entry, ".ts")}.js`;
  return {
    entry: join(outdir, entryFile),
    chunks: files.filter((file) => file !== entryFile).map((file) => join(outdir, file)),
    totalBytes: files.reduce((sum, file) => sum + statSync(join(outdir, file)).size, 0),
  };
}
