import {
  CreateLogGroupCommand,
  DisassociateKmsKeyCommand,
  PutRetentionPolicyCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import { CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { parsePolicy } from "@flowlog-guard/core";
import { createRemediateHandler, type RemediateResult } from "@flowlog-guard/functions/remediate-handler";
import { createRuntime } from "@flowlog-guard/functions/runtime";
import { describe, expect, it } from "vitest";
import { createVpc, logGroup, run, testPool } from "./support/aws.ts";
import { deployRules, FIXTURE_VPC, fixture, putCloudTrailEvent } from "./support/events.ts";

const REGION = "eu-west-1";

async function createKey(): Promise<string> {
  return (await new KMSClient({ region: REGION }).send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
}

const changesOf = (report: Awaited<ReturnType<typeof run>>) => [
  ...report.vpcs.flatMap((vpc) => vpc.changes),
  ...report.sharedChanges,
];

describe("a managed log group keeps its region's KMS key (moto)", () => {
  it("fix-all gives a disassociated managed group its key back, recorded before and after; then changes nothing", async () => {
    const pool = testPool();
    const key = await createKey();
    const vpcId = await createVpc(pool, REGION);
    const group = `/aws/vpc-flow-logs/${vpcId}`;
    await run(pool, { regions: [REGION], policy: { kmsKeyArn: key } });
    expect((await logGroup(pool, REGION, group))?.kmsKeyId).toBe(key);

    await pool.clientsFor(REGION).logs.send(new DisassociateKmsKeyCommand({ logGroupName: group }));
    expect((await logGroup(pool, REGION, group))?.kmsKeyId).toBeUndefined();
    const scan = await run(pool, {
      regions: [REGION],
      vpcIds: [vpcId],
      mode: "scan",
      policy: { kmsKeyArn: key },
    });
    expect(scan.vpcs[0]).toMatchObject({ status: "non-compliant" });
    expect(scan.vpcs[0]?.reason).toContain(`managed log group ${group} has no KMS key, not ${key}`);

    const fix = await run(pool, { regions: [REGION], vpcIds: [vpcId], policy: { kmsKeyArn: key } });
    expect((await logGroup(pool, REGION, group))?.kmsKeyId).toBe(key);
    expect(changesOf(fix)).toEqual([
      expect.objectContaining({
        action: "associate-kms-key",
        vpcId,
        target: expect.objectContaining({ type: "log-group", id: group }),
        before: { kmsKeyId: null },
        after: { kmsKeyId: key },
        outcome: "applied",
      }),
    ]);
    const again = await run(pool, { regions: [REGION], vpcIds: [vpcId], policy: { kmsKeyArn: key } });
    expect(changesOf(again)).toEqual([]);
    expect(again.vpcs[0]?.status).toBe("compliant");
  });

  it("never touches a customer's log group (no managed tag), even one flowlog-guard delivers into", async () => {
    const pool = testPool();
    const key = await createKey();
    const vpcId = await createVpc(pool, REGION);
    const group = `/aws/vpc-flow-logs/${vpcId}`;
    const logs = pool.clientsFor(REGION).logs;
    await logs.send(new CreateLogGroupCommand({ logGroupName: group, tags: { team: "network" } }));
    await logs.send(new PutRetentionPolicyCommand({ logGroupName: group, retentionInDays: 400 }));

    const fix = await run(pool, { regions: [REGION], vpcIds: [vpcId], policy: { kmsKeyArn: key } });
    expect(fix.vpcs[0]?.status).toBe("remediated");
    expect(changesOf(fix).map((change) => change.action)).not.toContain("associate-kms-key");
    expect((await logGroup(pool, REGION, group))?.kmsKeyId).toBeUndefined();
  });

  it("restores the key from a DisassociateKmsKey event (rule from the core patterns, real handler)", async () => {
    const pool = testPool();
    const key = await createKey();
    const vpcId = await createVpc(pool, REGION);
    const group = `/aws/vpc-flow-logs/${vpcId}`;
    await run(pool, { regions: [REGION], policy: { kmsKeyArn: key } });
    const runtime = await createRuntime({ AWS_REGION: REGION, FLOWLOG_GUARD_KMS_KEY_ARN: key });
    const remediate = createRemediateHandler(runtime);
    const rules = await deployRules(pool, parsePolicy({ kmsKeyArn: key }), [REGION]);

    await pool.clientsFor(REGION).logs.send(new DisassociateKmsKeyCommand({ logGroupName: group }));
    await putCloudTrailEvent(pool, fixture("logs-disassociate-kms-key", { [FIXTURE_VPC]: vpcId }));
    const matched = await rules.drain();
    expect(matched).toHaveLength(1);
    const result = (await remediate(matched[0])) as RemediateResult;

    expect(result).toMatchObject({ status: "handled", vpcs: [expect.objectContaining({ vpcId })] });
    expect(result.summary?.changes).toBe(1);
    expect((await logGroup(pool, REGION, group))?.kmsKeyId).toBe(key);
  });
});
