import { DescribeLogGroupsCommand, type LogGroup } from "@aws-sdk/client-cloudwatch-logs";
import { CreateVpcCommand, DescribeFlowLogsCommand, type FlowLog } from "@aws-sdk/client-ec2";
import {
  AttachRolePolicyCommand,
  CreatePolicyCommand,
  type IAMClient,
  PutRolePermissionsBoundaryCommand,
  UpdateAssumeRolePolicyCommand,
} from "@aws-sdk/client-iam";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import {
  CHANGE_RECORD_DETAIL_TYPE,
  CHANGE_RECORD_SOURCE,
  type ClientPool,
  createClientPool,
  type PolicyInput,
  parsePolicy,
  type RunMode,
  type RunReport,
  runRemediation,
  type Trigger,
} from "@flowlog-guard/core";
import { captureEvents, type EventCapture } from "@flowlog-guard/emulator";

/** Builders and readers for integration tests: arrange state through the SDK, read it back after. */

/**
 * Drifts the delivery role as a platform pipeline might: a new deny-all-logs managed policy attached
 * to it and put as its permissions boundary. Returns the policy's ARN.
 */
export async function attachDenyPolicyAndBoundary(iam: IAMClient, policyName: string): Promise<string> {
  const { Policy } = await iam.send(
    new CreatePolicyCommand({
      PolicyName: policyName,
      PolicyDocument: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Deny", Action: "logs:*", Resource: "*" }],
      }),
    }),
  );
  const arn = Policy!.Arn!;
  const RoleName = "flowlog-guard-delivery";
  await iam.send(new AttachRolePolicyCommand({ RoleName, PolicyArn: arn }));
  await iam.send(new PutRolePermissionsBoundaryCommand({ RoleName, PermissionsBoundary: arn }));
  return arn;
}

/** A trust policy on the delivery role that flow logs cannot use (EC2 may assume it instead). */
export const DRIFTED_TRUST = {
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
};

/** Rewrites the delivery role's trust to {@link DRIFTED_TRUST}, as someone editing it by hand would. */
export async function driftDeliveryRoleTrust(iam: IAMClient): Promise<void> {
  await iam.send(
    new UpdateAssumeRolePolicyCommand({
      RoleName: "flowlog-guard-delivery",
      PolicyDocument: JSON.stringify(DRIFTED_TRUST),
    }),
  );
}

export function testPool(): ClientPool {
  return createClientPool({ apiRate: 0 });
}

export const noSleep = async () => {};

export async function createVpc(
  pool: ClientPool,
  region: string,
  tags: Record<string, string> = {},
  cidr = "10.0.0.0/16",
): Promise<string> {
  const entries = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
  const response = await pool.clientsFor(region).ec2.send(
    new CreateVpcCommand({
      CidrBlock: cidr,
      TagSpecifications: entries.length > 0 ? [{ ResourceType: "vpc", Tags: entries }] : undefined,
    }),
  );
  return response.Vpc!.VpcId!;
}

export async function flowLogsOf(pool: ClientPool, region: string, vpcId: string): Promise<FlowLog[]> {
  const response = await pool
    .clientsFor(region)
    .ec2.send(new DescribeFlowLogsCommand({ Filter: [{ Name: "resource-id", Values: [vpcId] }] }));
  return response.FlowLogs ?? [];
}

export async function logGroup(
  pool: ClientPool,
  region: string,
  name: string,
): Promise<LogGroup | undefined> {
  const response = await pool
    .clientsFor(region)
    .logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: name }));
  return response.logGroups?.find((group) => group.logGroupName === name);
}

export async function createBucket(pool: ClientPool, region: string, name: string): Promise<void> {
  const s3 = new S3Client({ region, forcePathStyle: true });
  await s3.send(
    new CreateBucketCommand({
      Bucket: name,
      ...(region === "us-east-1"
        ? {}
        : { CreateBucketConfiguration: { LocationConstraint: region as never } }),
    }),
  );
  void pool;
}

/** Runs the engine the way fix-all does, with no real waits. */
export async function run(
  pool: ClientPool,
  options: {
    regions: string[];
    mode?: RunMode;
    policy?: PolicyInput;
    vpcIds?: string[];
    trigger?: Partial<Trigger>;
  },
): Promise<RunReport> {
  return runRemediation({
    policy: parsePolicy(options.policy ?? {}),
    regions: options.regions,
    mode: options.mode ?? "fix",
    trigger: { kind: "cli", runId: `test-${Math.random().toString(36).slice(2)}`, ...options.trigger },
    pool,
    sleep: noSleep,
    vpcIds: options.vpcIds,
  });
}

/** An EventBridge bus with a rule that copies what it matches into an SQS queue (see the emulator package). */
export async function createBusToQueue(
  _pool: ClientPool,
  region: string,
  options: { bus: string; pattern: object; name?: string },
): Promise<EventCapture> {
  return captureEvents({
    region,
    bus: options.bus,
    pattern: options.pattern,
    name: options.name ?? "capture",
  });
}

/** The bus `bus` (created) with a rule copying every change record into a queue: what reached the ledger. */
export function captureLedger(region: string, bus: string, name = "ledger-capture"): Promise<EventCapture> {
  return captureEvents({
    region,
    bus,
    pattern: { source: [CHANGE_RECORD_SOURCE], "detail-type": [CHANGE_RECORD_DETAIL_TYPE] },
    name,
  });
}
