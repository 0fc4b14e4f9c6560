import { DescribeLogGroupsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { DescribeVpcsCommand } from "@aws-sdk/client-ec2";
import {
  createClientPool,
  createClients,
  parsePolicy,
  RateLimiter,
  runRemediation,
} from "@flowlog-guard/core";
import { describe, expect, it } from "vitest";
import { createVpc, flowLogsOf, noSleep, testPool } from "./support/aws.ts";
import { ec2Error, firstCalls, startFaultProxy, throttling } from "./support/fault-proxy.ts";
import { motoEndpoint } from "./support/moto.ts";

const REGION = "eu-west-1";

describe("engine under faults (fault proxy in front of moto)", () => {
  it("retries CreateFlowLogs while a new role is not assumable yet, then succeeds", async () => {
    const vpcId = await createVpc(testPool(), REGION);
    const refusal = ec2Error(
      400,
      "InvalidParameter",
      "Unable to assume given IAM role: 'arn:aws:iam::123456789012:role/flowlog-guard/flowlog-guard-delivery'",
    );
    const proxy = await startFaultProxy(motoEndpoint(), [firstCalls("CreateFlowLogs", 3, refusal)]);
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
    const proxy = await startFaultProxy(motoEndpoint(), [firstCalls("CreateFlowLogs", 1_000, refusal)]);
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

    const next = await run(motoEndpoint());
    expect(next.vpcs[0]).toMatchObject({ status: "remediated" });
    expect(await flowLogsOf(testPool(), REGION, vpcId)).toHaveLength(1);
  });
});

describe("the client-side limiter against AWS's throttling (fault proxy in front of moto)", () => {
  it("slows an API down only when a call is throttled again while most of its recent attempts were", async () => {
    const proxy = await startFaultProxy(motoEndpoint(), [
      firstCalls("DescribeLogGroups", 1, throttling("logs")),
      firstCalls("DescribeVpcs", 11, throttling("ec2")),
    ]);
    try {
      const limiter = new RateLimiter();
      const clients = createClients({
        region: REGION,
        endpoint: proxy.endpoint,
        rateLimiter: limiter,
        maxAttempts: 3,
      });
      // Throttled once, then answered: a moment's shortage, no slowdown.
      await clients.logs.send(new DescribeLogGroupsCommand({}));
      expect(limiter.rateOf("Logs", "DescribeLogGroups")).toBe(5);
      // Three calls throttled on each of their three attempts: nine throttles, nothing lowered yet (the
      // first attempts of a run say little about AWS's bucket).
      for (let call = 0; call < 3; call++)
        await expect(clients.ec2.send(new DescribeVpcsCommand({}))).rejects.toThrow();
      expect(limiter.rateOf("EC2", "DescribeVpcs")).toBe(20);
      // The fourth call is throttled, then throttled again: eleven of eleven attempts throttled, AWS's
      // bucket stays empty, the API slows down by 30% (20/s to 14/s); the third attempt's success
      // gives back 10% of the published rate (2/s).
      await clients.ec2.send(new DescribeVpcsCommand({}));
      expect(limiter.rateOf("EC2", "DescribeVpcs")).toBeCloseTo(16);
      // Twelve throttles counted; only the sustained one lowered a rate.
      expect(limiter.slowdowns).toBe(12);
      expect(proxy.log.map((entry) => `${entry.call.operation}:${entry.fault}`)).toEqual([
        "DescribeLogGroups:respond",
        "DescribeLogGroups:pass",
        ...Array.from({ length: 11 }, () => "DescribeVpcs:respond"),
        "DescribeVpcs:pass",
      ]);
    } finally {
      await proxy.close();
    }
  }, 60_000);
});
