import { type ChangeRecord, SCHEDULED_FIX_ALL_EVENT } from "@flowlog-guard/core";
import { createFixAllHandler } from "@flowlog-guard/functions/fix-all-handler";
import { createRuntime } from "@flowlog-guard/functions/runtime";
import { describe, expect, it } from "vitest";
import { captureLedger, createVpc, flowLogsOf } from "./support/aws.ts";

const REGION = "eu-west-1";
const lambdaContext = (remainingMs: number) => ({ getRemainingTimeInMillis: () => remainingMs });
const LEDGER = `arn:aws:events:${REGION}:123456789012:event-bus/ledger`;

/** Runs `body` with FLOWLOG_GUARD_REGIONS set, as the stack sets it for the deployed functions. */
async function withRegions<T>(regions: string, body: () => Promise<T>): Promise<T> {
  process.env.FLOWLOG_GUARD_REGIONS = regions;
  try {
    return await body();
  } finally {
    delete process.env.FLOWLOG_GUARD_REGIONS;
  }
}

describe("fix-all Lambda handler", () => {
  it("takes { regions, dryRun } and returns the summary without changing anything", async () => {
    const runtime = await createRuntime({});
    const vpcId = await createVpc(runtime.pool, REGION);

    const result = await createFixAllHandler(runtime)(
      { regions: [REGION], dryRun: true },
      lambdaContext(900_000),
    );

    expect(result).toMatchObject({ trigger: "fix-all", dryRun: true, regions: [REGION], remaining: [] });
    expect(result.summary.wouldRemediate).toBe(2);
    expect(await flowLogsOf(runtime.pool, REGION, vpcId)).toHaveLength(0);
  });

  it("runs from the daily schedule over the configured regions and fixes them", async () => {
    const runtime = await createRuntime({});
    const vpcId = await createVpc(runtime.pool, REGION);
    process.env.FLOWLOG_GUARD_REGIONS = REGION;
    try {
      const scheduled = { "detail-type": "Scheduled Event", source: "aws.scheduler", detail: {} };
      const result = await createFixAllHandler(runtime)(scheduled, lambdaContext(900_000));

      expect(result).toMatchObject({ trigger: "schedule", dryRun: false, regions: [REGION] });
      expect(result.summary).toMatchObject({ remediated: 2, failed: 0 });
      expect(await flowLogsOf(runtime.pool, REGION, vpcId)).toHaveLength(1);
    } finally {
      delete process.env.FLOWLOG_GUARD_REGIONS;
    }
  });

  it("recognises the stack's schedule payload (CronV2 sends it verbatim): report and records say schedule", async () => {
    const runtime = await createRuntime({ FLOWLOG_GUARD_LEDGER_BUS: LEDGER });
    const ledger = await captureLedger(REGION, "ledger", "fix-all-ledger");
    const vpcId = await createVpc(runtime.pool, REGION);

    const result = await withRegions(REGION, () =>
      createFixAllHandler(runtime)(structuredClone(SCHEDULED_FIX_ALL_EVENT), lambdaContext(900_000)),
    );

    expect(result).toMatchObject({ trigger: "schedule", dryRun: false, regions: [REGION] });
    const records = (await ledger.drain()).map((event) => event.detail as ChangeRecord);
    expect(records.length).toBe(result.summary.changes);
    expect(records.map((record) => record.trigger.kind)).toEqual(records.map(() => "schedule"));
    expect(records.some((record) => record.vpcId === vpcId)).toBe(true);
  });

  it("a manual {} is still a fix-all run", async () => {
    const runtime = await createRuntime({});
    await createVpc(runtime.pool, REGION);
    const result = await withRegions(REGION, () => createFixAllHandler(runtime)({}, lambdaContext(900_000)));
    expect(result).toMatchObject({ trigger: "fix-all", dryRun: false, regions: [REGION] });
  });

  it("two fix-all runs at once (no reserved concurrency) leave one flow log per VPC and record each change once", async () => {
    const runtime = await createRuntime({ FLOWLOG_GUARD_LEDGER_BUS: LEDGER });
    const other = await createRuntime({ FLOWLOG_GUARD_LEDGER_BUS: LEDGER });
    const ledger = await captureLedger(REGION, "ledger", "fix-all-ledger");
    const vpcIds: string[] = [];
    for (let index = 0; index < 6; index++)
      vpcIds.push(await createVpc(runtime.pool, REGION, {}, `10.${index}.0.0/16`));

    const results = await withRegions(REGION, () =>
      Promise.all([
        createFixAllHandler(runtime)({}, lambdaContext(900_000)),
        createFixAllHandler(other)(structuredClone(SCHEDULED_FIX_ALL_EVENT), lambdaContext(900_000)),
      ]),
    );

    expect(results.map((result) => result.summary.failed)).toEqual([0, 0]);
    for (const vpcId of vpcIds) expect(await flowLogsOf(runtime.pool, REGION, vpcId), vpcId).toHaveLength(1);
    const records = (await ledger.drain()).map((event) => event.detail as ChangeRecord);
    const applied = records.filter((record) => record.outcome === "applied");
    expect(records.length).toBe(results[0]!.summary.changes + results[1]!.summary.changes);
    const changes = applied.map((record) => `${record.action} ${record.target.id}`);
    expect(new Set(changes).size).toBe(changes.length);
    const flowLogsRecorded = applied.filter((record) => record.action === "create-flow-log");
    for (const vpcId of vpcIds)
      expect(
        flowLogsRecorded.filter((record) => record.vpcId === vpcId),
        vpcId,
      ).toHaveLength(1);
    expect(applied.filter((record) => record.action === "create-role")).toHaveLength(1);
  });

  it("stops before the time limit and reports the regions it did not start as remaining, not failed", async () => {
    const runtime = await createRuntime({});
    const vpcId = await createVpc(runtime.pool, REGION);

    const result = await createFixAllHandler(runtime)(
      { regions: [REGION, "us-east-1"] },
      lambdaContext(30_000),
    );

    expect(result.remaining.sort()).toEqual([REGION, "us-east-1"].sort());
    expect(result.summary).toMatchObject({ regionsRemaining: 2, regionsFailed: 0, vpcs: 0, changes: 0 });
    expect(result.errors).toEqual([]);
    expect(await flowLogsOf(runtime.pool, REGION, vpcId)).toHaveLength(0);
  });

  it.each([[{ regions: "eu-west-1" }], [{ regions: ["nowhere"] }], [{ dryRun: "yes" }], [{ surprise: 1 }]])(
    "refuses %j with a message that shows the accepted input",
    async (input) => {
      const runtime = await createRuntime({});
      await expect(createFixAllHandler(runtime)(input, lambdaContext(900_000))).rejects.toThrow(
        /fix-all input not understood.*Pass \{\}/s,
      );
      expect(runtime.pool.counter.total).toBe(0);
    },
  );
});
