/**
 * The reliability scenarios at full size, with the figures docs/reliability.md quotes:
 *   1. fix-all over 300 VPCs with 20% throttling, 5% HTTP 500, 2% dropped connections and a 3 s
 *      IAM-propagation window;
 *   2. 30 new VPCs whose CreateVpc events are each delivered three times at once, same faults;
 *   3. fix-all over 500 VPCs in one region against AWS's token buckets (simulated in the proxy), with
 *      fix-all's own limiter: time taken vs the time the buckets allow, and calls refused;
 *   4. fix-all over 300 VPCs with 35% throttling, 10% HTTP 500, 4% dropped connections and 3% lost
 *      responses, in one run with a deadline, against the same run without faults.
 * Prints numbers; never fails on them.  npm run bench:reliability [-- --vpcs 300 --bucket-vpcs 500 --only 1,3] [--heavy-vpcs 300]
 * (moto spends about 140 ms per change record delivered to its bus: scenario 1's duration is half that.)
 */
import { parseArgs } from "node:util";
import { DescribeFlowLogsCommand } from "@aws-sdk/client-ec2";
import { createClientPool, handleCloudTrailEvent, parsePolicy } from "@flowlog-guard/core";
import { startMotoServer, useEmulatorEnv } from "@flowlog-guard/emulator";
import {
  buildChaosEstate,
  CHAOS_REGION,
  drainRecords,
  faultFigures,
  fixAllThroughProxy,
  LEDGER,
} from "../test/support/chaos.ts";
import { FIXTURE_VPC, fixture } from "../test/support/events.ts";
import { AWS_BUCKETS, iamPropagation, randomFaults, tokenBuckets } from "../test/support/fault-proxy.ts";

const { values } = parseArgs({
  options: {
    vpcs: { type: "string", default: "300" },
    "event-vpcs": { type: "string", default: "30" },
    "bucket-vpcs": { type: "string", default: "500" },
    "heavy-vpcs": { type: "string", default: "300" },
    only: { type: "string" },
  },
});
const runs = (scenario: string) => !values.only || values.only.split(",").includes(scenario);
const policy = parsePolicy({ ledgerBus: LEDGER });
const print = (label: string, value: unknown) =>
  console.log(`  ${label.padEnd(46)} ${typeof value === "string" ? value : JSON.stringify(value)}`);

async function withMoto<T>(run: (endpoint: string) => Promise<T>): Promise<T> {
  const moto = await startMotoServer();
  try {
    useEmulatorEnv(process.env, moto.endpoint, CHAOS_REGION);
    return await run(moto.endpoint);
  } finally {
    await moto.stop();
  }
}

async function flowLogCounts(endpoint: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const ec2 = createClientPool({ apiRate: 0, endpoint }).clientsFor(CHAOS_REGION).ec2;
  for (const flowLog of (await ec2.send(new DescribeFlowLogsCommand({ MaxResults: 1000 }))).FlowLogs ?? []) {
    counts.set(flowLog.ResourceId!, (counts.get(flowLog.ResourceId!) ?? 0) + 1);
  }
  return counts;
}

function recordFigures(records: Awaited<ReturnType<typeof drainRecords>>) {
  const flowLogs = records.filter((r) => r.action === "create-flow-log" && r.outcome === "applied");
  return {
    records: records.length,
    distinctRecordIds: new Set(records.map((r) => r.recordId)).size,
    flowLogRecords: flowLogs.length,
    distinctFlowLogsRecorded: new Set(flowLogs.map((r) => r.target.id)).size,
  };
}

console.log(`flowlog-guard reliability figures (Node ${process.version})`);

if (runs("1"))
  await withMoto(async (endpoint) => {
    const size = Number(values.vpcs);
    console.log(
      `\n1. fix-all over ${size} VPCs (every tenth exempt): 20% throttling, 5% HTTP 500, 2% dropped connections, 3 s IAM propagation`,
    );
    const estate = await buildChaosEstate(endpoint, size, [
      iamPropagation(3_000),
      randomFaults({ seed: 7, throttle: 0.2, serverError: 0.05, reset: 0.02 }),
    ]);
    const started = performance.now();
    const report = await fixAllThroughProxy(estate, "bench");
    const counts = await flowLogCounts(endpoint);
    print("proxy: requests / faults by kind", faultFigures(estate.proxy));
    print("SDK retries / our calls", `${report.summary.apiRetries} / ${report.summary.apiCalls}`);
    print(
      "remediated / failed / exempt",
      `${report.summary.remediated} / ${report.summary.failed} / ${report.summary.exempt}`,
    );
    print(
      "VPCs with exactly one flow log",
      `${[...counts.values()].filter((n) => n === 1).length} (more than one: ${[...counts.values()].filter((n) => n > 1).length})`,
    );
    print("exempt VPCs with a flow log", estate.exemptIds.filter((id) => counts.has(id)).length);
    print("change records on the bus", recordFigures(await drainRecords(estate.ledger)));
    print("duration", `${((performance.now() - started) / 1000).toFixed(1)} s`);
    await estate.proxy.close();
  });

if (runs("2"))
  await withMoto(async (endpoint) => {
    const size = Number(values["event-vpcs"]);
    console.log(`\n2. ${size} new VPCs, each CreateVpc event delivered three times at once, same faults`);
    const estate = await buildChaosEstate(endpoint, size, [
      iamPropagation(3_000),
      randomFaults({ seed: 11, throttle: 0.2, serverError: 0.05, reset: 0.02 }),
    ]);
    const deliveries = estate.vpcIds.flatMap((vpcId, index) =>
      [0, 1, 2].map(() => {
        const event = fixture("ec2-create-vpc-cloudformation", { [FIXTURE_VPC]: vpcId });
        (event.detail as { eventID: string }).eventID = `bench-${index}`;
        return event;
      }),
    );
    const started = performance.now();
    const results = await Promise.all(
      deliveries.map((event) =>
        handleCloudTrailEvent(event, {
          policy,
          pool: createClientPool({ apiRate: 0, endpoint: estate.proxy.endpoint }),
        }),
      ),
    );
    const counts = await flowLogCounts(endpoint);
    print(
      "deliveries handled / failed",
      `${results.length} / ${results.filter((r) => (r.report?.summary.failed ?? 0) > 0).length}`,
    );
    print("proxy: requests / faults by kind", faultFigures(estate.proxy));
    print(
      "VPCs with exactly one flow log",
      `${estate.vpcIds.filter((id) => counts.get(id) === 1).length} of ${estate.vpcIds.length}`,
    );
    print("change records on the bus", recordFigures(await drainRecords(estate.ledger)));
    print("duration", `${((performance.now() - started) / 1000).toFixed(1)} s`);
    await estate.proxy.close();
  });

if (runs("3"))
  await withMoto(async (endpoint) => {
    const size = Number(values["bucket-vpcs"]);
    console.log(
      `\n3. fix-all over ${size} VPCs in one region against AWS's token buckets, with fix-all's own limiter`,
    );
    const buckets = tokenBuckets();
    const estate = await buildChaosEstate(endpoint, size, [buckets.rule]);
    const started = performance.now();
    const report = await fixAllThroughProxy(estate, "buckets", { awsRateLimits: true, ledger: false });
    const seconds = (performance.now() - started) / 1000;
    // Each remediated VPC needs one CreateLogGroup, PutRetentionPolicy and CreateFlowLogs; the slowest
    // bucket after its burst sets the floor.
    const k = report.summary.remediated;
    const floor = Math.max(
      ...["logs:CreateLogGroup", "logs:PutRetentionPolicy", "ec2:CreateFlowLogs"].map((api) => {
        const bucket = AWS_BUCKETS[api]!;
        return Math.max(0, k - bucket.burst) / bucket.perSecond;
      }),
    );
    print("VPCs remediated / failed", `${k} / ${report.summary.failed}`);
    print("time the buckets allow (slowest bucket)", `${floor.toFixed(1)} s`);
    print(
      "time taken",
      `${seconds.toFixed(1)} s (${(((seconds - floor) / floor) * 100).toFixed(1)}% over; target within 15%)`,
    );
    print("calls the buckets refused (wasted)", Object.fromEntries(buckets.refused));
    print("SDK retries", report.summary.apiRetries);
    await estate.proxy.close();
  });

if (runs("4"))
  await withMoto(async (endpoint) => {
    const size = Number(values["heavy-vpcs"]);
    console.log(
      `\n4. fix-all over ${size} VPCs under heavy faults: 35% throttling, 10% HTTP 500, 4% dropped connections, 3% lost responses (deadline 15 min), against the same run without faults`,
    );
    const clean = await buildChaosEstate(endpoint, size, []);
    const started = performance.now();
    const cleanReport = await fixAllThroughProxy(clean, "bench-clean", { deadlineMs: 15 * 60_000 });
    const cleanSeconds = (performance.now() - started) / 1000;
    await clean.proxy.close();
    print(
      "without faults: remediated / duration",
      `${cleanReport.summary.remediated} / ${cleanSeconds.toFixed(1)} s`,
    );
  });

if (runs("4"))
  await withMoto(async (endpoint) => {
    const size = Number(values["heavy-vpcs"]);
    const estate = await buildChaosEstate(endpoint, size, [
      iamPropagation(3_000),
      randomFaults({ seed: 11, throttle: 0.35, serverError: 0.1, reset: 0.04, lostResponse: 0.03 }),
    ]);
    const started = performance.now();
    const report = await fixAllThroughProxy(estate, "bench-heavy", { deadlineMs: 15 * 60_000 });
    const seconds = (performance.now() - started) / 1000;
    const counts = await flowLogCounts(endpoint);
    const applied = report.vpcs.flatMap((vpc) => vpc.changes).filter((r) => r.outcome === "applied");
    const onLedger = new Set((await drainRecords(estate.ledger)).map((r) => r.recordId));
    const remediated = report.vpcs.filter((vpc) => vpc.status === "remediated");
    const fullyRecorded = remediated.filter((vpc) =>
      ["create-flow-log", "create-log-group"].every((action) =>
        vpc.changes.some((r) => r.action === action && r.outcome === "applied" && onLedger.has(r.recordId)),
      ),
    );
    print("proxy: requests / faults by kind", faultFigures(estate.proxy));
    print(
      "passes / retried work / SDK retries",
      `${report.summary.passes} / ${report.summary.retriedWork} / ${report.summary.apiRetries}`,
    );
    print(
      "remediated / failed / exempt",
      `${report.summary.remediated} / ${report.summary.failed} / ${report.summary.exempt}`,
    );
    print(
      "VPCs with exactly one flow log",
      `${[...counts.values()].filter((n) => n === 1).length} (more than one: ${[...counts.values()].filter((n) => n > 1).length})`,
    );
    print(
      "remediated VPCs with flow-log and log-group changes in report and ledger",
      `${fullyRecorded.length} of ${remediated.length}`,
    );
    print(
      "applied records in the report / on the ledger",
      `${applied.length} / ${applied.filter((r) => onLedger.has(r.recordId)).length}`,
    );
    print("exit code the CLI would give", report.summary.failed === 0 && report.errors.length === 0 ? 0 : 3);
    print("duration", `${seconds.toFixed(1)} s`);
    await estate.proxy.close();
  });
