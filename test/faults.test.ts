import { createClientPool, parsePolicy, runRemediation } from "@flowlog-guard/core";
import { describe, expect, inject, it } from "vitest";
import { createVpc, flowLogsOf, noSleep, testPool } from "./support/aws.ts";
import { ec2Error, firstCalls, startFaultProxy } from "./support/fault-proxy.ts";

const REGION = "eu-west-1";

describe("engine under faults (fault proxy in front of moto)", () => {
  it("retries CreateFlowLogs while a new role is not assumable yet, then succeeds", async () => {
    const vpcId = await createVpc(testPool(), REGION);
    const refusal = ec2Error(
      400,
      "InvalidParameter",
      "Unable to assume given IAM role: 'arn:aws:iam::123456789012:role/flowlog-guard/flowlog-guard-delivery'",
    );
    const proxy = await startFaultProxy(inject("motoEndpoint"), [firstCalls("CreateFlowLogs", 3, refusal)]);
    try {
      const pool = createClientPool({ apiRate: 0, endpoint: proxy.endpoint });
      const report = await runRemediation({
        policy: parsePolicy({}),
        regions: [REGION],
        vpcIds: [vpcId],
        mode: "fix",
        trigger: { kind: "cli", runId: "iam-propagation" },
        pool,
        sleep: noSleep,
      });

      expect(report.vpcs[0]).toMatchObject({ vpcId, status: "remediated" });
      expect(
        proxy.log.filter((entry) => entry.call.operation === "CreateFlowLogs").map((entry) => entry.fault),
      ).toEqual(["respond", "respond", "respond", "pass"]);
      expect(await flowLogsOf(testPool(), REGION, vpcId)).toHaveLength(1);
    } finally {
      await proxy.close();
    }
  });

  it("gives up after the propagation window, reports the VPC failed with AWS's message, and the next run fixes it", async () => {
    const vpcId = await createVpc(testPool(), REGION);
    const refusal = ec2Error(
      400,
      "InvalidParameter",
      "Unable to assume given IAM role: 'arn:aws:iam::123456789012:role/x'",
    );
    const proxy = await startFaultProxy(inject("motoEndpoint"), [
      firstCalls("CreateFlowLogs", 1_000, refusal),
    ]);
    const run = (endpoint: string) =>
      runRemediation({
        policy: parsePolicy({}),
        regions: [REGION],
        vpcIds: [vpcId],
        mode: "fix",
        trigger: { kind: "cli", runId: `run-${endpoint}` },
        pool: createClientPool({ apiRate: 0, endpoint }),
        sleep: noSleep,
        iamPropagationTimeoutMs: 0,
      });
    try {
      const failed = await run(proxy.endpoint);
      expect(failed.vpcs[0]).toMatchObject({
        status: "failed",
        reason: expect.stringContaining("Unable to assume given IAM role"),
      });
      expect(failed.errors).toContainEqual(expect.objectContaining({ scope: "vpc", vpcId }));
      expect(failed.vpcs[0]!.changes).toContainEqual(
        expect.objectContaining({ action: "create-flow-log", outcome: "failed" }),
      );
    } finally {
      await proxy.close();
    }

    const next = await run(inject("motoEndpoint"));
    expect(next.vpcs[0]).toMatchObject({ status: "remediated" });
    expect(await flowLogsOf(testPool(), REGION, vpcId)).toHaveLength(1);
  });
});
