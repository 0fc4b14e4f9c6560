import { describe, expect, it } from "vitest";
import {
  BUCKET_POLICY_MAX_BYTES,
  bucketPolicySize,
  checkBucketPolicyForDelivery,
  checkKeyPolicyForDelivery,
  type DeliveryTarget,
  logArchiveBucketPolicy,
  logArchiveLifecycleConfiguration,
} from "../src/bucket-policy.ts";
import { loadConfig, parsePolicy, policyToEnvironment } from "../src/config.ts";
import { ConfigError } from "../src/errors.ts";
import type { FlowLogFacts } from "../src/model.ts";
import { evaluateServiceGrant, wildcardMatches } from "../src/resource-policy-check.ts";
import { evaluateS3Coverage } from "../src/s3-coverage.ts";
import { parseS3Destination, s3DestinationArn, sameS3Destination } from "../src/s3-destination.ts";
import { needsBucketPolicyAccess, servicePolicyDocument } from "../src/service-policy.ts";

const ARCHIVE = "arn:aws:s3:::org-log-archive/vpc";

describe("destination settings", () => {
  it("defaults to today's behaviour: CloudWatch Logs, one flow log per VPC", () => {
    expect(parsePolicy({})).toMatchObject({
      destinationType: "cloud-watch-logs",
      fileFormat: "plain-text",
      hiveCompatiblePartitions: false,
      perHourPartition: false,
      resourceType: "VPC",
    });
    expect(parsePolicy({}).logDestination).toBeUndefined();
  });

  it("accepts an S3 destination with every file option, from FLOWLOG_GUARD_* variables", () => {
    const policy = loadConfig({
      FLOWLOG_GUARD_DESTINATION_TYPE: "s3",
      FLOWLOG_GUARD_LOG_DESTINATION: ARCHIVE,
      FLOWLOG_GUARD_FILE_FORMAT: "parquet",
      FLOWLOG_GUARD_HIVE_COMPATIBLE_PARTITIONS: "true",
      FLOWLOG_GUARD_PER_HOUR_PARTITION: "TRUE",
      FLOWLOG_GUARD_RESOURCE_TYPE: "Subnet",
    });
    expect(policy).toMatchObject({
      destinationType: "s3",
      logDestination: ARCHIVE,
      fileFormat: "parquet",
      hiveCompatiblePartitions: true,
      perHourPartition: true,
      resourceType: "Subnet",
    });
    expect(loadConfig(policyToEnvironment(policy))).toEqual(policy);
  });

  it.each([
    [
      { destinationType: "s3" },
      "logDestination (FLOWLOG_GUARD_LOG_DESTINATION): required with destinationType s3",
    ],
    [{ destinationType: "S3", logDestination: ARCHIVE }, "destinationType"],
    [{ logDestination: ARCHIVE }, "only used with destinationType s3"],
    [
      { fileFormat: "parquet" },
      "fileFormat (FLOWLOG_GUARD_FILE_FORMAT): is only valid with destinationType s3",
    ],
    [{ hiveCompatiblePartitions: true }, "hiveCompatiblePartitions"],
    [{ perHourPartition: true }, "perHourPartition (FLOWLOG_GUARD_PER_HOUR_PARTITION)"],
    [{ destinationType: "s3", logDestination: "s3://bucket" }, "not s3://"],
    [{ destinationType: "s3", logDestination: "arn:aws:s3:::Bad_Bucket" }, "not an S3 bucket name"],
    [{ destinationType: "s3", logDestination: "arn:aws:s3:::ok-bucket/AWSLogs" }, "'AWSLogs'"],
    [{ destinationType: "s3", logDestination: "arn:aws:s3:::ok-bucket//x" }, "single /"],
    [
      {
        destinationType: "s3",
        logDestination: ARCHIVE,
        kmsKeyArn: "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
      },
      "bucket's default encryption",
    ],
    [{ destinationType: "s3", logDestination: ARCHIVE, fileFormat: "csv" }, "fileFormat"],
    [{ resourceType: "NetworkInterface" }, "resourceType"],
  ])("refuses %o with a message naming %s", (input, message) => {
    expect(() => parsePolicy(input)).toThrow(ConfigError);
    expect(() => parsePolicy(input)).toThrow(message);
  });

  it("refuses a boolean that is not true or false, naming the variable", () => {
    expect(() =>
      loadConfig({
        FLOWLOG_GUARD_DESTINATION_TYPE: "s3",
        FLOWLOG_GUARD_LOG_DESTINATION: ARCHIVE,
        FLOWLOG_GUARD_PER_HOUR_PARTITION: "yes",
      }),
    ).toThrow("perHourPartition (FLOWLOG_GUARD_PER_HOUR_PARTITION)");
  });
});

describe("S3 destination ARNs", () => {
  it("splits bucket and prefix, ignoring a trailing slash", () => {
    expect(parseS3Destination("arn:aws-cn:s3:::archive/a/b/")).toEqual({
      partition: "aws-cn",
      bucket: "archive",
      prefix: "a/b",
    });
    expect(parseS3Destination("arn:aws:s3:::archive")).toEqual({
      partition: "aws",
      bucket: "archive",
      prefix: "",
    });
    expect(parseS3Destination("arn:aws:logs:::archive")).toBeUndefined();
    expect(s3DestinationArn(parseS3Destination("arn:aws:s3:::archive/a/")!)).toBe("arn:aws:s3:::archive/a");
    expect(sameS3Destination("arn:aws:s3:::archive/a/", "arn:aws:s3:::archive/a")).toBe(true);
    expect(sameS3Destination("arn:aws:s3:::archive/a", "arn:aws:s3:::archive/b")).toBe(false);
  });
});

const target = (overrides: Partial<DeliveryTarget> = {}): DeliveryTarget => ({
  partition: "aws",
  bucket: "org-log-archive",
  prefix: "vpc",
  accountId: "111122223333",
  region: "eu-west-1",
  hive: false,
  ...overrides,
});

describe("log-archive bucket policy", () => {
  const accounts = ["111122223333", "444455556666"];
  const policy = logArchiveBucketPolicy({
    partition: "aws",
    bucket: "org-log-archive",
    prefix: "vpc",
    sources: { accounts },
  });

  it("grants delivery.logs.amazonaws.com PutObject per account with AWS's documented conditions", () => {
    const write = policy.Statement.find((s) => s.Sid === "AWSLogDeliveryWrite");
    expect(write).toMatchObject({
      Principal: { Service: "delivery.logs.amazonaws.com" },
      Action: "s3:PutObject",
      Condition: {
        StringEquals: { "aws:SourceAccount": accounts, "s3:x-amz-acl": "bucket-owner-full-control" },
        ArnLike: { "aws:SourceArn": ["arn:aws:logs:*:111122223333:*", "arn:aws:logs:*:444455556666:*"] },
      },
    });
    expect(write?.Resource).toEqual([
      "arn:aws:s3:::org-log-archive/vpc/AWSLogs/111122223333/*",
      "arn:aws:s3:::org-log-archive/vpc/AWSLogs/aws-account-id=111122223333/*",
      "arn:aws:s3:::org-log-archive/vpc/AWSLogs/444455556666/*",
      "arn:aws:s3:::org-log-archive/vpc/AWSLogs/aws-account-id=444455556666/*",
    ]);
    const acl = policy.Statement.find((s) => s.Sid === "AWSLogDeliveryAclCheck");
    expect(acl).toMatchObject({
      Action: ["s3:GetBucketAcl", "s3:ListBucket"],
      Resource: "arn:aws:s3:::org-log-archive",
    });
  });

  it("is read back by the doctor's check as allowing each listed account, in both layouts, and no other", () => {
    for (const accountId of accounts) {
      for (const hive of [false, true]) {
        const verdict = checkBucketPolicyForDelivery(policy, target({ accountId, hive }));
        expect(verdict.write).toMatchObject({ decision: "allowed", sourceConditioned: true });
        expect(verdict.aclCheck.decision).toBe("allowed");
      }
    }
    expect(checkBucketPolicyForDelivery(policy, target({ accountId: "999999999999" })).write.decision).toBe(
      "not-granted",
    );
    expect(checkBucketPolicyForDelivery(policy, target({ prefix: "other" })).write.decision).toBe(
      "not-granted",
    );
  });

  it("covers a whole organization with aws:SourceOrgID and one resource", () => {
    const org = logArchiveBucketPolicy({
      partition: "aws",
      bucket: "b-1",
      sources: { organizationId: "o-abc123" },
    });
    const write = org.Statement.find((s) => s.Sid === "AWSLogDeliveryWrite")!;
    expect(write.Resource).toEqual(["arn:aws:s3:::b-1/AWSLogs/*"]);
    expect(write.Condition?.StringEquals).toEqual({
      "aws:SourceOrgID": "o-abc123",
      "s3:x-amz-acl": "bucket-owner-full-control",
    });
    const base = target({ bucket: "b-1", prefix: "" });
    expect(checkBucketPolicyForDelivery(org, { ...base, organizationId: "o-abc123" }).write.decision).toBe(
      "allowed",
    );
    expect(checkBucketPolicyForDelivery(org, { ...base, organizationId: "o-zzz" }).write.decision).toBe(
      "not-granted",
    );
    expect(checkBucketPolicyForDelivery(org, base).write.decision).toBe("unsure");
  });

  it("stays under S3's 20 KB limit for dozens of accounts, and says so when it would not", () => {
    const many = (n: number) =>
      bucketPolicySize(
        logArchiveBucketPolicy({
          partition: "aws",
          bucket: "org-log-archive",
          sources: { accounts: Array.from({ length: n }, (_, i) => String(100000000000 + i)) },
        }),
      );
    expect(many(40)).toBeLessThan(BUCKET_POLICY_MAX_BYTES);
    expect(many(200)).toBeGreaterThan(BUCKET_POLICY_MAX_BYTES);
  });

  it("moves the flow-log folders to cheaper classes and expires nothing", () => {
    const [rule] = logArchiveLifecycleConfiguration("vpc").Rules;
    expect(rule?.Filter).toEqual({ Prefix: "vpc/AWSLogs/" });
    expect(rule?.Transitions.map((t) => t.StorageClass)).toEqual(["STANDARD_IA", "GLACIER_IR"]);
    expect(rule).not.toHaveProperty("Expiration");
  });
});

describe("resource policy check", () => {
  const write = (statement: object) =>
    checkBucketPolicyForDelivery({ Version: "2012-10-17", Statement: [statement as never] }, target()).write;

  it("matches IAM wildcards", () => {
    expect(wildcardMatches("arn:aws:s3:::b/*", "arn:aws:s3:::b/x/y")).toBe(true);
    expect(wildcardMatches("s3:Put?bject", "s3:PutObject")).toBe(true);
    expect(wildcardMatches("arn:aws:s3:::b", "arn:aws:s3:::b/x")).toBe(false);
  });

  it("reports an allow without source conditions as allowed but unconditioned (confused deputy)", () => {
    expect(
      write({
        Effect: "Allow",
        Principal: { Service: "delivery.logs.amazonaws.com" },
        Action: "s3:*",
        Resource: "arn:aws:s3:::org-log-archive/*",
      }),
    ).toEqual({ decision: "allowed", sourceConditioned: false, notes: [] });
  });

  it("refuses when the conditions name another account, and lets an explicit deny win", () => {
    expect(
      write({
        Effect: "Allow",
        Principal: { Service: "delivery.logs.amazonaws.com" },
        Action: "s3:PutObject",
        Resource: "*",
        Condition: { StringEquals: { "aws:SourceAccount": "999999999999" } },
      }).decision,
    ).toBe("not-granted");
    const verdict = checkBucketPolicyForDelivery(
      {
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Principal: { Service: "delivery.logs.amazonaws.com" },
            Action: "s3:PutObject",
            Resource: "*",
          },
          { Sid: "NoWrites", Effect: "Deny", Principal: { AWS: "*" }, Action: "s3:Put*", Resource: "*" },
        ],
      },
      target(),
    );
    expect(verdict.write).toMatchObject({
      decision: "denied",
      notes: ["statement NoWrites denies s3:PutObject"],
    });
  });

  it("is unsure, never allowed, about conditions it cannot evaluate", () => {
    expect(
      write({
        Effect: "Allow",
        Principal: { Service: "delivery.logs.amazonaws.com" },
        Action: "s3:PutObject",
        Resource: "*",
        Condition: { IpAddress: { "aws:SourceIp": "10.0.0.0/8" } },
      }).decision,
    ).toBe("unsure");
    expect(
      evaluateServiceGrant(undefined, { service: "x", action: "y", resource: "z", context: {} }).decision,
    ).toBe("not-granted");
  });

  it("reads a key policy for the delivery service's kms:GenerateDataKey*", () => {
    const key = (actions: string[]) =>
      checkKeyPolicyForDelivery(
        {
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Allow",
              Principal: { Service: "delivery.logs.amazonaws.com" },
              Action: actions,
              Resource: "*",
              Condition: { StringEquals: { "aws:SourceAccount": ["111122223333"] } },
            },
          ],
        },
        target(),
      ).decision;
    expect(key(["kms:Encrypt", "kms:GenerateDataKey*"])).toBe("allowed");
    expect(key(["kms:Decrypt"])).toBe("not-granted");
  });
});

describe("service policy follows the destination", () => {
  const base = parsePolicy({});
  const s3 = parsePolicy({ destinationType: "s3", logDestination: ARCHIVE });
  const actionsOf = (document: ReturnType<typeof servicePolicyDocument>) =>
    document.Statement.flatMap((statement) => [statement.Action].flat());

  it("S3 mode needs no role or log-group action, but logs:CreateLogDelivery", () => {
    const actions = actionsOf(
      servicePolicyDocument({ partition: "aws", accountId: "111122223333", policy: s3 }),
    );
    expect(actions.filter((a) => a.startsWith("iam:"))).toEqual([]);
    expect(actions).not.toContain("logs:CreateLogGroup");
    expect(actions).not.toContain("logs:DescribeLogGroups");
    expect(actions).toEqual(
      expect.arrayContaining(["logs:CreateLogDelivery", "logs:DeleteLogDelivery", "ec2:CreateFlowLogs"]),
    );
    expect(actions).not.toContain("s3:PutBucketPolicy");
  });

  it("adds the bucket-policy actions only when AWS must attach the delivery statement to our own bucket", () => {
    expect(needsBucketPolicyAccess({ ownedByCaller: true, deliveryAllowed: false })).toBe(true);
    expect(needsBucketPolicyAccess({ ownedByCaller: true, deliveryAllowed: true })).toBe(false);
    expect(needsBucketPolicyAccess({ ownedByCaller: false, deliveryAllowed: false })).toBe(false);
    const document = servicePolicyDocument({
      partition: "aws",
      accountId: "111122223333",
      policy: s3,
      bucketPolicyAccess: true,
    });
    expect(document.Statement.find((s) => s.Sid === "LetAwsAttachDeliveryBucketPolicy")).toEqual({
      Sid: "LetAwsAttachDeliveryBucketPolicy",
      Effect: "Allow",
      Action: ["s3:GetBucketPolicy", "s3:PutBucketPolicy"],
      Resource: "arn:aws:s3:::org-log-archive",
    });
  });

  it("CloudWatch mode keeps its role and log-group statements; Subnet mode reads and targets subnets", () => {
    const cwl = servicePolicyDocument({ partition: "aws", accountId: "111122223333", policy: base });
    expect(actionsOf(cwl)).toEqual(expect.arrayContaining(["iam:PassRole", "logs:CreateLogGroup"]));
    expect(actionsOf(cwl)).not.toContain("ec2:DescribeSubnets");
    const subnets = servicePolicyDocument({
      partition: "aws",
      accountId: "111122223333",
      policy: parsePolicy({ resourceType: "Subnet" }),
    });
    expect(actionsOf(subnets)).toContain("ec2:DescribeSubnets");
    expect(subnets.Statement.find((s) => s.Sid === "CreateFlowLogs")?.Resource).toContain(
      "arn:aws:ec2:*:111122223333:subnet/*",
    );
  });
});

describe("S3-mode coverage (pure)", () => {
  const flowLog = (overrides: Partial<FlowLogFacts>): FlowLogFacts => ({
    flowLogId: "fl-1",
    resourceId: "vpc-1",
    flowLogStatus: "ACTIVE",
    deliverLogsStatus: "SUCCESS",
    deliverLogsErrorMessage: undefined,
    trafficType: "REJECT",
    destinationType: "cloud-watch-logs",
    logGroupName: "/team/flow",
    logDestination: undefined,
    managed: false,
    ...overrides,
  });
  const policy = { logDestination: ARCHIVE, trafficType: "REJECT" as const };

  it("keeps a VPC with a qualifying flow log of any destination compliant and plans nothing", () => {
    for (const existing of [
      flowLog({}),
      flowLog({
        destinationType: "s3",
        logDestination: "arn:aws:s3:::other",
        logGroupName: undefined,
        managed: true,
      }),
    ]) {
      expect(evaluateS3Coverage([existing], policy, "111122223333")).toMatchObject({
        status: "compliant",
        needsFlowLog: false,
        flowLogIds: ["fl-1"],
      });
    }
  });

  it("reports our S3 flow log that the bucket refuses with why and the fix, without planning another", () => {
    const refused = flowLog({
      destinationType: "s3",
      logDestination: `${ARCHIVE}/`,
      logGroupName: undefined,
      deliverLogsStatus: "FAILED",
      deliverLogsErrorMessage: "Access error",
      managed: true,
    });
    const verdict = evaluateS3Coverage([refused], policy, "111122223333");
    expect(verdict).toMatchObject({ status: "non-compliant", needsFlowLog: false, flowLogIds: ["fl-1"] });
    expect(verdict.reason).toContain("fl-1 fails delivery (Access error)");
    expect(verdict.reason).toContain(
      "`flowlog-guard bucket-policy --bucket org-log-archive --accounts 111122223333 --prefix vpc`",
    );
    expect(verdict.reason).toContain("does not change bucket policies");
  });

  it("does not count a customer's REJECT-only S3 flow log when the policy asks ALL: plans an ALL one", () => {
    const rejectOnly = flowLog({
      destinationType: "s3",
      logDestination: "arn:aws:s3:::team",
      logGroupName: undefined,
    });
    expect(evaluateS3Coverage([rejectOnly], policy, "1")).toMatchObject({ status: "compliant" });
    const verdict = evaluateS3Coverage([rejectOnly], { ...policy, trafficType: "ALL" }, "1");
    expect(verdict).toMatchObject({ status: "non-compliant", needsFlowLog: true, flowLogIds: [] });
    expect(verdict.reason).toBe(
      "no qualifying flow log: flow log fl-1 captures only REJECT traffic; the policy asks ALL",
    );
  });

  it("plans a flow log when the only one delivers nowhere (a refusing bucket elsewhere, or REJECT-less)", () => {
    const elsewhere = flowLog({
      destinationType: "s3",
      logDestination: "arn:aws:s3:::old-bucket",
      logGroupName: undefined,
      deliverLogsStatus: "FAILED",
      deliverLogsErrorMessage: "Access error",
    });
    const verdict = evaluateS3Coverage(
      [elsewhere, flowLog({ flowLogId: "fl-2", trafficType: "ACCEPT" })],
      policy,
      "1",
    );
    expect(verdict).toMatchObject({ status: "non-compliant", needsFlowLog: true });
    expect(verdict.reason).toContain("bucket old-bucket refuses delivery.logs.amazonaws.com");
    expect(verdict.reason).toContain("flow log fl-2 captures only ACCEPT traffic; the policy asks REJECT");
  });
});
