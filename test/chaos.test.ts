import { type ChangeRecord, createClientPool, handleCloudTrailEvent, parsePolicy } from "@flowlog-guard/core";
import { describe, expect, it } from "vitest";
import {
  buildChaosEstate,
  CHAOS_REGION,
  drainRecords,
  faultFigures,
  fixAllThroughProxy,
  flowLogsByVpc,
  LEDGER,
  vpcsThatMustBeLogged,
} from "./support/chaos.ts";
import { runCli } from "./support/cli.ts";
import { FIXTURE_VPC, fixture } from "./support/events.ts";
import { iamPropagation, randomFaults, throttling, tokenBuckets } from "./support/fault-proxy.ts";
import { motoEndpoint } from "./support/moto.ts";

/** CI runs a smaller estate; `CHAOS_VPCS=300 npm run test:integration -- test/chaos.test.ts` runs the full size. */
const VPCS = Number(process.env.CHAOS_VPCS ?? 60);
const policy = parsePolicy({ ledgerBus: LEDGER });

/** Every applied change once: one create-flow-log per VPC, no record id twice, each flow log recorded once. */
function expectEachChangeRecordedOnce(records: ChangeRecord[], vpcIds: string[]) {
  expect(new Set(records.map((r) => r.recordId)).size).toBe(records.length);
  const flowLogRecords = records.filter((r) => r.action === "create-flow-log" && r.outcome === "applied");
  expect(flowLogRecords.map((r) => r.vpcId).sort()).toEqual([...vpcIds].sort());
  expect(new Set(flowLogRecords.map((r) => r.target.id)).size).toBe(flowLogRecords.length);
  expect(records.filter((r) => r.action === "create-role" && r.outcome === "applied")).toHaveLength(1);
}

describe(`chaos: fix-all over ${VPCS} VPCs with 20% throttling, 5% HTTP 500, 2% dropped connections`, () => {
  it("ends with every non-exempt VPC compliant, one flow log each, every change recorded once", async () => {
    const estate = await buildChaosEstate(motoEndpoint(), VPCS, [
      iamPropagation(1_500),
      randomFaults({ seed: 7, throttle: 0.2, serverError: 0.05, reset: 0.02 }),
    ]);
    try {
      const report = await fixAllThroughProxy(estate, "chaos");
      console.log(
        "chaos fix-all",
        JSON.stringify({ faults: faultFigures(estate.proxy), summary: report.summary }),
      );

      const mustBeLogged = await vpcsThatMustBeLogged(estate);
      expect(report.summary).toMatchObject({
        failed: 0,
        recordsUndelivered: 0,
        remediated: mustBeLogged.length,
        exempt: estate.exemptIds.length,
      });
      const counts = await flowLogsByVpc(estate);
      for (const vpcId of mustBeLogged) expect(counts.get(vpcId), vpcId).toBe(1);
      for (const vpcId of estate.exemptIds) expect(counts.get(vpcId), vpcId).toBeUndefined();
      expectEachChangeRecordedOnce(await drainRecords(estate.ledger), mustBeLogged);
      expect(faultFigures(estate.proxy).respond).toBeGreaterThan(0);
    } finally {
      await estate.proxy.close();
    }
  }, 300_000);
});

const EVENT_VPCS = Number(process.env.CHAOS_EVENT_VPCS ?? 10);

function createVpcEvent(vpcId: string, index: number) {
  const event = fixture("ec2-create-vpc-cloudformation", { [FIXTURE_VPC]: vpcId });
  (event.detail as { eventID: string }).eventID = `chaos-event-${index}`;
  return event;
}

describe(`chaos: events for ${EVENT_VPCS} new VPCs, each delivered three times at once, under the same faults`, () => {
  it("leaves one flow log per VPC and records each change once", async () => {
    const estate = await buildChaosEstate(motoEndpoint(), EVENT_VPCS, [
      iamPropagation(1_500),
      randomFaults({ seed: 11, throttle: 0.2, serverError: 0.05, reset: 0.02 }),
    ]);
    try {
      const deliveries = estate.vpcIds.flatMap((vpcId, index) =>
        [0, 1, 2].map(() => createVpcEvent(vpcId, index)),
      );
      const results = await Promise.all(
        deliveries.map((event) =>
          handleCloudTrailEvent(event, {
            policy,
            pool: createClientPool({ apiRate: 0, endpoint: estate.proxy.endpoint }),
          }),
        ),
      );
      console.log(
        "chaos events",
        JSON.stringify({ deliveries: deliveries.length, faults: faultFigures(estate.proxy) }),
      );

      expect(
        results.every((result) => result.status === "handled" && result.report?.summary.failed === 0),
      ).toBe(true);
      const counts = await flowLogsByVpc(estate);
      for (const vpcId of estate.vpcIds) expect(counts.get(vpcId), vpcId).toBe(1);
      expectEachChangeRecordedOnce(await drainRecords(estate.ledger), estate.vpcIds);
    } finally {
      await estate.proxy.close();
    }
  }, 300_000);
});

describe("chaos: fix-all running while events arrive for the same VPCs", () => {
  it("leaves one flow log per VPC and records each change once", async () => {
    const estate = await buildChaosEstate(motoEndpoint(), EVENT_VPCS, [
      randomFaults({ seed: 23, throttle: 0.2, serverError: 0.05, reset: 0.02 }),
    ]);
    try {
      const [report, ...events] = await Promise.all([
        fixAllThroughProxy(estate, "race"),
        ...estate.vpcIds.map((vpcId, index) =>
          handleCloudTrailEvent(createVpcEvent(vpcId, index), {
            policy,
            pool: createClientPool({ apiRate: 0, endpoint: estate.proxy.endpoint }),
          }),
        ),
      ]);

      expect(report.summary.failed).toBe(0);
      expect(events.every((result) => result.report?.summary.failed === 0)).toBe(true);
      const counts = await flowLogsByVpc(estate);
      for (const vpcId of estate.vpcIds) expect(counts.get(vpcId), vpcId).toBe(1);
      const defaultVpc = [...counts.keys()].find((vpcId) => !estate.vpcIds.includes(vpcId));
      expectEachChangeRecordedOnce(await drainRecords(estate.ledger), [
        ...estate.vpcIds,
        ...(defaultVpc ? [defaultVpc] : []),
      ]);
    } finally {
      await estate.proxy.close();
    }
  }, 300_000);
});

describe("chaos: a run whose retries are exhausted", () => {
  it("reports which VPCs failed and exits 3; the next run fixes them and exits 0", async () => {
    const estate = await buildChaosEstate(motoEndpoint(), 4, [
      (call) => (call.operation === "CreateFlowLogs" ? throttling(call.service) : undefined),
    ]);
    try {
      const env = { AWS_ENDPOINT_URL: estate.proxy.endpoint, AWS_MAX_ATTEMPTS: "2" };
      // Throttled for good: further passes (#17) last until the deadline, then the run reports.
      const failed = await runCli(
        ["fix-all", "--regions", CHAOS_REGION, "--json", "--api-rate", "0", "--deadline", "5s"],
        { env },
      );
      expect(failed.code).toBe(3);
      const report = JSON.parse(failed.stdout) as {
        vpcs: { vpcId: string; status: string; reason: string }[];
      };
      const failedVpcs = report.vpcs.filter((vpc) => vpc.status === "failed");
      expect(failedVpcs.map((vpc) => vpc.vpcId)).toEqual(expect.arrayContaining(estate.vpcIds));
      expect(failedVpcs[0]!.reason).toContain("RequestLimitExceeded");

      const next = await runCli(["fix-all", "--regions", CHAOS_REGION, "--json"], {
        env: { AWS_ENDPOINT_URL: motoEndpoint() },
      });
      expect(next.code).toBe(0);
      const counts = await flowLogsByVpc(estate);
      for (const vpcId of estate.vpcIds) expect(counts.get(vpcId), vpcId).toBe(1);
    } finally {
      await estate.proxy.close();
    }
  }, 120_000);
});

describe("AWS's token buckets (simulated in the proxy) and fix-all's own limiter", () => {
  // The simulated buckets count each call at the time the client sent it (it says so in a header),
  // not when this loaded, shared event loop gets round to it: the outcome does not depend on load.
  it("wastes no call on avoidable throttling: the buckets refuse nothing", {
    timeout: 120_000,
  }, async () => {
    const buckets = tokenBuckets();
    const estate = await buildChaosEstate(motoEndpoint(), 25, [buckets.rule]);
    try {
      const report = await fixAllThroughProxy(estate, "buckets", { awsRateLimits: true, ledger: false });

      console.log(
        "buckets",
        JSON.stringify({ refused: Object.fromEntries(buckets.refused), summary: report.summary }),
      );
      expect(Object.fromEntries(buckets.refused)).toEqual({});
      expect(report.summary).toMatchObject({ failed: 0, apiRetries: 0 });
      // The buckets went by the client's send times (the header reached the proxy on every call).
      expect(estate.proxy.log.filter((entry) => entry.call.sentAt === undefined)).toEqual([]);
    } finally {
      await estate.proxy.close();
    }
  });
});

/** The heavy scenario is slow by nature (it waits for AWS to recover): a third of the estate in CI. */
const HEAVY_VPCS = Number(process.env.CHAOS_HEAVY_VPCS ?? Math.max(10, Math.round(VPCS / 3)));

describe(`chaos: fix-all over ${HEAVY_VPCS} VPCs under heavy faults (35% throttling, 10% 500s, 4% resets, 3% lost responses)`, () => {
  it("one run with a deadline finishes: every VPC one flow log, every change in the report and on the ledger", async () => {
    const estate = await buildChaosEstate(motoEndpoint(), HEAVY_VPCS, [
      iamPropagation(1_500),
      randomFaults({ seed: 11, throttle: 0.35, serverError: 0.1, reset: 0.04, lostResponse: 0.03 }),
    ]);
    try {
      // Two attempts per call (not the SDK's 8): failures reach the run's own passes for certain.
      const report = await fixAllThroughProxy(estate, "heavy", { deadlineMs: 10 * 60_000, maxAttempts: 2 });
      const faults = faultFigures(estate.proxy);
      console.log("heavy chaos fix-all", JSON.stringify({ faults, summary: report.summary }));
      expect(faults["lose-response"]).toBeGreaterThan(0);
      const lost = estate.proxy.log
        .filter((entry) => entry.fault === "lose-response")
        .map((e) => e.call.operation);
      // A lost CreateLogGroup is met again as "already exists": the group's run tag is read to decide.
      if (lost.includes("CreateLogGroup")) {
        expect(estate.proxy.log.some((entry) => entry.call.operation === "ListTagsForResource")).toBe(true);
      }

      const mustBeLogged = await vpcsThatMustBeLogged(estate);
      expect(report.summary).toMatchObject({
        failed: 0,
        remediated: mustBeLogged.length,
        recordsUndelivered: 0,
      });
      expect(report.summary.passes).toBeGreaterThan(1);
      const counts = await flowLogsByVpc(estate);
      for (const vpcId of mustBeLogged) expect(counts.get(vpcId), vpcId).toBe(1);
      for (const vpcId of estate.exemptIds) expect(counts.get(vpcId), vpcId).toBeUndefined();

      // Every remediated VPC's flow log and log group are changes of this run, in the report...
      const applied = report.vpcs.flatMap((vpc) => vpc.changes).filter((r) => r.outcome === "applied");
      const changed = (action: string) =>
        applied
          .filter((r) => r.action === action)
          .map((r) => r.vpcId)
          .sort();
      expect(changed("create-flow-log")).toEqual([...mustBeLogged].sort());
      expect(changed("create-log-group")).toEqual([...mustBeLogged].sort());
      expect(new Set(applied.map((r) => r.recordId)).size).toBe(applied.length);
      // ...and on the ledger (a PutEvents whose response was lost is sent again: same record id).
      const onLedger = new Set((await drainRecords(estate.ledger)).map((r) => r.recordId));
      for (const record of applied) expect(onLedger.has(record.recordId), record.recordId).toBe(true);
    } finally {
      await estate.proxy.close();
    }
  }, 600_000);
});
