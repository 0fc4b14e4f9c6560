/**
 * Organization benchmark: a moto organization of N member accounts, each with the member role made by
 * CloudFormation from `member-template`, V VPCs in each of 2 regions; then fix-all --accounts all.
 * Prints API calls per remediated VPC, the per-account overhead (assume role, identity), and, against
 * simulated per-account AWS token buckets, the time taken versus the floor the buckets allow.
 * Prints numbers; never fails on them.
 *
 * The buckets run on a slower clock (`--bucket-time-scale`, default 0.25: AWS's rates x 0.25, in the
 * simulated AWS and in the client's limiter alike): at AWS's own rates two accounts at once need
 * 60 writes/s, more than moto serves on a small machine, and the run would measure moto.
 *
 *   npm run bench:org                                       100 accounts x 2 regions x 5 VPCs; buckets: 10 x 2 x 30
 *   npm run bench:org -- --accounts 20 --bucket-accounts 5 --bucket-vpcs 20
 *   npm run bench:org -- --only calls --accounts 10          one part only: calls | buckets
 */
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { CreateVpcCommand } from "@aws-sdk/client-ec2";
import {
  type ClientPool,
  createAccountPools,
  createClientPool,
  createOrganizationsClient,
  defaultRateLimit,
  mapWithConcurrency,
  type OrganizationReport,
  parsePolicy,
  type RateLimit,
  resolveAccounts,
  runOrganization,
} from "@flowlog-guard/core";
import { startMotoServer, useEmulatorEnv } from "@flowlog-guard/emulator";
import { AWS_BUCKETS, type FaultProxy, startFaultProxy, tokenBuckets } from "../test/support/fault-proxy.ts";
import { adminPool, createOrganization, deployMemberTemplate } from "../test/support/organization.ts";

const { values } = parseArgs({
  options: {
    accounts: { type: "string", default: "100" },
    vpcs: { type: "string", default: "5" },
    "account-concurrency": { type: "string", default: "16" },
    "bucket-accounts": { type: "string", default: "10" },
    "bucket-vpcs": { type: "string", default: "30" },
    "bucket-concurrency": { type: "string", default: "2" },
    /** AWS's bucket rates (simulated and client-side) times this: below 1, a slower clock for both. */
    "bucket-time-scale": { type: "string", default: "0.25" },
    /** `calls` or `buckets`: one part only (iterate faster). */
    only: { type: "string" },
  },
});
const REGIONS = ["us-east-1", "eu-west-1"];
type RateLimits = (service: string, operation: string) => RateLimit | undefined;
const concurrency = Number(values["account-concurrency"]);
const print = (label: string, value: unknown) => console.log(`${label.padEnd(52)} ${value}`);

/** An organization of `accounts` members with the member role (from the template) and `vpcs` VPCs per region. */
async function buildOrganization(accounts: number, vpcs: number) {
  const started = performance.now();
  const org = await createOrganization(accounts);
  await mapWithConcurrency(org.members, 4, (account) =>
    deployMemberTemplate(account, ["us-east-1"], {
      CentralAccountId: org.managementAccountId,
      OrganizationId: org.organizationId,
    }),
  );
  await mapWithConcurrency(org.members, 4, async (account) => {
    const admin = await adminPool(account);
    for (const region of REGIONS)
      await mapWithConcurrency(Array.from({ length: vpcs }), 5, (_item, index) =>
        admin.clientsFor(region).ec2.send(new CreateVpcCommand({ CidrBlock: `10.${index}.0.0/16` })),
      );
  });
  print(
    "organization built",
    `${accounts} members x ${REGIONS.length} regions x ${vpcs} VPCs (+1 default VPC each) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  return org;
}

async function fixAllAccounts(
  central: ClientPool,
  options: { endpoint?: string; awsRates: boolean; accountConcurrency: number; rateLimits?: RateLimits },
) {
  const resolved = await resolveAccounts(createOrganizationsClient("us-east-1"), { accounts: "all" });
  const runId = randomUUID();
  const pools = createAccountPools({
    partition: "aws",
    homeRegion: "us-east-1",
    sessionName: runId,
    ...(options.awsRates ? {} : { apiRate: 0 }),
    ...(options.rateLimits ? { rateLimits: options.rateLimits } : {}),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
  });
  const started = performance.now();
  const report = await runOrganization({
    policy: parsePolicy({}),
    regions: REGIONS,
    homeRegion: "us-east-1",
    mode: "fix",
    trigger: { kind: "cli", runId },
    centralAccountId: resolved.managementAccountId,
    partition: "aws",
    targets: resolved.targets,
    skipped: resolved.skipped,
    pools,
    central,
    accountConcurrency: options.accountConcurrency,
    concurrency: 16,
  });
  return { report, seconds: (performance.now() - started) / 1000, pools };
}

const WRITES = ["Logs:CreateLogGroup", "Logs:PutRetentionPolicy", "EC2:CreateFlowLogs"];

/**
 * The accounting. Per account (the target's allowance of 2): AssumeRole and GetCallerIdentity.
 * Everything else counts against the remediated VPCs: the writes each VPC needs, the reads each
 * (account, region) needs whatever its VPC count, and the delivery role's calls per account.
 */
function printCalls(report: OrganizationReport, byOperation: Record<string, number>, regions: number) {
  const { summary } = report;
  const count = (operations: string[]) =>
    operations.reduce((total, operation) => total + (byOperation[operation] ?? 0), 0);
  const perAccount = count(["STS:AssumeRole", "STS:GetCallerIdentity"]);
  const memberAccounts = summary.accounts - 1; // the central (management) account assumes nothing
  const accountRegions = summary.accounts * regions;
  const writes = count(WRITES);
  const roleCalls = count(Object.keys(byOperation).filter((operation) => operation.startsWith("IAM:")));
  const reads = summary.apiCalls - perAccount - writes - roleCalls;
  const vpcs = Math.max(1, summary.remediated);
  print(
    "accounts / failed / VPCs remediated / failed",
    `${summary.accounts} / ${summary.accountsFailed} / ${summary.remediated} / ${summary.failed}`,
  );
  print("API calls, all (scans, roles, records included)", summary.apiCalls);
  print(
    "per-account overhead (AssumeRole + GetCallerIdentity)",
    `${(perAccount / memberAccounts).toFixed(2)} per member account (target <= 2)`,
  );
  print("  writes per remediated VPC", (writes / vpcs).toFixed(3));
  print(
    "  reads per (account, region)",
    `${(reads / accountRegions).toFixed(2)} (${reads} over ${accountRegions}) = ${(reads / vpcs).toFixed(3)} per VPC`,
  );
  print(
    "  delivery-role calls (IAM) per account",
    `${(roleCalls / summary.accounts).toFixed(2)} (${roleCalls}) = ${(roleCalls / vpcs).toFixed(3)} per VPC`,
  );
  const perVpc = (summary.apiCalls - perAccount) / vpcs;
  print(
    "API calls per remediated VPC, overhead apart",
    `${perVpc.toFixed(3)} (target <= 3.1) ${perVpc <= 3.1 ? "(met)" : "(MISSED)"}`,
  );
  const fixedPerAccountRegion = (reads + roleCalls) / accountRegions;
  print(
    "  VPCs per (account, region) that 3.1 needs",
    `>= ${Math.ceil(fixedPerAccountRegion / Math.max(0.001, 3.1 - writes / vpcs))} at these fixed costs (this run: ${(vpcs / accountRegions).toFixed(1)})`,
  );
  console.log("API calls by operation:");
  for (const [operation, count] of Object.entries(byOperation))
    console.log(`  ${operation.padEnd(34)} ${count}`);
}

/** Part 1: fix-all over the whole organization, moto as fast as it can; API calls by operation. */
async function measureCalls(): Promise<void> {
  await buildOrganization(Number(values.accounts), Number(values.vpcs));
  const central = createClientPool({ apiRate: 0 });
  const { report, seconds, pools } = await fixAllAccounts(central, {
    awsRates: false,
    accountConcurrency: concurrency,
  });
  console.log(
    `\n1. fix-all --accounts all --account-concurrency ${concurrency} (no limiter: moto as fast as it can)`,
  );
  print(
    "duration",
    `${seconds.toFixed(1)} s (${(seconds / report.summary.accounts).toFixed(3)} s per account)`,
  );
  const byOperation = { ...pools.counter.byOperation() };
  for (const [operation, count] of Object.entries(central.counter.byOperation()))
    byOperation[operation] = (byOperation[operation] ?? 0) + count;
  printCalls(report, Object.fromEntries(Object.entries(byOperation).sort()), REGIONS.length);
}

/** Part 2: against per-account AWS token buckets (simulated in a proxy), time versus the floor. */
async function measureBuckets(motoEndpoint: string): Promise<void> {
  const bucketAccounts = Number(values["bucket-accounts"]);
  const bucketVpcs = Number(values["bucket-vpcs"]);
  console.log(
    `\n2. per-account AWS token buckets (simulated in a proxy, keyed by account credentials and region)`,
  );
  await buildOrganization(bucketAccounts, bucketVpcs);
  const scale = Number(values["bucket-time-scale"]);
  const scaled = (limit: RateLimit): RateLimit => ({
    burst: limit.burst,
    perSecond: limit.perSecond * scale,
  });
  const rateLimits: RateLimits = (service, operation) => scaled(defaultRateLimit(service, operation));
  const simulated = Object.fromEntries(
    Object.entries(AWS_BUCKETS).map(([api, limit]) => [api, scaled(limit)]),
  );
  const buckets = tokenBuckets(simulated, { perAccount: true });
  const proxy = await startFaultProxy(motoEndpoint, [buckets.rule]);
  try {
    const bucketCentral = createClientPool({ endpoint: proxy.endpoint, rateLimits });
    const bucketConcurrency = Number(values["bucket-concurrency"]);
    const run = await fixAllAccounts(bucketCentral, {
      endpoint: proxy.endpoint,
      awsRates: true,
      accountConcurrency: bucketConcurrency,
      rateLimits,
    });
    const floor = bucketFloor(simulated, bucketAccounts, bucketVpcs, bucketConcurrency);
    print(
      "accounts / VPCs remediated / failed",
      `${run.report.summary.accounts} / ${run.report.summary.remediated} / ${run.report.summary.failed}`,
    );
    print("bucket floor (slowest bucket per account, per wave)", `${floor.toFixed(1)} s`);
    print(
      "time taken",
      `${run.seconds.toFixed(1)} s = ${(run.seconds / floor).toFixed(2)}x the floor (target <= 1.2x)`,
    );
    printEmulatorFloor(
      proxy.log,
      floor,
      { accounts: bucketAccounts, concurrency: bucketConcurrency },
      run.seconds,
    );
    print("calls the buckets refused (wasted)", JSON.stringify(Object.fromEntries(buckets.refused)));
    print("SDK retries", run.report.summary.apiRetries);
    print(
      "calls per second the emulator served",
      `${(run.report.summary.apiCalls / run.seconds).toFixed(1)} (AWS's rates x ${scale})`,
    );
  } finally {
    await proxy.close();
  }
}

/** Serial round trips any correct run makes per account outside its buckets' paced time (see docs). */
const SERIAL_ROUND_TRIPS = 5;
const WRITE_OPERATIONS = new Set(["CreateLogGroup", "PutRetentionPolicy", "CreateFlowLogs"]);

/**
 * The emulator's share: its median answer time (at the proxy), and how long each member account
 * spent before its first write and after its last one. The floor with the emulator's latency adds
 * the round trips no correct run can avoid per account (assume the role; list the VPCs; read their
 * flow logs and log groups; and after the last log group: its retention and flow log, then the
 * read-back) at that median, to each account's bucket time.
 */
function printEmulatorFloor(
  log: FaultProxy["log"],
  floor: number,
  shape: { accounts: number; concurrency: number },
  seconds: number,
) {
  const answered = log.flatMap((entry) => (entry.answeredMs === undefined ? [] : [entry.answeredMs]));
  answered.sort((a, b) => a - b);
  const median = (answered[Math.floor(answered.length / 2)] ?? 0) / 1000;
  const byKey = new Map<string, { first: number; last: number; firstWrite?: number; lastWrite?: number }>();
  for (const { call, at } of log) {
    if (call.operation === "AssumeRole") continue; // signed by the central account
    const span = byKey.get(call.accessKeyId) ?? { first: at, last: at };
    span.last = at;
    if (WRITE_OPERATIONS.has(call.operation)) {
      span.firstWrite ??= at;
      span.lastWrite = at;
    }
    byKey.set(call.accessKeyId, span);
  }
  const spans = [...byKey.values()].filter((span) => span.firstWrite !== undefined);
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length) / 1000;
  print("emulator: median answer time", `${(median * 1000).toFixed(0)} ms`);
  print(
    "per account: before first write / writes / after last",
    `${mean(spans.map((s) => s.firstWrite! - s.first)).toFixed(1)} s / ${mean(spans.map((s) => s.lastWrite! - s.firstWrite!)).toFixed(1)} s / ${mean(spans.map((s) => s.last - s.lastWrite!)).toFixed(1)} s (means)`,
  );
  const waves = Math.ceil(shape.accounts / shape.concurrency);
  const withLatency = floor + waves * SERIAL_ROUND_TRIPS * median;
  print(
    `floor with the emulator's latency (+${SERIAL_ROUND_TRIPS} round trips per account)`,
    `${withLatency.toFixed(1)} s: time taken = ${(seconds / withLatency).toFixed(2)}x`,
  );
}

/**
 * Each VPC needs one CreateLogGroup, PutRetentionPolicy and CreateFlowLogs in its account and region;
 * buckets are per account and region, so the slowest (account, region) sets the floor per wave of
 * `concurrency` accounts.
 */
function bucketFloor(
  buckets: typeof AWS_BUCKETS,
  accounts: number,
  vpcs: number,
  concurrency: number,
): number {
  const perAccountRegion = vpcs + 1;
  const accountFloor = Math.max(
    ...["logs:CreateLogGroup", "logs:PutRetentionPolicy", "ec2:CreateFlowLogs"].map((api) => {
      const bucket = buckets[api]!;
      return Math.max(0, perAccountRegion - bucket.burst) / bucket.perSecond;
    }),
  );
  // The central account has only its default VPCs (within every burst): it adds no floor.
  return Math.ceil(accounts / concurrency) * accountFloor;
}

const moto = await startMotoServer();
try {
  useEmulatorEnv(process.env, moto.endpoint, "us-east-1");
  console.log(`flowlog-guard organization benchmark (moto ${moto.endpoint}, Node ${process.version})`);
  if (values.only !== "buckets") await measureCalls();
  if (values.only === undefined) await fetch(`${moto.endpoint}/moto-api/reset`, { method: "POST" });
  if (values.only !== "calls") await measureBuckets(moto.endpoint);
} finally {
  await moto.stop();
}
