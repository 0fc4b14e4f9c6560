import { DeleteLogGroupCommand, PutRetentionPolicyCommand } from "@aws-sdk/client-cloudwatch-logs";
import { DeleteFlowLogsCommand, DescribeVpcsCommand } from "@aws-sdk/client-ec2";
import {
  DeleteRolePolicyCommand,
  GetRolePolicyCommand,
  ListAttachedRolePoliciesCommand,
} from "@aws-sdk/client-iam";
import {
  deliveryRolePermissionsPolicy,
  EventValidationError,
  parsePolicy,
  parsePolicyDocument,
} from "@flowlog-guard/core";
import { createRemediateHandler, type RemediateResult } from "@flowlog-guard/functions/remediate-handler";
import { createRuntime } from "@flowlog-guard/functions/runtime";
import { describe, expect, it } from "vitest";
import { attachDenyPolicyAndBoundary, createVpc, flowLogsOf, logGroup, run } from "./support/aws.ts";
import { deployRules, FIXTURE_FLOW_LOG, FIXTURE_VPC, fixture, putCloudTrailEvent } from "./support/events.ts";

const REGION = "eu-west-1";
const policy = parsePolicy({});

async function setup() {
  const runtime = await createRuntime({});
  const remediate = createRemediateHandler(runtime);
  /** One EventBridge event in, one result out (batches are tested in test/envelopes.test.ts). */
  const handle = async (event: unknown) => (await remediate(event)) as RemediateResult;
  const pool = runtime.pool;
  /** Puts events on the bus, polls the rules' queues and hands what matched to the real handler. */
  async function deliver(...events: Record<string, unknown>[]): Promise<RemediateResult[]> {
    for (const event of events) await putCloudTrailEvent(pool, event);
    const matched = await rules.drain();
    const results: RemediateResult[] = [];
    for (const event of matched) results.push(await handle(event));
    return results;
  }
  let rules: Awaited<ReturnType<typeof deployRules>>;
  return {
    runtime,
    pool,
    handle,
    deliver,
    async deploy() {
      rules = await deployRules(pool, policy, [REGION]);
    },
  };
}

describe("events: CloudTrail -> EventBridge rules (core pattern data) -> remediate handler", () => {
  it("fixes a new VPC from its CreateVpc event", async () => {
    const env = await setup();
    await env.deploy();
    const vpcId = await createVpc(env.pool, REGION);

    const results = await env.deliver(
      fixture("ec2-create-vpc-assumed-role-with-tags", { [FIXTURE_VPC]: vpcId }),
    );

    expect(results).toEqual([
      expect.objectContaining({
        status: "handled",
        vpcs: [expect.objectContaining({ vpcId, status: "remediated" })],
      }),
    ]);
    expect(await flowLogsOf(env.pool, REGION, vpcId)).toHaveLength(1);
  });

  it("fixes a default VPC from its CreateDefaultVpc event (default VPCs are remediated by default)", async () => {
    const env = await setup();
    await env.deploy();
    // moto starts every region with the default VPC CreateDefaultVpc would create (with its subnets).
    const isDefault = { Filters: [{ Name: "is-default", Values: ["true"] }] };
    const [defaultVpc] = (await env.pool.clientsFor(REGION).ec2.send(new DescribeVpcsCommand(isDefault)))
      .Vpcs!;
    const vpcId = defaultVpc!.VpcId!;

    const results = await env.deliver(fixture("ec2-create-default-vpc", { [FIXTURE_VPC]: vpcId }));

    expect(results).toEqual([
      expect.objectContaining({
        status: "handled",
        reason: `CreateDefaultVpc on ${vpcId}`,
        vpcs: [expect.objectContaining({ vpcId, status: "remediated" })],
      }),
    ]);
    expect(await flowLogsOf(env.pool, REGION, vpcId)).toHaveLength(1);
  });

  it("restores a deleted flow log from the DeleteFlowLogs event by re-checking the region", async () => {
    const env = await setup();
    const vpcId = await createVpc(env.pool, REGION);
    await run(env.pool, { regions: [REGION] });
    await env.deploy();
    const [flowLog] = await flowLogsOf(env.pool, REGION, vpcId);
    await env.pool
      .clientsFor(REGION)
      .ec2.send(new DeleteFlowLogsCommand({ FlowLogIds: [flowLog!.FlowLogId!] }));

    const results = await env.deliver(
      fixture("ec2-delete-flow-logs-single", { [FIXTURE_FLOW_LOG]: flowLog!.FlowLogId! }),
    );

    expect(results[0]?.summary).toMatchObject({ remediated: 1, failed: 0 });
    const restored = await flowLogsOf(env.pool, REGION, vpcId);
    expect(restored).toHaveLength(1);
    expect(restored[0]!.FlowLogId).not.toBe(flowLog!.FlowLogId);
  });

  it("restores a deleted log group, and a lowered retention, from logs events", async () => {
    const env = await setup();
    const vpcId = await createVpc(env.pool, REGION);
    const group = `/aws/vpc-flow-logs/${vpcId}`;
    await run(env.pool, { regions: [REGION] });
    await env.deploy();
    const logs = env.pool.clientsFor(REGION).logs;

    await logs.send(new DeleteLogGroupCommand({ logGroupName: group }));
    await env.deliver(fixture("logs-delete-log-group", { [FIXTURE_VPC]: vpcId }));
    expect((await logGroup(env.pool, REGION, group))?.retentionInDays).toBe(365);

    await logs.send(new PutRetentionPolicyCommand({ logGroupName: group, retentionInDays: 7 }));
    const results = await env.deliver(fixture("logs-put-retention-policy", { [FIXTURE_VPC]: vpcId }));
    expect((await logGroup(env.pool, REGION, group))?.retentionInDays).toBe(365);
    expect(results[0]?.summary?.changes).toBe(1);
    expect(await flowLogsOf(env.pool, REGION, vpcId)).toHaveLength(1);
  });

  it("restores the delivery role's policy from an IAM event delivered in us-east-1", async () => {
    const env = await setup();
    await createVpc(env.pool, REGION);
    await run(env.pool, { regions: [REGION] });
    await env.deploy();
    const iam = env.pool.clientsFor("us-east-1").iam;
    await iam.send(
      new DeleteRolePolicyCommand({
        RoleName: "flowlog-guard-delivery",
        PolicyName: "flowlog-guard-delivery",
      }),
    );

    const results = await env.deliver(fixture("iam-delete-role-policy"));

    expect(results).toHaveLength(1);
    const inline = await iam.send(
      new GetRolePolicyCommand({ RoleName: "flowlog-guard-delivery", PolicyName: "flowlog-guard-delivery" }),
    );
    expect(parsePolicyDocument(inline.PolicyDocument!)).toEqual(
      deliveryRolePermissionsPolicy(policy.logGroupName, "aws", "123456789012"),
    );
    expect(results[0]?.summary?.changes).toBe(1);
  });

  it("detaches a managed policy and removes a boundary put on the delivery role, from their IAM events", async () => {
    const env = await setup();
    await createVpc(env.pool, REGION);
    await run(env.pool, { regions: [REGION] });
    await env.deploy();
    const iam = env.pool.clientsFor("us-east-1").iam;
    await attachDenyPolicyAndBoundary(iam, "platform-deny-logs");

    const results = await env.deliver(
      fixture("iam-attach-role-policy-by-cloudformation"),
      fixture("iam-put-role-permissions-boundary"),
    );

    // Both events match the IAM rule; the first repairs both drifts, the second finds nothing left.
    expect(results.map((result) => result.summary?.changes)).toEqual([2, 0]);
    const attached = await iam.send(
      new ListAttachedRolePoliciesCommand({ RoleName: "flowlog-guard-delivery" }),
    );
    expect(attached.AttachedPolicies).toEqual([]);
  });

  it("does not match failed calls or events from other sources", async () => {
    const env = await setup();
    await env.deploy();
    const vpcId = await createVpc(env.pool, REGION);
    const created = fixture("ec2-create-vpc-cloudformation", { [FIXTURE_VPC]: vpcId });

    const results = await env.deliver(
      fixture("ec2-create-vpc-failed"),
      { ...created, source: "my.app" },
      {
        ...created,
        source: "aws.s3",
        detail: { ...(created.detail as object), eventSource: "s3.amazonaws.com" },
      },
      fixture("logs-delete-log-group", { "/aws/vpc-flow-logs/": "/aws/lambda/" }),
      fixture("iam-delete-role-other-role"),
    );

    expect(results).toEqual([]);
    expect(await flowLogsOf(env.pool, REGION, vpcId)).toHaveLength(0);
  });

  it("lets tag calls through only when a vpc- resource is among those tagged (arrays of objects, as EventBridge matches them)", async () => {
    const env = await setup();
    await env.deploy();
    const vpcId = await createVpc(env.pool, REGION);
    const exception = fixture("ec2-create-tags-exception", { [FIXTURE_VPC]: vpcId });
    const detail = exception.detail as { requestParameters: { resourcesSet: { items: unknown[] } } };
    // The VPC second among the tagged resources: any element of the array may match.
    detail.requestParameters.resourcesSet.items = [
      { resourceId: "sg-0123456789abcdef0" },
      { resourceId: vpcId },
    ];

    const results = await env.deliver(
      fixture("ec2-create-tags-not-a-vpc"),
      exception,
      fixture("ec2-delete-tags-all-by-service", { [FIXTURE_VPC]: vpcId }),
    );

    expect(results.map((result) => result.event.eventName)).toEqual(["CreateTags", "DeleteTags"]);
    expect(results.map((result) => result.status)).toEqual(["handled", "handled"]);
    expect(results[0]!.vpcs?.map((vpc) => vpc.vpcId)).toEqual([vpcId]);
  });

  it("ignores tag events that do not touch an exception, with no change", async () => {
    const env = await setup();
    await env.deploy();
    const vpcId = await createVpc(env.pool, REGION);

    const results = await env.deliver(fixture("ec2-create-tags-name-only", { [FIXTURE_VPC]: vpcId }));

    expect(results).toEqual([expect.objectContaining({ status: "ignored" })]);
    expect(await flowLogsOf(env.pool, REGION, vpcId)).toHaveLength(0);
    expect(
      Object.keys(env.pool.counter.byOperation()).filter(
        (op) => /:(Create|Put|Update)/.test(op) && !op.startsWith("EventBridge") && !op.startsWith("SQS"),
      ),
    ).toEqual(["EC2:CreateVpc"]);
  });

  it("throws a validation error for a malformed event and makes no call that changes anything", async () => {
    const env = await setup();
    const vpcId = await createVpc(env.pool, REGION);
    const before = env.pool.counter.total;
    const event = fixture("ec2-create-vpc-cloudformation", { [FIXTURE_VPC]: "vpc-not-hex" });

    await expect(env.handle(event)).rejects.toThrow(EventValidationError);
    await expect(env.handle(event)).rejects.toThrow("detail.responseElements.vpc.vpcId");
    const calls = Object.keys(env.pool.counter.byOperation()).filter(
      (op) => !op.startsWith("STS") && op !== "EC2:CreateVpc",
    );
    expect(calls).toEqual([]);
    expect(env.pool.counter.total - before).toBeLessThanOrEqual(1);
    expect(await flowLogsOf(env.pool, REGION, vpcId)).toHaveLength(0);
  });

  it("refuses an event for another account", async () => {
    const env = await setup();
    const event = fixture("ec2-create-vpc-cloudformation", { "123456789012": "444455556666" });
    await expect(env.handle(event)).rejects.toThrow(/^account: the event is for account 444455556666/);
  });
});

describe("events: at-least-once delivery", () => {
  it("handles the same event twice: one flow log, each change recorded once", async () => {
    const env = await setup();
    const vpcId = await createVpc(env.pool, REGION);
    const event = fixture("ec2-create-vpc-root-console-v1.05", { [FIXTURE_VPC]: vpcId, "us-east-1": REGION });

    const first = await env.handle(event);
    const second = await env.handle(event);

    expect(first.summary).toMatchObject({ remediated: 1, changes: 5 });
    expect(second.summary).toMatchObject({ remediated: 0, changes: 0 });
    expect(await flowLogsOf(env.pool, REGION, vpcId)).toHaveLength(1);
  });

  it("asks STS who it is once per container, not once per event", async () => {
    const env = await setup();
    const vpcId = await createVpc(env.pool, REGION);
    const event = fixture("ec2-create-vpc-root-console-v1.05", { [FIXTURE_VPC]: vpcId, "us-east-1": REGION });

    await env.handle(event);
    await env.handle(event);

    expect(env.pool.counter.count("STS", "GetCallerIdentity")).toBe(1);
  });

  it("handles twenty copies at once: one flow log, each change recorded once", async () => {
    const env = await setup();
    const vpcId = await createVpc(env.pool, REGION);
    const event = fixture("ec2-create-vpc-cloudformation", { [FIXTURE_VPC]: vpcId });

    const results = await Promise.all(
      Array.from(
        { length: 20 },
        async () => (await createRemediateHandler(await createRuntime({}))(event)) as RemediateResult,
      ),
    );

    expect(await flowLogsOf(env.pool, REGION, vpcId)).toHaveLength(1);
    const applied = results.reduce((sum, result) => sum + (result.summary?.changes ?? 0), 0);
    expect(applied).toBe(5);
    expect(results.every((result) => result.summary?.failed === 0)).toBe(true);
  });
});
