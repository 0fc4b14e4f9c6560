/**
 * Makes sure `.sst/platform` (SST's component types, written by `sst install`) exists, so that
 * sst.config.ts and stacks/ can be type-checked. Runs offline: Pulumi and Bun downloads are skipped
 * and providers come from the npm registry.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

const marker = new URL("../.sst/platform/config.d.ts", import.meta.url);
if (existsSync(marker)) process.exit(0);
console.log("sst install --stage ci (once, offline: writes .sst/platform for type-checking)");
const result = spawnSync("npx", ["sst", "install", "--stage", "ci"], {
  stdio: "inherit",
  env: { ...process.env, SST_SKIP_DEPENDENCY_CHECK: "1", SST_NO_BUN: "1", SST_TELEMETRY_DISABLED: "1" },
});
if (result.status !== 0 || !existsSync(marker)) {
  console.error("sst install failed: stacks cannot be type-checked. See the output above.");
  process.exit(1);
}
