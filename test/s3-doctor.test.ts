import { CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import {
  CreateOrganizationCommand,
  DescribeOrganizationCommand,
  OrganizationsClient,
} from "@aws-sdk/client-organizations";
import { PutBucketEncryptionCommand, PutBucketPolicyCommand, S3Client } from "@aws-sdk/client-s3";
import { type DoctorCheck, logArchiveBucketPolicy, parsePolicy, runDoctor } from "@flowlog-guard/core";
import { describe, expect, it } from "vitest";
import { createBucket, testPool } from "./support/aws.ts";
import { runCli } from "./support/cli.ts";

const REGION = "us-east-1";
const ACCOUNT = "123456789012";
const BUCKET = "flow-archive";
const s3Env = (extra: Record<string, string> = {}) => ({
  AWS_REGION: REGION,
  FLOWLOG_GUARD_DESTINATION_TYPE: "s3",
  FLOWLOG_GUARD_LOG_DESTINATION: `arn:aws:s3:::${BUCKET}/vpc`,
  ...extra,
});
const s3 = () => new S3Client({ region: REGION, forcePathStyle: true });

/** The policy `bucket-policy` prints (same core function), applied to the bucket as its owner would. */
async function applyPrintedPolicy(accounts: string[]): Promise<void> {
  const bucketPolicy = logArchiveBucketPolicy({
    partition: "aws",
    bucket: BUCKET,
    prefix: "vpc",
    sources: { accounts },
  });
  await s3().send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: JSON.stringify(bucketPolicy) }));
}

/** doctor's checks in process, rendered one per line as the CLI prints them. */
async function doctor(): Promise<{ stdout: string; checks: DoctorCheck[] }> {
  const checks = await runDoctor({
    pool: testPool(),
    policy: parsePolicy({ destinationType: "s3", logDestination: `arn:aws:s3:::${BUCKET}/vpc` }),
    homeRegion: REGION,
    regions: [REGION],
  });
  const MARK = { ok: "OK  ", warn: "WARN", fail: "FAIL" } as const;
  const stdout = checks
    .map((c) => `${MARK[c.status]}  ${c.name}: ${c.detail}${c.fix ? `\n      fix: ${c.fix}` : ""}`)
    .join("\n");
  return { stdout, checks };
}

async function kmsKey(policy: object): Promise<string> {
  const key = await new KMSClient({ region: REGION }).send(
    new CreateKeyCommand({ Policy: JSON.stringify(policy) }),
  );
  return key.KeyMetadata!.Arn!;
}

const rootOnly = {
  Version: "2012-10-17",
  Statement: [
    { Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: "kms:*", Resource: "*" },
  ],
};

describe("doctor with an S3 destination (moto)", () => {
  it("fails when the bucket does not exist and skips the delivery role check (CLI, exit 3)", async () => {
    const result = await runCli(["doctor", "--regions", REGION], { env: s3Env() });
    expect(result.stdout).toMatch(/FAIL {2}S3 destination bucket flow-archive: does not exist/);
    expect(result.stdout).toContain("create the bucket");
    expect(result.stdout).not.toContain("delivery role");
    expect(result.code).toBe(3);
  });

  it("accepts the policy `bucket-policy` prints, and refuses one made for another account", async () => {
    await createBucket(testPool(), REGION, BUCKET);
    await applyPrintedPolicy(["111122223333"]);
    const refused = await doctor();
    expect(refused.stdout).toMatch(
      /FAIL {2}bucket policy of flow-archive .*s3:PutObject us-east-1: not-granted/,
    );
    expect(refused.stdout).toContain(
      `fix: apply the statements \`flowlog-guard bucket-policy --bucket ${BUCKET} --accounts ${ACCOUNT} --prefix vpc\``,
    );

    await applyPrintedPolicy(["111122223333", ACCOUNT]);
    const accepted = await doctor();
    expect(accepted.stdout).toMatch(
      /OK {4}bucket policy of flow-archive .*allows delivery in 1 region\(s\), with source conditions/,
    );
    expect(accepted.stdout).toMatch(
      /OK {4}S3 destination bucket flow-archive: exists and is reachable \(this account's\)/,
    );
    expect(accepted.stdout).toMatch(/OK {4}encryption key of flow-archive: /);
  });

  it("warns about a policy without source conditions, and about a bucket with no policy", async () => {
    await createBucket(testPool(), REGION, BUCKET);
    expect((await doctor()).stdout).toMatch(
      /WARN {2}bucket policy of flow-archive .*the bucket has no policy/,
    );
    await s3().send(
      new PutBucketPolicyCommand({
        Bucket: BUCKET,
        Policy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Allow",
              Principal: { Service: "delivery.logs.amazonaws.com" },
              Action: ["s3:PutObject", "s3:GetBucketAcl"],
              Resource: [`arn:aws:s3:::${BUCKET}`, `arn:aws:s3:::${BUCKET}/*`],
            },
          ],
        }),
      }),
    );
    expect((await doctor()).stdout).toMatch(/WARN {2}bucket policy .*without aws:SourceAccount/);
  });

  it("checks an SSE-KMS key: named by ARN, and its policy allowing the delivery service", async () => {
    await createBucket(testPool(), REGION, BUCKET);
    await applyPrintedPolicy([ACCOUNT]);
    const encrypt = (keyId: string) =>
      s3().send(
        new PutBucketEncryptionCommand({
          Bucket: BUCKET,
          ServerSideEncryptionConfiguration: {
            Rules: [
              { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "aws:kms", KMSMasterKeyID: keyId } },
            ],
          },
        }),
      );
    const closed = await kmsKey(rootOnly);
    await encrypt(closed.split("/").pop()!);
    expect((await doctor()).stdout).toMatch(/FAIL {2}encryption key of flow-archive: .*needs the key ARN/);

    await encrypt(closed);
    const refused = await doctor();
    expect(refused.stdout).toMatch(
      /FAIL {2}key policy of arn:aws:kms:.*log delivery may not use the key \(not-granted\)/,
    );
    expect(refused.stdout).toContain("allow delivery.logs.amazonaws.com kms:Encrypt");

    const open = await kmsKey({
      ...rootOnly,
      Statement: [
        ...rootOnly.Statement,
        {
          Effect: "Allow",
          Principal: { Service: "delivery.logs.amazonaws.com" },
          Action: ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
          Resource: "*",
          Condition: { StringEquals: { "aws:SourceAccount": [ACCOUNT] } },
        },
      ],
    });
    await encrypt(open);
    expect((await doctor()).stdout).toMatch(/OK {4}key policy of arn:aws:kms:.*lets log delivery encrypt/);
  });
});

describe("iam-policy with an S3 destination (moto)", () => {
  const actionsOf = (stdout: string): string[] =>
    JSON.parse(stdout).Statement.flatMap((statement: { Action: string | string[] }) =>
      [statement.Action].flat(),
    );

  it("grants the bucket-policy actions only while our own bucket lacks a delivery statement", async () => {
    await createBucket(testPool(), REGION, BUCKET);
    const before = await runCli(["iam-policy"], { env: s3Env() });
    expect(before.code).toBe(0);
    expect(actionsOf(before.stdout)).toEqual(
      expect.arrayContaining(["s3:GetBucketPolicy", "s3:PutBucketPolicy"]),
    );
    expect(actionsOf(before.stdout).filter((action) => action.startsWith("iam:"))).toEqual([]);
    expect(before.stderr).toContain("apply `flowlog-guard bucket-policy` to the bucket first");

    await applyPrintedPolicy([ACCOUNT]);
    const after = await runCli(["iam-policy"], { env: s3Env() });
    expect(actionsOf(after.stdout)).not.toContain("s3:PutBucketPolicy");
    expect(actionsOf(after.stdout)).toContain("logs:CreateLogDelivery");
  });
});

describe("bucket-policy (moto for STS and Organizations)", () => {
  it("defaults to the caller's account and takes the organization for --accounts all", async () => {
    const own = await runCli(["bucket-policy", "--bucket", BUCKET, "--quiet"], {
      env: { AWS_REGION: REGION },
    });
    expect(
      JSON.parse(own.stdout).bucketPolicy.Statement[1].Condition.StringEquals["aws:SourceAccount"],
    ).toEqual([ACCOUNT]);

    const noOrg = await runCli(["bucket-policy", "--bucket", BUCKET, "--accounts", "all"], {
      env: { AWS_REGION: REGION },
    });
    expect(noOrg.code).toBe(2);
    expect(noOrg.stderr).toContain("--organization-id");

    const organizations = new OrganizationsClient({ region: REGION });
    await organizations.send(new CreateOrganizationCommand({ FeatureSet: "ALL" }));
    const orgId = (await organizations.send(new DescribeOrganizationCommand({}))).Organization!.Id!;
    const all = await runCli(["bucket-policy", "--bucket", BUCKET, "--accounts", "all"], {
      env: { AWS_REGION: REGION },
    });
    expect(all.code).toBe(0);
    const policy = JSON.parse(all.stdout).bucketPolicy;
    expect(policy.Statement[1].Condition.StringEquals["aws:SourceOrgID"]).toBe(orgId);
    expect(policy.Statement[1].Resource).toEqual([`arn:aws:s3:::${BUCKET}/AWSLogs/*`]);
    expect(all.stderr).toContain(`aws s3api put-bucket-policy --bucket ${BUCKET}`);
  });

  it("refuses bad input with the fix and prints nothing", async () => {
    const result = await runCli(["bucket-policy", "--bucket", BUCKET, "--accounts", "12345,abc"]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain("--accounts takes all, or 12-digit account ids");
  });
});
