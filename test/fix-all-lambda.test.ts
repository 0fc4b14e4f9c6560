import { createFixAllHandler } from "@flowlog-guard/functions/fix-all-handler";
import { createRuntime } from "@flowlog-guard/functions/runtime";
import { describe, expect, it } from "vitest";
import { createVpc, flowLogsOf } from "./support/aws.ts";

const REGION = "eu-west-1";
const lambdaContext = (remainingMs: number) => ({ getRemainingTimeInMillis: () => remainingMs });

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

  it("stops before the time limit and says which regions remain", async () => {
    const runtime = await createRuntime({});
    await createVpc(runtime.pool, REGION);

    const result = await createFixAllHandler(runtime)(
      { regions: [REGION, "us-east-1"] },
      lambdaContext(30_000),
    );

    expect(result.remaining.sort()).toEqual([REGION, "us-east-1"].sort());
    expect(result.summary.changes).toBe(0);
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
