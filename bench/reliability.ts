/**
 * The reliability scenarios at full size, with the figures docs/reliability.md quotes:
 *   1. fix-all over 300 VPCs in 2 regions with 20% throttling, 5% HTTP 500, 2% dropped connections and
 *      a 3 s IAM-propagation window (fix-all's own limiter as the CLI runs it, unless `--limiter off`);
 *   2. 30 new VPCs whose CreateVpc events are each delivered three times at once, same faults;
 *   3. fix-all over 500 VPCs in one region against AWS's token buckets (simulated in the proxy), with
 *      fix-all's own limiter: time taken vs the time the buckets allow, and calls refused;
 *   4. fix-all over 300 VPCs in 2 regions with 35% throttling, 10% HTTP 500, 4% dropped connections and
 *      3% lost responses, in one run with the CLI's defaults (limiter, 8 attempts, 15 min deadline),
 *      against the same run without faults. Checks what #17 promises and exits 1 if any check fails:
 *      the run's exit code, exactly one flow log per VPC, no duplicates, every remediated VPC's
 *      flow-log and log-group changes in the report and on the ledger.
 * Prints numbers.  npm run bench:reliability [-- --only 1,4 --vpcs 300 --heavy-vpcs 300 --regions 2
 *   --limiter aws|off --ledger on|off --bucket-vpcs 500 --event-vpcs 30]
 * (moto spends about 140 ms per change record delivered to its bus: `--ledger off` leaves it out of
 * scenario 1, where the engine's time is what is compared.)
 */
import { parseArgs } from "node:util";
import { createClientPool, handleCloudTrailEvent, parsePolicy, type RunReport } from "@flowlog-guard/core";
import { startMotoServer, useEmulatorEnv } from "@flowlog-guard/emulator";
import { exitCodeOf } from "../packages/cli/src/render.ts";
import {
  buildChaosEstate,
  CHAOS_REGION,
  CHAOS_SECOND_REGION,
  type ChaosEstate,
  drainLateRecords,
  drainRecords,
  faultFigures,
  fixAllThroughProxy,
  flowLogsByVpc,
  LEDGER,
  vpcsThatMustBeLogged,
} from "../test/support/chaos.ts";
import { FIXTURE_VPC, fixture } from "../test/support/events.ts";
import {
  AWS_BUCKETS,
  iamPropagation,
  mostInFlight,
  randomFaults,
  tokenBuckets,
} from "../test/support/fault-proxy.ts";

const { values } = parseArgs({
  options: {
    vpcs: { type: "string", default: "300" },
    "event-vpcs": { type: "string", default: "30" },
    "bucket-vpcs": { type: "string", default: "500" },
    "heavy-vpcs": { type: "string", default: "300" },
    regions: { type: "string", default: "2" },
    limiter: { type: "string", default: "aws" },
    ledger: { type: "string", default: "on" },
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

const REGIONS = [CHAOS_REGION, CHAOS_SECOND_REGION].slice(0, Number(values.regions));

/** VPCs with exactly one flow log / more than one, among those that must be logged. */
async function flowLogFigures(estate: ChaosEstate) {
  const [counts, mustBeLogged] = await Promise.all([flowLogsByVpc(estate), vpcsThatMustBeLogged(estate)]);
  return {
    mustBeLogged,
    counts,
    exactlyOne: mustBeLogged.filter((id) => counts.get(id) === 1).length,
    moreThanOne: [...counts.values()].filter((n) => n > 1).length,
    exemptLogged: estate.exemptIds.filter((id) => counts.has(id)).length,
  };
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

/** The PutEvents requests that reached the proxy: how many, their faults, how many moto held at once. */
function putEventsFigures(estate: ChaosEstate) {
  const log = estate.proxy.log.filter((entry) => entry.call.operation === "PutEvents");
  const slowest = Math.max(0, ...log.map((entry) => entry.answeredMs ?? 0));
  const byFault: Record<string, number> = {};
  for (const entry of log) byFault[entry.fault] = (byFault[entry.fault] ?? 0) + 1;
  return `${log.length} requests ${JSON.stringify(byFault)}, at most ${mostInFlight(log, "PutEvents")} at the bus at once, slowest answer ${(slowest / 1000).toFixed(1)} s`;
}

/**
 * Scenario 1 with the ledger on: every applied change must be on the bus when the run has returned
 * (checks), and what became of any that is not: reported undelivered, arrived late (a PutEvents the
 * client gave up on, still at the service), or nowhere (lost).
 */
async function ledgerChecks(estate: ChaosEstate, report: RunReport, flowLogs: number) {
  const atDrain = await drainRecords(estate.ledger);
  const late = await drainLateRecords(estate.ledger);
  const idsAtDrain = new Set(atDrain.map((r) => r.recordId));
  const idsLate = new Set(late.map((r) => r.recordId));
  const undelivered = new Set((report.undeliveredRecords ?? []).map((r) => r.recordId));
  const applied = [...report.vpcs.flatMap((vpc) => vpc.changes), ...report.sharedChanges].filter(
    (r) => r.outcome === "applied",
  );
  const missing = applied.filter((r) => !idsAtDrain.has(r.recordId));
  const flowLogsRecorded = new Set(
    atDrain.filter((r) => r.action === "create-flow-log" && r.outcome === "applied").map((r) => r.target.id),
  ).size;
  print("change records on the bus at drain / distinct", `${atDrain.length} / ${idsAtDrain.size}`);
  print(
    "arrived after the drain / distinct / new ids",
    `${late.length} / ${idsLate.size} / ${[...idsLate].filter((id) => !idsAtDrain.has(id)).length}`,
  );
  print("PutEvents", putEventsFigures(estate));
  print(
    "missing at drain: reported undelivered / late / lost",
    `${missing.filter((r) => undelivered.has(r.recordId)).length} / ${missing.filter((r) => idsLate.has(r.recordId)).length} / ${missing.filter((r) => !undelivered.has(r.recordId) && !idsLate.has(r.recordId)).length}`,
  );
  for (const error of report.errors.filter((e) => e.scope === "ledger"))
    print("ledger error", error.message.slice(0, 1_000));
  const checks = [
    [
      "applied changes in the report / on the bus",
      `${applied.length} / ${applied.length - missing.length}`,
      missing.length === 0,
    ],
    ["flow logs recorded on the bus", `${flowLogsRecorded} of ${flowLogs}`, flowLogsRecorded === flowLogs],
    [
      "records undelivered (report)",
      report.summary.recordsUndelivered,
      report.summary.recordsUndelivered === 0,
    ],
  ] as const;
  for (const [label, figure, ok] of checks) print(label, `${ok ? "ok  " : "FAIL"} ${String(figure)}`);
  return checks.every(([, , ok]) => ok);
}

console.log(`flowlog-guard reliability figures (Node ${process.version})`);

if (runs("1"))
  await withMoto(async (endpoint) => {
    const size = Number(values.vpcs);
    const limiter = values.limiter === "off" ? "off" : "aws";
    console.log(
      `\n1. fix-all over ${size} VPCs in ${REGIONS.join(" and ")} (every tenth exempt): 20% throttling, 5% HTTP 500, 2% dropped connections, 3 s IAM propagation; limiter ${limiter === "aws" ? "at AWS's buckets (the CLI's default)" : "off"}, ledger ${values.ledger}`,
    );
    const estate = await buildChaosEstate(
      endpoint,
      size,
      [iamPropagation(3_000), randomFaults({ seed: 7, throttle: 0.2, serverError: 0.05, reset: 0.02 })],
      REGIONS,
    );
    const started = performance.now();
    const report = await fixAllThroughProxy(estate, "bench", {
      awsRateLimits: limiter === "aws",
      ledger: values.ledger !== "off",
    });
    const seconds = (performance.now() - started) / 1000;
    const logged = await flowLogFigures(estate);
    print("proxy: requests / faults by kind", faultFigures(estate.proxy));
    print("SDK retries / our calls", `${report.summary.apiRetries} / ${report.summary.apiCalls}`);
    print(
      "remediated / failed / exempt",
      `${report.summary.remediated} / ${report.summary.failed} / ${report.summary.exempt}`,
    );
    print(
      "VPCs with exactly one flow log",
      `${logged.exactlyOne} of ${logged.mustBeLogged.length} (more than one: ${logged.moreThanOne})`,
    );
    print("exempt VPCs with a flow log", logged.exemptLogged);
    print("duration", `${seconds.toFixed(1)} s`);
    if (
      values.ledger !== "off" &&
      !(await ledgerChecks(estate, report, logged.exactlyOne + logged.moreThanOne))
    ) {
      console.log("  FAILED: every applied change must be on the ledger bus (issue #17)");
      process.exitCode = 1;
    }
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
    const counts = await flowLogsByVpc(estate);
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

const HEAVY_FAULTS = { seed: 11, throttle: 0.35, serverError: 0.1, reset: 0.04, lostResponse: 0.03 };

/** One fix-all as the CLI runs it by default (AWS's buckets, 8 attempts, 15 minutes), timed. */
async function timedFixAll(estate: ChaosEstate, runId: string) {
  const started = performance.now();
  const report = await fixAllThroughProxy(estate, runId, { awsRateLimits: true, deadlineMs: 15 * 60_000 });
  return { report, seconds: (performance.now() - started) / 1000 };
}

/** What #17 promises of the heavy run, each check with its figure. */
async function heavyChecks(estate: ChaosEstate, report: RunReport) {
  const logged = await flowLogFigures(estate);
  const records = await drainRecords(estate.ledger);
  const onLedger = new Set(records.map((r) => r.recordId));
  const remediated = report.vpcs.filter((vpc) => vpc.status === "remediated");
  const recorded = (action: string) =>
    remediated.filter((vpc) =>
      vpc.changes.some((r) => r.action === action && r.outcome === "applied" && onLedger.has(r.recordId)),
    ).length;
  const applied = report.vpcs.flatMap((vpc) => vpc.changes).filter((r) => r.outcome === "applied");
  // A flow log recorded as two changes (two record ids) is a double record; the same record id twice
  // on the bus is one record delivered twice (a lost PutEvents response; consumers dedupe by recordId).
  const recordIdsOf = new Map<string, Set<string>>();
  for (const r of records.filter((r) => r.action === "create-flow-log" && r.outcome === "applied")) {
    recordIdsOf.set(r.target.id, (recordIdsOf.get(r.target.id) ?? new Set()).add(r.recordId));
  }
  const recordedTwice = [...recordIdsOf.values()].filter((ids) => ids.size > 1).length;
  const n = logged.mustBeLogged.length;
  const checks = [
    ["exit code (the CLI's)", exitCodeOf(report), exitCodeOf(report) === 0],
    ["VPCs remediated", `${report.summary.remediated} of ${n}`, report.summary.remediated === n],
    ["VPCs with exactly one flow log", `${logged.exactlyOne} of ${n}`, logged.exactlyOne === n],
    ["VPCs with more than one flow log (duplicates)", logged.moreThanOne, logged.moreThanOne === 0],
    ["exempt VPCs with a flow log", logged.exemptLogged, logged.exemptLogged === 0],
    ["flow logs recorded as two changes (two record ids)", recordedTwice, recordedTwice === 0],
    [
      "remediated VPCs: flow-log change in report and ledger",
      `${recorded("create-flow-log")} of ${remediated.length}`,
      recorded("create-flow-log") === remediated.length,
    ],
    [
      "remediated VPCs: log-group change in report and ledger",
      `${recorded("create-log-group")} of ${remediated.length}`,
      recorded("create-log-group") === remediated.length,
    ],
    [
      "applied changes in the report / also on the ledger",
      `${applied.length} / ${applied.filter((r) => onLedger.has(r.recordId)).length}`,
      applied.every((r) => onLedger.has(r.recordId)),
    ],
  ] as const;
  return { checks, redelivered: records.length - new Set(records.map((r) => r.recordId)).size };
}

if (runs("4")) {
  const size = Number(values["heavy-vpcs"]);
  console.log(
    `\n4. fix-all over ${size} VPCs in ${REGIONS.join(" and ")} under heavy faults: 35% throttling, 10% HTTP 500, 4% dropped connections, 3% lost responses; the CLI's defaults (limiter, 8 attempts, deadline 15 min), against the same run without faults`,
  );
  const clean = await withMoto(async (endpoint) => {
    const estate = await buildChaosEstate(endpoint, size, [], REGIONS);
    const run = await timedFixAll(estate, "bench-clean");
    await estate.proxy.close();
    return run;
  });
  print(
    "without faults: remediated / duration",
    `${clean.report.summary.remediated} / ${clean.seconds.toFixed(1)} s`,
  );
  await withMoto(async (endpoint) => {
    const faults = [iamPropagation(3_000), randomFaults(HEAVY_FAULTS)];
    const estate = await buildChaosEstate(endpoint, size, faults, REGIONS);
    const { report, seconds } = await timedFixAll(estate, "bench-heavy");
    print("proxy: requests / faults by kind", faultFigures(estate.proxy));
    const { summary } = report;
    print(
      "passes / retried work / SDK retries",
      `${summary.passes} / ${summary.retriedWork} / ${summary.apiRetries}`,
    );
    print("remediated / failed / exempt", `${summary.remediated} / ${summary.failed} / ${summary.exempt}`);
    const { checks, redelivered } = await heavyChecks(estate, report);
    print("records delivered twice (same record id: lost PutEvents answers)", redelivered);
    for (const [label, figure, ok] of checks) print(label, `${ok ? "ok  " : "FAIL"} ${String(figure)}`);

    print("with faults: duration", `${seconds.toFixed(1)} s`);
    print("ratio with faults / without", `${(seconds / clean.seconds).toFixed(2)}`);
    await estate.proxy.close();
    if (checks.some(([, , ok]) => !ok)) {
      console.log("  FAILED: one run under heavy faults must finish the job (issue #17)");
      process.exitCode = 1;
    }
  });
}
