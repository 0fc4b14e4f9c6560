import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createClientPool } from "../src/aws-clients.ts";
import { parsePolicy } from "../src/config.ts";
import { createVpcGraceRemainingMs, handleCloudTrailEvent, isOwnChange } from "../src/event-handler.ts";
import {
  buildEventPatterns,
  eventNamesOf,
  HANDLED_EVENTS,
  splitDelayedEvents,
  TAG_EVENT_NAMES,
} from "../src/event-patterns.ts";
import { vpcOfLogGroup } from "../src/log-group-template.ts";

describe("buildEventPatterns", () => {
  const patterns = buildEventPatterns(parsePolicy({}));

  it("never matches failed calls", () => {
    for (const pattern of Object.values(patterns))
      expect(pattern.detail.errorCode).toEqual([{ exists: false }]);
  });

  it("covers every handled call, per source (subnet events only in Subnet mode)", () => {
    expect(eventNamesOf(patterns.ec2)).toEqual([
      "CreateVpc",
      "CreateDefaultVpc",
      "DeleteFlowLogs",
      "CreateTags",
      "DeleteTags",
    ]);
    const subnetMode = buildEventPatterns(parsePolicy({ resourceType: "Subnet" }));
    expect(eventNamesOf(subnetMode.ec2).sort()).toEqual([...HANDLED_EVENTS["aws.ec2"].eventNames].sort());
    expect(eventNamesOf(subnetMode.ec2)).toContain("CreateSubnet");
    expect(eventNamesOf(subnetMode.ec2)).toContain("CreateDefaultSubnet");
    expect(patterns.logs.detail.eventName).toEqual([
      "DeleteLogGroup",
      "PutRetentionPolicy",
      "DeleteRetentionPolicy",
      "DisassociateKmsKey",
    ]);
    expect(patterns.iam.detail.eventName).toEqual([
      "DeleteRole",
      "DeleteRolePolicy",
      "PutRolePolicy",
      "DetachRolePolicy",
      "UpdateAssumeRolePolicy",
      "AttachRolePolicy",
      "PutRolePermissionsBoundary",
    ]);
  });

  it("matches tag calls only when a vpc- resource is among those tagged, other EC2 calls by name", () => {
    expect(patterns.ec2.detail).toEqual({
      eventSource: ["ec2.amazonaws.com"],
      errorCode: [{ exists: false }],
      $or: [
        { eventName: ["CreateVpc", "CreateDefaultVpc", "DeleteFlowLogs"] },
        {
          eventName: [...TAG_EVENT_NAMES],
          requestParameters: { resourcesSet: { items: { resourceId: [{ prefix: "vpc-" }] } } },
        },
      ],
    });
  });

  it("in Subnet mode also matches tag calls on subnets (their exception tags), delayed split or not", () => {
    const subnetMode = buildEventPatterns(parsePolicy({ resourceType: "Subnet" }));
    const tagBranch = (pattern: typeof subnetMode.ec2) =>
      (pattern.detail.$or as Record<string, unknown>[]).find((branch) => "requestParameters" in branch);
    const expected = {
      eventName: [...TAG_EVENT_NAMES],
      requestParameters: {
        resourcesSet: { items: { resourceId: [{ prefix: "vpc-" }, { prefix: "subnet-" }] } },
      },
    };
    expect(tagBranch(subnetMode.ec2)).toEqual(expected);
    expect(tagBranch(splitDelayedEvents(subnetMode, 60).immediate.ec2)).toEqual(expected);
    expect(tagBranch(splitDelayedEvents(patterns, 60).immediate.ec2)).toEqual({
      eventName: [...TAG_EVENT_NAMES],
      requestParameters: { resourcesSet: { items: { resourceId: [{ prefix: "vpc-" }] } } },
    });
  });

  it("matches only the log groups and role the policy names", () => {
    expect(patterns.logs.detail.requestParameters).toEqual({
      logGroupName: [{ prefix: "/aws/vpc-flow-logs/" }],
    });
    expect(patterns.iam.detail.requestParameters).toEqual({ roleName: ["flowlog-guard-delivery"] });
    const custom = buildEventPatterns(
      parsePolicy({ logGroupName: "/flow/{region}/{vpcId}", roleName: "fl-role" }),
    );
    expect(custom.logs.detail.requestParameters).toEqual({ logGroupName: [{ prefix: "/flow/" }] });
    expect(custom.iam.detail.requestParameters).toEqual({ roleName: ["fl-role"] });
  });
});

describe("vpcOfLogGroup", () => {
  const values = { region: "eu-west-1", accountId: "111122223333" };
  it.each([
    ["/aws/vpc-flow-logs/{vpcId}", "/aws/vpc-flow-logs/vpc-0a71e831cb5152c43", "vpc-0a71e831cb5152c43"],
    ["/aws/vpc-flow-logs/{vpcId}", "/aws/vpc-flow-logs/vpc-0a71e831cb5152c43/extra", undefined],
    ["/aws/vpc-flow-logs/{vpcId}", "/aws/lambda/fn", undefined],
    ["/flow/{region}/{vpcId}", "/flow/eu-west-1/vpc-0abc12345", "vpc-0abc12345"],
    ["/flow/{region}/{vpcId}", "/flow/us-east-1/vpc-0abc12345", undefined],
    ["/flow/{accountId}", "/flow/111122223333", "shared"],
    ["/flow.logs/{vpcId}", "/flowXlogs/vpc-0abc12345", undefined],
  ])("%s with %s -> %s", (template, name, expected) => {
    expect(vpcOfLogGroup(template, name, values)).toBe(expected);
  });
});

describe("isOwnChange", () => {
  const lambda = {
    accountId: "111122223333",
    partition: "aws",
    callerArn:
      "arn:aws:sts::111122223333:assumed-role/flowlog-guard-prod-RemediateRole-a1b2/flowlog-guard-prod-Remediate",
  };
  it.each([
    [
      { arn: "arn:aws:sts::111122223333:assumed-role/flowlog-guard-prod-RemediateRole-a1b2/other-session" },
      lambda,
      true,
    ],
    [{ roleArn: "arn:aws:iam::111122223333:role/flowlog-guard-prod-RemediateRole-a1b2" }, lambda, true],
    [{ arn: "arn:aws:sts::111122223333:assumed-role/platform-admin/ci" }, lambda, false],
    [{ type: "AWSService", invokedBy: "ec2.amazonaws.com" }, lambda, false],
    [
      { arn: "arn:aws:iam::111122223333:user/alice" },
      { ...lambda, callerArn: "arn:aws:iam::111122223333:user/alice" },
      false,
    ],
  ])("%o -> %s", (actor, identity, expected) => {
    expect(isOwnChange(actor, identity)).toBe(expected);
  });
});

describe("handleCloudTrailEvent decides before any AWS call", () => {
  const fixture = (name: string) =>
    JSON.parse(
      readFileSync(new URL(`../../../test/fixtures/cloudtrail/${name}.json`, import.meta.url), "utf8"),
    );
  const identity = {
    accountId: "123456789012",
    partition: "aws",
    callerArn:
      "arn:aws:sts::123456789012:assumed-role/flowlog-guard-prod-RemediateRole-a1b2c3/flowlog-guard-prod-Remediate",
  };
  it.each([
    ["logs-put-retention-policy-by-flowlog-guard", "made by flowlog-guard itself"],
    ["ec2-create-tags-name-only", "no flowlog-guard:exception-* tag changed"],
    [
      "ec2-create-tags-not-a-vpc",
      "subnet-0123456789abcdef0: resourceType is VPC, where a subnet is covered by its VPC's flow log",
    ],
    ["iam-delete-role-other-role", "role some-app-role is not the delivery role flowlog-guard-delivery"],
  ])("%s is ignored: %s", async (name, reason) => {
    const pool = createClientPool({ credentials: { accessKeyId: "none", secretAccessKey: "none" } });

    const result = await handleCloudTrailEvent(fixture(name), { policy: parsePolicy({}), pool, identity });

    expect(result).toMatchObject({ status: "ignored", reason });
    expect(pool.counter.total).toBe(0);
  });

  it("ignores flowlog-guard's own PutRolePermissionsBoundary (rolePermissionsBoundary), which the IAM rule matches", async () => {
    const pool = createClientPool({ credentials: { accessKeyId: "none", secretAccessKey: "none" } });
    const event = fixture("iam-put-role-permissions-boundary");
    const ownBoundary = "arn:aws:iam::123456789012:policy/OrgBoundary";
    event.detail.userIdentity = {
      type: "AssumedRole",
      arn: identity.callerArn,
      sessionContext: {
        sessionIssuer: {
          type: "Role",
          arn: "arn:aws:iam::123456789012:role/flowlog-guard-prod-RemediateRole-a1b2c3",
        },
      },
    };
    event.detail.requestParameters.permissionsBoundary = ownBoundary;
    const policy = parsePolicy({ rolePermissionsBoundary: ownBoundary });

    const result = await handleCloudTrailEvent(event, { policy, pool, identity });

    expect(result).toMatchObject({ status: "ignored", reason: "made by flowlog-guard itself" });
    expect(pool.counter.total).toBe(0);
  });

  it("ignores a log group the template does not produce", async () => {
    const pool = createClientPool({ credentials: { accessKeyId: "none", secretAccessKey: "none" } });
    const event = fixture("logs-delete-log-group");
    event.detail.requestParameters.logGroupName = "/aws/vpc-flow-logs/not-a-vpc";

    const result = await handleCloudTrailEvent(event, { policy: parsePolicy({}), pool, identity });

    expect(result.reason).toContain("is not one the template");
    expect(pool.counter.total).toBe(0);
  });
});

describe("CreateVpc grace period", () => {
  const patterns = buildEventPatterns(parsePolicy({}));

  it("0 keeps one EC2 pattern with CreateVpc; more moves CreateVpc to a delayed pattern of its own", () => {
    expect(splitDelayedEvents(patterns, 0)).toEqual({ immediate: patterns });
    const { immediate, delayed } = splitDelayedEvents(patterns, 60);
    expect(delayed!.detail.eventName).toEqual(["CreateVpc"]);
    expect(delayed!.detail.errorCode).toEqual([{ exists: false }]);
    expect(eventNamesOf(immediate.ec2)).toEqual(
      eventNamesOf(patterns.ec2).filter((name) => name !== "CreateVpc"),
    );
    expect(immediate.ec2.detail.$or).toEqual([
      { eventName: ["CreateDefaultVpc", "DeleteFlowLogs"] },
      (patterns.ec2.detail.$or as unknown[])[1],
    ]);
    expect(immediate.logs).toBe(patterns.logs);
  });

  it("in Subnet mode CreateSubnet and CreateDefaultSubnet wait out the grace period with CreateVpc", () => {
    const subnetPatterns = buildEventPatterns(parsePolicy({ resourceType: "Subnet" }));
    const { immediate, delayed } = splitDelayedEvents(subnetPatterns, 60);
    expect(delayed!.detail.eventName).toEqual(["CreateVpc", "CreateSubnet", "CreateDefaultSubnet"]);
    expect(eventNamesOf(immediate.ec2)).toEqual([
      "CreateDefaultVpc",
      "DeleteFlowLogs",
      "CreateTags",
      "DeleteTags",
    ]);
    const now = new Date("2026-11-20T09:10:11Z");
    const eventTime = new Date(now.getTime() - 15_000).toISOString();
    expect(createVpcGraceRemainingMs({ eventName: "CreateSubnet", eventTime }, 60, now)).toBe(45_000);
  });

  it.each([
    ["a fresh CreateVpc waits out the rest of the window", "CreateVpc", 60, 15_000, 45_000],
    ["one older than the window goes at once (the delay queue already waited)", "CreateVpc", 60, 61_000, 0],
    ["grace 0: at once", "CreateVpc", 0, 0, 0],
    ["other events: at once", "DeleteFlowLogs", 60, 0, 0],
    ["a clock ahead of the event never waits longer than the grace", "CreateVpc", 60, -30_000, 60_000],
  ])("%s", (_name, eventName, grace, ageMs, expected) => {
    const now = new Date("2026-11-20T09:10:11Z");
    const eventTime = new Date(now.getTime() - ageMs).toISOString();
    expect(createVpcGraceRemainingMs({ eventName, eventTime }, grace, now)).toBe(expected);
  });
});
