/**
 * Builds each Lambda function as the stacks have SST build it (scripts/build/functions.ts) and prints
 * its size, its module-init time (a fresh Node process importing the entry, as a cold start does) and
 * what the first invocation adds (loading the engine chunk and the AWS SDK). Targets: under 1 MB,
 * init under 300 ms. Prints numbers; never fails on them.
 *
 *   npm run bench:bundles
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { buildFunctionBundle, FUNCTION_ENTRIES } from "../scripts/build/functions.ts";

const RUNS = 5;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

console.log(
  "function bundles (esbuild: esm, minify, splitting, node22; @aws-sdk/* from the nodejs22.x runtime)",
);
for (const [name, entry] of Object.entries(FUNCTION_ENTRIES)) {
  const outdir = fileURLToPath(new URL(`../.bench-out/bundles/${name}/`, import.meta.url));
  const bundle = await buildFunctionBundle(entry, outdir);
  const init: number[] = [];
  const firstInvocation: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const script = `
      const t0 = performance.now();
      await import(${JSON.stringify(bundle.entry)});
      const t1 = performance.now();
      for (const chunk of ${JSON.stringify(bundle.chunks)}) await import(chunk);
      for (const sdk of ["@aws-sdk/client-ec2", "@aws-sdk/client-iam", "@aws-sdk/client-cloudwatch-logs", "@aws-sdk/client-eventbridge", "@aws-sdk/client-sts"]) await import(sdk);
      console.log(JSON.stringify([t1 - t0, performance.now() - t1]));`;
    const probe = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
      cwd: outdir,
      encoding: "utf8",
      env: {
        ...process.env,
        AWS_LAMBDA_FUNCTION_NAME: name,
        AWS_REGION: "us-east-1",
        POWERTOOLS_LOG_LEVEL: "SILENT",
      },
    });
    if (probe.status !== 0) throw new Error(`${name} bundle failed to load: ${probe.stderr}`);
    const [initMs, firstMs] = JSON.parse(probe.stdout.trim()) as [number, number];
    init.push(initMs);
    firstInvocation.push(firstMs);
  }
  const kb = bundle.totalBytes / 1024;
  const initMs = median(init);
  console.log(
    `${name.padEnd(10)} ${kb.toFixed(0).padStart(5)} KB in ${1 + bundle.chunks.length} file(s) ${kb < 1024 ? "(< 1 MB: met)" : "(< 1 MB: MISSED)"}` +
      `   init ${initMs.toFixed(0)} ms ${initMs < 300 ? "(< 300 ms: met)" : "(< 300 ms: MISSED)"}` +
      `   first invocation adds ${median(firstInvocation).toFixed(0)} ms (engine chunk + AWS SDK)   [medians of ${RUNS}]`,
  );
}
