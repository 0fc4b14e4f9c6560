import { CreateKeyCommand, DisableKeyCommand, KMSClient, ReplicateKeyCommand } from "@aws-sdk/client-kms";
import { describe, expect, it } from "vitest";
import { createVpc, flowLogsOf, logGroup, testPool } from "./support/aws.ts";
import { runCli } from "./support/cli.ts";

async function createKey(region: string, multiRegion = false): Promise<string> {
  const key = await new KMSClient({ region }).send(new CreateKeyCommand({ MultiRegion: multiRegion }));
  return key.KeyMetadata!.Arn!;
}

describe("KMS keys per region (CLI on moto)", () => {
  it("encrypts each region's new log groups with that region's key", async () => {
    const pool = testPool();
    const [eu, us] = [await createKey("eu-west-1"), await createKey("us-east-1")];
    const euVpc = await createVpc(pool, "eu-west-1");
    const usVpc = await createVpc(pool, "us-east-1");
    const fix = await runCli([
      "fix-all",
      "--regions",
      "eu-west-1,us-east-1",
      "--kms-key-arn",
      `eu-west-1=${eu}`,
      "--kms-key-arn",
      us,
      "--json",
    ]);
    expect(fix.code, fix.stderr).toBe(0);
    expect((await logGroup(pool, "eu-west-1", `/aws/vpc-flow-logs/${euVpc}`))?.kmsKeyId).toBe(eu);
    expect((await logGroup(pool, "us-east-1", `/aws/vpc-flow-logs/${usVpc}`))?.kmsKeyId).toBe(us);
  });

  it("gives every region a multi-Region key's replica", async () => {
    const pool = testPool();
    const primary = await createKey("eu-west-1", true);
    await new KMSClient({ region: "eu-west-1" }).send(
      // moto looks the key up by id only.
      new ReplicateKeyCommand({ KeyId: primary.split("/").pop(), ReplicaRegion: "us-east-1" }),
    );
    const usVpc = await createVpc(pool, "us-east-1");
    const fix = await runCli(["fix-all", "--regions", "us-east-1", "--json"], {
      env: { FLOWLOG_GUARD_KMS_KEY_ARN: primary },
    });
    expect(fix.code, fix.stderr).toBe(0);
    expect((await logGroup(pool, "us-east-1", `/aws/vpc-flow-logs/${usVpc}`))?.kmsKeyId).toBe(
      primary.replace(":eu-west-1:", ":us-east-1:"),
    );
  });

  it("refuses a run that leaves a region without a key, naming it and the fix; nothing changes", async () => {
    const pool = testPool();
    const eu = await createKey("eu-west-1");
    const euVpc = await createVpc(pool, "eu-west-1");
    const apVpc = await createVpc(pool, "ap-south-1");
    const fix = await runCli(["fix-all", "--regions", "eu-west-1,ap-south-1", "--kms-key-arn", eu]);
    expect(fix.code).toBe(2);
    expect(fix.stderr).toContain("no KMS key for region ap-south-1");
    expect(fix.stderr).toContain("--kms-key-arn ap-south-1=arn:aws:kms:ap-south-1:");
    expect(await flowLogsOf(pool, "eu-west-1", euVpc)).toHaveLength(0);
    expect(await flowLogsOf(pool, "ap-south-1", apVpc)).toHaveLength(0);
    const mismatch = await runCli(["scan", "--regions", "eu-west-1", "--kms-key-arn", `us-east-1=${eu}`]);
    expect(mismatch.code).toBe(2);
    expect(mismatch.stderr).toContain("is in eu-west-1, not us-east-1");
  });
});

const ACCOUNT = "123456789012";

/** A key policy: the account's root, plus CloudWatch Logs of `logsRegion` when given (AWS's documented statement). */
function keyPolicy(logsRegion?: string): string {
  const statements: object[] = [
    { Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: "kms:*", Resource: "*" },
  ];
  if (logsRegion)
    statements.push({
      Effect: "Allow",
      Principal: { Service: `logs.${logsRegion}.amazonaws.com` },
      Action: ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
      Resource: "*",
      Condition: {
        ArnLike: {
          "kms:EncryptionContext:aws:logs:arn": `arn:aws:logs:${logsRegion}:${ACCOUNT}:log-group:*`,
        },
      },
    });
  return JSON.stringify({ Version: "2012-10-17", Statement: statements });
}

async function doctorChecks(
  args: string[],
): Promise<{ name: string; status: string; detail: string; fix?: string }[]> {
  const result = await runCli(["doctor", "--json", ...args], { env: { AWS_REGION: "eu-west-1" } });
  return (JSON.parse(result.stdout).checks as { name: string; status: string; detail: string }[]).filter(
    (check) => check.name.startsWith("KMS key"),
  );
}

describe("doctor checks each region's KMS key (moto)", () => {
  it("passes a key whose policy admits logs.<region>.amazonaws.com, and fails one that does not", async () => {
    const kms = new KMSClient({ region: "eu-west-1" });
    const open = (await kms.send(new CreateKeyCommand({ Policy: keyPolicy("eu-west-1") }))).KeyMetadata!.Arn!;
    const [ok] = await doctorChecks(["--regions", "eu-west-1", "--kms-key-arn", open]);
    expect(ok).toMatchObject({ name: "KMS key for eu-west-1", status: "ok" });
    expect(ok?.detail).toContain("lets logs.eu-west-1.amazonaws.com use it");

    // A statement for another region's CloudWatch Logs does not count.
    const wrongRegion = (await kms.send(new CreateKeyCommand({ Policy: keyPolicy("us-east-1") })))
      .KeyMetadata!.Arn!;
    const [closed] = await doctorChecks(["--regions", "eu-west-1", "--kms-key-arn", wrongRegion]);
    expect(closed).toMatchObject({ status: "fail" });
    expect(closed?.detail).toContain("does not let logs.eu-west-1.amazonaws.com use it (not-granted)");
    expect(closed?.fix).toContain('Principal {"Service": "logs.eu-west-1.amazonaws.com"}');
  });

  it("fails a multi-Region key's missing replica, a disabled key, and a region without a key", async () => {
    const kms = new KMSClient({ region: "eu-west-1" });
    const primary = (
      await kms.send(new CreateKeyCommand({ MultiRegion: true, Policy: keyPolicy("eu-west-1") }))
    ).KeyMetadata!;
    const checks = await doctorChecks(["--regions", "eu-west-1,us-east-1", "--kms-key-arn", primary.Arn!]);
    expect(checks.map((check) => [check.name, check.status])).toEqual([
      ["KMS key for eu-west-1", "ok"],
      ["KMS key for us-east-1", "fail"],
    ]);
    expect(checks[1]?.detail).toContain(
      `replica ${primary.Arn!.replace(":eu-west-1:", ":us-east-1:")} does not exist`,
    );
    expect(checks[1]?.fix).toContain(
      `aws kms replicate-key --key-id ${primary.KeyId} --replica-region us-east-1`,
    );

    const disabled = (await kms.send(new CreateKeyCommand({ Policy: keyPolicy("eu-west-1") }))).KeyMetadata!;
    await kms.send(new DisableKeyCommand({ KeyId: disabled.KeyId }));
    const uncovered = await doctorChecks([
      "--regions",
      "eu-west-1,ap-south-1",
      "--kms-key-arn",
      disabled.Arn!,
    ]);
    expect(uncovered.map((check) => [check.name, check.status])).toEqual([
      ["KMS keys per region", "fail"],
      ["KMS key for eu-west-1", "fail"],
    ]);
    expect(uncovered[0]?.detail).toContain("no KMS key for region ap-south-1");
    expect(uncovered[1]?.detail).toContain("is Disabled");
  });
});
