import { CreateKeyCommand, KMSClient, ReplicateKeyCommand } from "@aws-sdk/client-kms";
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
