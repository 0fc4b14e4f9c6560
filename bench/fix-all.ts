/**
 * Fix-all benchmark: seeds moto with N VPCs over R regions, runs fix-all, and prints VPCs/s, API
 * calls per remediated VPC and peak RSS; then times the seed documents' manual AWS CLI procedure
 * (describe-flow-logs, create-log-group, put-retention-policy, create-flow-logs per VPC) on a sample
 * against the same moto and prints the per-VPC ratio. Prints numbers; never fails on them.
 *
 *   npm run bench                          1000 VPCs over 2 regions, sample of 20
 *   npm run bench -- --vpcs 200 --regions 1 --sample 5
 *   npm run bench -- --vpcs 100 --regions 1 --aws-rates   with AWS's own rate buckets: about K/5 s
 *   npm run bench -- --skip-s3             without the S3-destination case (bench/s3-case.ts)
 *   npm run bench -- --ledger              change records published to a ledger bus (PutEvents counted)
 */
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { CreateVpcCommand } from "@aws-sdk/client-ec2";
import { CreateEventBusCommand } from "@aws-sdk/client-eventbridge";
import { createClientPool, mapWithConcurrency, parsePolicy, runRemediation } from "@flowlog-guard/core";
import { MOTO_ACCOUNT_ID, startMotoServer, useEmulatorEnv } from "@flowlog-guard/emulator";
import { benchS3Case } from "./s3-case.ts";

const { values } = parseArgs({
  options: {
    vpcs: { type: "string", default: "1000" },
    regions: { type: "string", default: "2" },
    sample: { type: "string", default: "20" },
    "aws-rates": { type: "boolean", default: false },
    "skip-s3": { type: "boolean", default: false },
    ledger: { type: "boolean", default: false },
  },
});
const awsRates = values["aws-rates"];
const vpcCount = Number(values.vpcs);
const regionCount = Number(values.regions);
const sampleSize = Number(values.sample);
const ALL_REGIONS = [
  "eu-west-1",
  "us-east-1",
  "us-west-2",
  "ap-southeast-2",
  "eu-central-1",
  "ap-northeast-1",
];
const regions = ALL_REGIONS.slice(0, regionCount);
const seededCounts = new Map<string, number>();
const print = (label: string, value: string) => console.log(`${label.padEnd(44)} ${value}`);

const moto = await startMotoServer();
try {
  useEmulatorEnv(process.env, moto.endpoint, regions[0]!);
  const seedStarted = Date.now();
  const seeded = await seedEstate();
  console.log(`flowlog-guard fix-all benchmark (moto ${moto.endpoint}, Node ${process.version})`);
  print(
    "seeded",
    `${vpcCount} VPCs over ${regions.length} region(s) (+1 default VPC each) in ${((Date.now() - seedStarted) / 1000).toFixed(1)} s`,
  );

  // The manual procedure first, on VPCs fix-all has not touched yet.
  const sample = (seeded.get(regions[0]!) ?? []).slice(0, sampleSize);
  const manual = timeManualProcedure(sample, regions[0]!, moto.endpoint);

  // --aws-rates: the client-side limiter set to AWS's own buckets, as fix-all runs against real AWS.
  const pool = createClientPool(awsRates ? {} : { apiRate: 0 });
  const rssBefore = process.memoryUsage().rss;
  const started = performance.now();
  // --ledger: a bus with no rule (moto then answers PutEvents at once; rules would deliver each entry).
  const ledgerBus = values.ledger ? await createLedgerBus() : undefined;
  const report = await runRemediation({
    policy: parsePolicy(ledgerBus ? { ledgerBus } : {}),
    regions,
    mode: "fix",
    trigger: { kind: "cli", runId: randomUUID() },
    pool,
    concurrency: 16,
  });
  const seconds = (performance.now() - started) / 1000;
  const { summary } = report;
  const peakRssMb = process.resourceUsage().maxRSS / 1024;

  console.log(
    awsRates
      ? "\nfix-all with AWS's rate buckets (CreateFlowLogs 50 then 5/s, CreateLogGroup and PutRetentionPolicy 5/s)"
      : "\nfix-all (--api-rate 0: no client-side limiter, moto answers as fast as it can)",
  );
  print(
    "VPCs evaluated / remediated / failed",
    `${summary.vpcs} / ${summary.remediated} / ${summary.failed}`,
  );
  print("duration", `${seconds.toFixed(2)} s`);
  print("VPCs remediated per second", (summary.remediated / seconds).toFixed(1));
  if (awsRates) {
    const perRegion = Math.max(...regionSizes());
    print(
      "AWS buckets allow, slowest region (K/5 s)",
      `${((perRegion - 5) / 5).toFixed(1)} s for K=${perRegion} (after a burst of 5)`,
    );
  }
  print("API calls (all, scans included)", `${summary.apiCalls}`);
  const perVpc = summary.apiCalls / Math.max(1, summary.remediated);
  print(
    "API calls per remediated VPC (target <= 3.1)",
    `${perVpc.toFixed(3)} ${perVpc <= 3.1 ? "(met)" : "(MISSED)"}`,
  );
  print(
    "peak RSS of this process",
    `${peakRssMb.toFixed(0)} MB (before the run: ${(rssBefore / 1048576).toFixed(0)} MB)`,
  );
  if (ledgerBus) {
    const putEvents = pool.counter.count("EventBridge", "PutEvents");
    const records = summary.recordsPublished + summary.recordsUndelivered;
    print(
      "ledger: records / PutEvents calls",
      `${records} / ${putEvents} (${(records / Math.max(1, putEvents)).toFixed(2)} records a call)`,
    );
    print("ledger PutEvents per remediated VPC", (putEvents / Math.max(1, summary.remediated)).toFixed(3));
    print(
      "API calls per remediated VPC, without PutEvents",
      ((summary.apiCalls - putEvents) / Math.max(1, summary.remediated)).toFixed(3),
    );
  }
  console.log("API calls by operation:");
  for (const [operation, count] of Object.entries(pool.counter.byOperation()))
    console.log(`  ${operation.padEnd(30)} ${count}`);

  console.log("\nmanual procedure (the seed documents' AWS CLI commands, one VPC after another)");
  if (!manual) {
    console.log("  skipped: no `aws` command on PATH (apt-get install awscli, or pip install awscli)");
  } else {
    const fixAllPerVpc = seconds / Math.max(1, summary.remediated);
    print("VPCs / CLI calls", `${manual.vpcs} / ${manual.calls}`);
    print("time per VPC, AWS CLI", `${manual.perVpcSeconds.toFixed(3)} s`);
    print("time per VPC, fix-all", `${(fixAllPerVpc * 1000).toFixed(2)} ms`);
    const ratio = manual.perVpcSeconds / fixAllPerVpc;
    print(
      "fix-all is faster per VPC by (target >= 50x)",
      `${ratio.toFixed(0)}x ${ratio >= 50 ? "(met)" : "(MISSED)"}`,
    );
  }
  console.log(
    "\nOn real AWS the API's own rate limits set the floor, not this code: see docs/fix-all.md (about K/5 s for K VPCs in a region).",
  );
  if (!values["skip-s3"]) {
    // The S3 case on a fresh estate of the same size (moto reset, VPCs seeded again).
    await fetch(`${moto.endpoint}/moto-api/reset`, { method: "POST" });
    await benchS3Case(regions, await seedEstate(), print);
  }
} finally {
  await moto.stop();
}

/** Creates the VPCs, spread over the regions; returns their ids per region. */
async function seedEstate(): Promise<Map<string, string[]>> {
  const seedPool = createClientPool({ apiRate: 0 });
  const perRegion = regions.map((region, index) => ({
    region,
    count: Math.floor(vpcCount / regions.length) + (index < vpcCount % regions.length ? 1 : 0),
  }));
  const seeded = new Map<string, string[]>();
  for (const { region, count } of perRegion) {
    const ids = await mapWithConcurrency(Array.from({ length: count }), 8, async (_item, index) => {
      const cidr = `10.${Math.floor(index / 256) % 256}.${index % 256}.0/24`;
      const response = await seedPool.clientsFor(region).ec2.send(new CreateVpcCommand({ CidrBlock: cidr }));
      return response.Vpc!.VpcId!;
    });
    seeded.set(region, ids);
    seededCounts.set(region, ids.length);
  }
  return seeded;
}

function regionSizes(): number[] {
  return regions.map((region) => (seededCounts.get(region) ?? 0) + 1);
}

function timeManualProcedure(vpcIds: string[], region: string, endpoint: string) {
  const probe = spawnSync("aws", ["--version"], { encoding: "utf8" });
  if (probe.error || probe.status !== 0) return undefined;
  const role = `arn:aws:iam::${MOTO_ACCOUNT_ID}:role/flow-logs-role`;
  const aws = (...args: string[]) => {
    const result = spawnSync(
      "aws",
      [...args, "--region", region, "--endpoint-url", endpoint, "--output", "json"],
      {
        encoding: "utf8",
      },
    );
    if (result.status !== 0) throw new Error(`aws ${args.join(" ")} failed: ${result.stderr}`);
  };
  let calls = 0;
  const started = performance.now();
  for (const vpcId of vpcIds) {
    const group = `/manual/vpc-flow-logs/${vpcId}`;
    aws("ec2", "describe-flow-logs", "--filter", `Name=resource-id,Values=${vpcId}`);
    aws("logs", "create-log-group", "--log-group-name", group);
    aws("logs", "put-retention-policy", "--log-group-name", group, "--retention-in-days", "365");
    aws(
      "ec2",
      "create-flow-logs",
      "--resource-type",
      "VPC",
      "--resource-ids",
      vpcId,
      "--traffic-type",
      "REJECT",
      "--log-group-name",
      group,
      "--deliver-logs-permission-arn",
      role,
    );
    calls += 4;
  }
  const seconds = (performance.now() - started) / 1000;
  return { vpcs: vpcIds.length, calls, perVpcSeconds: seconds / Math.max(1, vpcIds.length) };
}

/** Created with clients of its own, so that the run's call counts stay the run's. */
async function createLedgerBus(): Promise<string> {
  const created = await createClientPool({ apiRate: 0 })
    .clientsFor(regions[0]!)
    .events.send(new CreateEventBusCommand({ Name: `bench-ledger-${randomUUID().slice(0, 8)}` }));
  return created.EventBusArn!;
}
