import { describe, expect, it } from "vitest";
import { loadConfig, parsePolicy } from "../src/config.ts";
import { ConfigError } from "../src/errors.ts";
import { policyInForce } from "../src/evidence/compliance-summary.ts";

describe("parsePolicy", () => {
  it("fills the documented defaults", () => {
    expect(parsePolicy({})).toEqual({
      trafficType: "REJECT",
      retentionDays: 365,
      logGroupName: "/aws/vpc-flow-logs/{vpcId}",
      roleName: "flowlog-guard-delivery",
      includeDefaultVpcs: true,
      maxAggregationInterval: 600,
      maxExceptionDays: 365,
      destinationType: "cloud-watch-logs",
      fileFormat: "plain-text",
      hiveCompatiblePartitions: false,
      perHourPartition: false,
      resourceType: "VPC",
      createVpcGraceSeconds: 60,
    });
  });

  it.each([
    [{ trafficType: "ACCEPT" }, "trafficType"],
    [{ retentionDays: 30 }, "at least 365"],
    [{ retentionDays: 366 }, "value CloudWatch Logs accepts"],
    [{ logGroupName: "/flow/{vpc}" }, "unknown placeholder {vpc}"],
    [{ logGroupName: "aws/flow/{vpcId}" }, "cannot start with 'aws/'"],
    [{ logGroupName: "/flow logs/{vpcId}" }, "A-Z a-z 0-9"],
    [{ roleName: "has space" }, "IAM role name"],
    [{ maxAggregationInterval: 300 }, "maxAggregationInterval"],
    [{ logFormat: "${srcaddr} " }, "no leading or trailing space"],
    [{ kmsKeyArn: "alias/mine" }, "KMS key ARN"],
    [{ maxExceptionDays: 0 }, "maxExceptionDays"],
    [{ createVpcGraceSeconds: 901 }, "createVpcGraceSeconds (FLOWLOG_GUARD_CREATE_VPC_GRACE_SECONDS)"],
    [{ createVpcGraceSeconds: -1 }, "createVpcGraceSeconds"],
    [{ surprise: true }, "surprise"],
  ])("rejects %o with a message naming %s", (input, message) => {
    expect(() => parsePolicy(input)).toThrow(ConfigError);
    expect(() => parsePolicy(input)).toThrow(message);
  });

  it("lists every problem at once", () => {
    try {
      parsePolicy({ trafficType: "x", retentionDays: 1 });
      expect.unreachable();
    } catch (error) {
      expect((error as ConfigError).problems).toHaveLength(2);
      expect((error as ConfigError).message).toContain("FLOWLOG_GUARD_TRAFFIC_TYPE");
    }
  });
});

describe("loadConfig (environment)", () => {
  it("reads FLOWLOG_GUARD_* variables with their types", () => {
    const policy = loadConfig({
      FLOWLOG_GUARD_TRAFFIC_TYPE: "ALL",
      FLOWLOG_GUARD_RETENTION_DAYS: "731",
      FLOWLOG_GUARD_INCLUDE_DEFAULT_VPCS: "false",
      FLOWLOG_GUARD_MAX_AGGREGATION_INTERVAL: "60",
      FLOWLOG_GUARD_LEDGER_BUS: "arn:aws:events:eu-west-1:111122223333:event-bus/ledger",
      PATH: "/usr/bin",
    });
    expect(policy).toMatchObject({
      trafficType: "ALL",
      retentionDays: 731,
      includeDefaultVpcs: false,
      maxAggregationInterval: 60,
      ledgerBus: "arn:aws:events:eu-west-1:111122223333:event-bus/ledger",
    });
  });

  it.each([
    [{ FLOWLOG_GUARD_RETENTION_DAY: "365" }, "Unknown environment variable FLOWLOG_GUARD_RETENTION_DAY"],
    [
      { FLOWLOG_GUARD_INCLUDE_DEFAULT_VPCS: "yes" },
      "includeDefaultVpcs (FLOWLOG_GUARD_INCLUDE_DEFAULT_VPCS)",
    ],
    [{ FLOWLOG_GUARD_RETENTION_DAYS: "365 days" }, "retentionDays (FLOWLOG_GUARD_RETENTION_DAYS)"],
  ])("rejects %o", (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });
});

describe("rolePermissionsBoundary (FLOWLOG_GUARD_ROLE_PERMISSIONS_BOUNDARY)", () => {
  it.each([
    "arn:aws:iam::111122223333:policy/OrgBoundary",
    "arn:aws:iam::111122223333:policy/boundaries/team-a/OrgBoundary",
    "arn:aws-us-gov:iam::111122223333:policy/OrgBoundary",
    "arn:aws-cn:iam::aws:policy/PowerUserAccess",
    "arn:aws:iam::{accountId}:policy/OrgBoundary",
  ])("accepts the IAM policy ARN %s, from the environment too", (arn) => {
    expect(parsePolicy({ rolePermissionsBoundary: arn }).rolePermissionsBoundary).toBe(arn);
    expect(loadConfig({ FLOWLOG_GUARD_ROLE_PERMISSIONS_BOUNDARY: arn }).rolePermissionsBoundary).toBe(arn);
  });

  it.each([
    ["OrgBoundary"],
    ["arn:aws:iam::111122223333:role/OrgBoundary"],
    ["arn:aws:iam::1111:policy/OrgBoundary"],
    ["arn:aws:iam:eu-west-1:111122223333:policy/OrgBoundary"],
    ["arn:aws:s3:::bucket/policy/OrgBoundary"],
    ["arn:aws:iam::111122223333:policy/"],
    ["arn:aws:iam::111122223333:policy/Org Boundary"],
    ["arn:aws:iam::{account}:policy/OrgBoundary"],
  ])("refuses %s before any change, naming the variable and the form it takes", (arn) => {
    const env = { FLOWLOG_GUARD_ROLE_PERMISSIONS_BOUNDARY: arn };
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(
      /rolePermissionsBoundary \(FLOWLOG_GUARD_ROLE_PERMISSIONS_BOUNDARY\): an IAM managed policy ARN such as arn:aws:iam::111122223333:policy\/OrgBoundary/,
    );
  });

  it("is refused with an S3 destination, which has no delivery role", () => {
    expect(() =>
      parsePolicy({
        destinationType: "s3",
        logDestination: "arn:aws:s3:::archive",
        rolePermissionsBoundary: "arn:aws:iam::111122223333:policy/OrgBoundary",
      }),
    ).toThrow(/rolePermissionsBoundary.*does not use \(no role is created\); remove it/);
  });

  it("is stated as in force in the evidence reports only when set", () => {
    const arn = "arn:aws:iam::111122223333:policy/OrgBoundary";
    expect(policyInForce(parsePolicy({ rolePermissionsBoundary: arn }))).toContainEqual([
      "Delivery role boundary",
      arn,
    ]);
    expect(policyInForce(parsePolicy({})).map(([name]) => name)).not.toContain("Delivery role boundary");
  });

  it("is absent by default and round-trips through the stacks' environment", async () => {
    const { policyToEnvironment } = await import("../src/config.ts");
    expect(parsePolicy({})).not.toHaveProperty("rolePermissionsBoundary");
    const policy = parsePolicy({ rolePermissionsBoundary: "arn:aws:iam::111122223333:policy/OrgBoundary" });
    expect(policyToEnvironment(policy).FLOWLOG_GUARD_ROLE_PERMISSIONS_BOUNDARY).toBe(
      "arn:aws:iam::111122223333:policy/OrgBoundary",
    );
    expect(loadConfig(policyToEnvironment(policy))).toEqual(policy);
  });
});

describe("policyToEnvironment", () => {
  it("round-trips through loadConfig, so the stacks' config reaches the functions unchanged", async () => {
    const { policyToEnvironment } = await import("../src/config.ts");
    const policy = parsePolicy({
      trafficType: "ALL",
      retentionDays: 731,
      includeDefaultVpcs: false,
      logGroupName: "/flow/{region}/{vpcId}",
      ledgerBus: "arn:aws:events:eu-west-1:111122223333:event-bus/ledger",
    });
    expect(loadConfig(policyToEnvironment(policy))).toEqual(policy);
  });
});
