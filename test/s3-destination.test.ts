import { CreateLogGroupCommand, DescribeLogGroupsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { CreateFlowLogsCommand, DescribeFlowLogsCommand, type FlowLog } from "@aws-sdk/client-ec2";
import { ListRolesCommand } from "@aws-sdk/client-iam";
import type { PolicyInput } from "@flowlog-guard/core";
import { describe, expect, it } from "vitest";
import { createBucket, createVpc, run, testPool } from "./support/aws.ts";

const REGIONS = ["eu-west-1", "us-east-1"];
const ARCHIVE = "org-log-archive-111122223333";
const s3Policy = (extra: Partial<PolicyInput> = {}): PolicyInput => ({
  destinationType: "s3",
  logDestination: `arn:aws:s3:::${ARCHIVE}/vpc-flow-logs`,
  ...extra,
});

async function allFlowLogs(region: string): Promise<FlowLog[]> {
  const response = await testPool().clientsFor(region).ec2.send(new DescribeFlowLogsCommand({}));
  return response.FlowLogs ?? [];
}

describe("S3 destination (moto)", () => {
  it("batches every VPC of a region into one CreateFlowLogs to the bucket, with no role or log group, and reads the options back", async () => {
    const pool = testPool();
    for (const region of REGIONS) await createBucket(pool, region, `${ARCHIVE}-${region}`);
    const vpcs: Record<string, string[]> = {};
    for (const region of REGIONS) {
      vpcs[region] = [];
      for (let i = 0; i < 3; i++) vpcs[region]!.push(await createVpc(pool, region, {}, `10.${i}.0.0/16`));
    }
    // One bucket per run here; moto keeps buckets per region-less account, so name one per region.
    const policy = (region: string) =>
      s3Policy({
        logDestination: `arn:aws:s3:::${ARCHIVE}-${region}/vpc-flow-logs`,
        fileFormat: "parquet",
        hiveCompatiblePartitions: true,
        perHourPartition: true,
      });

    for (const region of REGIONS) {
      const runPool = testPool();
      const report = await run(runPool, { regions: [region], policy: policy(region) });
      expect(report.summary).toMatchObject({ failed: 0 });
      expect(report.summary.remediated).toBeGreaterThanOrEqual(3);
      expect(runPool.counter.count("EC2", "CreateFlowLogs")).toBe(1);
      expect(runPool.counter.count("IAM", "CreateRole")).toBe(0);
      expect(runPool.counter.count("IAM", "GetRole")).toBe(0);
      expect(runPool.counter.count("Logs", "CreateLogGroup")).toBe(0);
      expect(runPool.counter.count("Logs", "DescribeLogGroups")).toBe(0);
    }

    for (const region of REGIONS) {
      const flowLogs = await allFlowLogs(region);
      const ours = flowLogs.filter((f) => vpcs[region]!.includes(f.ResourceId!));
      expect(ours).toHaveLength(3);
      for (const flowLog of ours) {
        expect(flowLog).toMatchObject({
          LogDestinationType: "s3",
          LogDestination: `arn:aws:s3:::${ARCHIVE}-${region}/vpc-flow-logs`,
          DestinationOptions: {
            FileFormat: "parquet",
            HiveCompatiblePartitions: true,
            PerHourPartition: true,
          },
          TrafficType: "REJECT",
        });
        expect(flowLog.DeliverLogsPermissionArn ?? "").toBe("");
        expect(flowLog.Tags).toContainEqual({ Key: "flowlog-guard:managed", Value: "true" });
      }
    }
    expect((await pool.clientsFor("us-east-1").iam.send(new ListRolesCommand({}))).Roles ?? []).toEqual([]);
    const groups = await pool.clientsFor("eu-west-1").logs.send(new DescribeLogGroupsCommand({}));
    expect(groups.logGroups ?? []).toEqual([]);

    // Twice: the second run changes nothing.
    const again = await run(testPool(), { regions: ["eu-west-1"], policy: policy("eu-west-1") });
    expect(again.summary).toMatchObject({ remediated: 0, failed: 0, nonCompliant: 0 });
    expect(again.vpcs.filter((v) => vpcs["eu-west-1"]!.includes(v.vpcId)).map((v) => v.destination)).toEqual(
      Array(3).fill(`arn:aws:s3:::${ARCHIVE}-eu-west-1/vpc-flow-logs`),
    );
  });

  it("a bucket this account cannot see (another account's, without delivery) fails each VPC with the fix, and creates nothing", async () => {
    const pool = testPool();
    const vpcId = await createVpc(pool, "eu-west-1");
    const report = await run(pool, {
      regions: ["eu-west-1"],
      policy: s3Policy({ logDestination: "arn:aws:s3:::central-archive-999999999999/vpc" }),
    });
    const vpc = report.vpcs.find((v) => v.vpcId === vpcId)!;
    expect(vpc.status).not.toBe("compliant");
    expect(report.summary.failed).toBeGreaterThanOrEqual(1); // moto's default VPC fails the same way
    expect(JSON.stringify(vpc)).toContain("does not exist");
    expect(JSON.stringify(vpc)).toContain(
      "flowlog-guard bucket-policy --bucket central-archive-999999999999",
    );
    expect(await allFlowLogs("eu-west-1")).toEqual([]);
  });

  it("mixed estate: existing CloudWatch and S3 flow logs are respected, switching the destination adds none", async () => {
    const pool = testPool();
    const region = "eu-west-1";
    const ec2 = pool.clientsFor(region).ec2;
    await createBucket(pool, region, ARCHIVE);
    await createBucket(pool, region, "team-bucket");
    const [cwlVpc, s3Vpc, ourCwlVpc, bare] = [
      await createVpc(pool, region, {}, "10.1.0.0/16"),
      await createVpc(pool, region, {}, "10.2.0.0/16"),
      await createVpc(pool, region, {}, "10.3.0.0/16"),
      await createVpc(pool, region, {}, "10.4.0.0/16"),
    ];
    await pool.clientsFor(region).logs.send(new CreateLogGroupCommand({ logGroupName: "team-flow-logs" }));
    await ec2.send(
      new CreateFlowLogsCommand({
        ResourceIds: [cwlVpc!],
        ResourceType: "VPC",
        TrafficType: "ALL",
        LogGroupName: "team-flow-logs",
        DeliverLogsPermissionArn: "arn:aws:iam::123456789012:role/team",
      }),
    );
    await ec2.send(
      new CreateFlowLogsCommand({
        ResourceIds: [s3Vpc!],
        ResourceType: "VPC",
        TrafficType: "REJECT",
        LogDestinationType: "s3",
        LogDestination: "arn:aws:s3:::team-bucket",
      }),
    );
    // flowlog-guard's own CloudWatch flow log from before the switch.
    const before = await run(testPool(), { regions: [region], vpcIds: [ourCwlVpc!] });
    expect(before.summary.remediated).toBe(1);

    const report = await run(testPool(), { regions: [region], policy: s3Policy() });
    const byVpc = new Map(report.vpcs.map((v) => [v.vpcId, v]));
    for (const vpcId of [cwlVpc, s3Vpc, ourCwlVpc]) {
      expect(byVpc.get(vpcId!)).toMatchObject({ status: "compliant", actions: [], changes: [] });
    }
    expect(byVpc.get(bare!)?.status).toBe("remediated");
    expect(byVpc.get(bare!)?.changes.map((c) => [c.action, c.outcome])).toEqual([
      ["create-s3-flow-log", "applied"],
    ]);
    const flowLogs = await allFlowLogs(region);
    const countFor = (vpcId: string) => flowLogs.filter((f) => f.ResourceId === vpcId).length;
    expect([cwlVpc, s3Vpc, ourCwlVpc, bare].map((vpcId) => countFor(vpcId!))).toEqual([1, 1, 1, 1]);
    expect(flowLogs.find((f) => f.ResourceId === bare)).toMatchObject({
      LogDestinationType: "s3",
      LogDestination: `arn:aws:s3:::${ARCHIVE}/vpc-flow-logs`,
    });

    // And back: the CloudWatch setting leaves the new S3 flow log alone too.
    const back = await run(testPool(), { regions: [region] });
    expect(back.summary).toMatchObject({ remediated: 0, failed: 0 });
    expect((await allFlowLogs(region)).length).toBe(flowLogs.length);
  });
});
