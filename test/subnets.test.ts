import { CreateLogGroupCommand } from "@aws-sdk/client-cloudwatch-logs";
import {
  CreateFlowLogsCommand,
  CreateSubnetCommand,
  DeleteTagsCommand,
  DescribeFlowLogsCommand,
  type FlowLog,
} from "@aws-sdk/client-ec2";
import { type ClientPool, EXCEPTION_TAGS, type PolicyInput, type RunReport } from "@flowlog-guard/core";
import { createRemediateHandler, type RemediateResult } from "@flowlog-guard/functions/remediate-handler";
import { createRuntime } from "@flowlog-guard/functions/runtime";
import { describe, expect, it } from "vitest";
import { createBucket, createVpc, run, testPool } from "./support/aws.ts";
import { runCli } from "./support/cli.ts";
import { deployRules, FIXTURE_VPC, fixture, putCloudTrailEvent } from "./support/events.ts";

const REGION = "eu-west-1";
const SUBNET: PolicyInput = { resourceType: "Subnet" };

async function createSubnet(
  pool: ClientPool,
  vpcId: string,
  cidr: string,
  tags: Record<string, string> = {},
): Promise<string> {
  const entries = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
  const response = await pool.clientsFor(REGION).ec2.send(
    new CreateSubnetCommand({
      VpcId: vpcId,
      CidrBlock: cidr,
      ...(entries.length > 0 ? { TagSpecifications: [{ ResourceType: "subnet", Tags: entries }] } : {}),
    }),
  );
  return response.Subnet!.SubnetId!;
}

async function flowLogsOn(pool: ClientPool, resourceId: string): Promise<FlowLog[]> {
  const response = await pool
    .clientsFor(REGION)
    .ec2.send(new DescribeFlowLogsCommand({ Filter: [{ Name: "resource-id", Values: [resourceId] }] }));
  return response.FlowLogs ?? [];
}

async function customerFlowLog(pool: ClientPool, resourceId: string, type: "VPC" | "Subnet") {
  // moto reports a flow log into a missing log group as failing delivery (not qualifying).
  await pool
    .clientsFor(REGION)
    .logs.send(new CreateLogGroupCommand({ logGroupName: "customer-owned" }))
    .catch((error: Error) => {
      if (error.name !== "ResourceAlreadyExistsException") throw error;
    });
  const response = await pool.clientsFor(REGION).ec2.send(
    new CreateFlowLogsCommand({
      ResourceIds: [resourceId],
      ResourceType: type,
      TrafficType: "ALL",
      LogDestinationType: "cloud-watch-logs",
      LogGroupName: "customer-owned",
      DeliverLogsPermissionArn: "arn:aws:iam::123456789012:role/customer",
    }),
  );
  return response.FlowLogIds![0]!;
}

function vpcOf(report: RunReport, vpcId: string) {
  const vpc = report.vpcs.find((candidate) => candidate.vpcId === vpcId);
  if (!vpc) throw new Error(`${vpcId} is not in the report`);
  return vpc;
}

function subnetOf(report: RunReport, vpcId: string, subnetId: string) {
  const subnet = vpcOf(report, vpcId).subnets?.find((candidate) => candidate.subnetId === subnetId);
  if (!subnet) throw new Error(`${subnetId} is not under ${vpcId} in the report`);
  return subnet;
}

describe("Subnet mode (moto)", () => {
  it("gives uncovered subnets subnet flow logs (one call per VPC's log group), leaves a VPC with a flow log alone, and changes nothing the second time", async () => {
    const pool = testPool();
    const bare = await createVpc(pool, REGION, { Name: "bare" }, "10.1.0.0/16");
    const bareSubnets = [
      await createSubnet(pool, bare, "10.1.1.0/24", { Name: "app-a" }),
      await createSubnet(pool, bare, "10.1.2.0/24"),
    ];
    const logged = await createVpc(pool, REGION, {}, "10.2.0.0/16");
    const loggedSubnet = await createSubnet(pool, logged, "10.2.1.0/24");
    const vpcFlowLog = await customerFlowLog(pool, logged, "VPC");

    const runPool = testPool();
    const report = await run(runPool, { regions: [REGION], policy: SUBNET });

    expect(report.summary.failed).toBe(0);
    for (const subnetId of bareSubnets) {
      const flowLogs = await flowLogsOn(pool, subnetId);
      expect(flowLogs).toHaveLength(1);
      expect(flowLogs[0]).toMatchObject({
        ResourceId: subnetId,
        LogGroupName: `/aws/vpc-flow-logs/${bare}`,
        TrafficType: "REJECT",
      });
      expect(subnetOf(report, bare, subnetId)).toMatchObject({
        status: "remediated",
        flowLogIds: [flowLogs[0]!.FlowLogId],
      });
    }
    expect(subnetOf(report, bare, bareSubnets[0]!).name).toBe("app-a");
    expect(vpcOf(report, bare).status).toBe("remediated");
    // The covered VPC: no subnet flow log, its subnet reported as covered by the VPC's flow log.
    expect(await flowLogsOn(pool, loggedSubnet)).toEqual([]);
    expect(vpcOf(report, logged).status).toBe("compliant");
    expect(subnetOf(report, logged, loggedSubnet)).toMatchObject({
      status: "compliant",
      flowLogIds: [vpcFlowLog],
    });
    // Subnets of one VPC share its log group: one CreateFlowLogs for them (the default VPC has its own).
    const createCalls = runPool.counter.count("EC2", "CreateFlowLogs");
    expect(createCalls).toBe(2);
    expect(runPool.counter.count("EC2", "DescribeSubnets")).toBe(1);
    // Change records name the subnet and its VPC.
    const records = vpcOf(report, bare).changes.filter((record) => record.action === "create-flow-log");
    expect(records.map((record) => [record.vpcId, record.subnetId, record.outcome]).sort()).toEqual(
      bareSubnets.map((subnetId) => [bare, subnetId, "applied"]).sort(),
    );
    expect(new Set(records.map((record) => record.recordId)).size).toBe(2);
    expect(records[0]!.after).toMatchObject({ resourceType: "Subnet" });

    const again = await run(testPool(), { regions: [REGION], policy: SUBNET });
    expect(again.summary).toMatchObject({ remediated: 0, failed: 0, nonCompliant: 0, changes: 0 });
    expect(vpcOf(again, bare).status).toBe("compliant");
    expect(vpcOf(again, bare).subnets?.map((subnet) => subnet.status)).toEqual(["compliant", "compliant"]);
    for (const subnetId of bareSubnets) expect(await flowLogsOn(pool, subnetId)).toHaveLength(1);
  });

  it("an exempt subnet gets no flow log and does not make its VPC non-compliant", async () => {
    const pool = testPool();
    const vpcId = await createVpc(pool, REGION, {}, "10.3.0.0/16");
    const open = await createSubnet(pool, vpcId, "10.3.1.0/24");
    const exempt = await createSubnet(pool, vpcId, "10.3.2.0/24", {
      [EXCEPTION_TAGS.owner]: "team-data",
      [EXCEPTION_TAGS.expires]: new Date(Date.now() + 100 * 86_400_000).toISOString().slice(0, 10),
      [EXCEPTION_TAGS.reason]: "lab subnet",
    });
    const report = await run(testPool(), {
      regions: [REGION],
      policy: SUBNET,
      vpcIds: [vpcId],
    });
    expect(subnetOf(report, vpcId, exempt)).toMatchObject({ status: "exempt", flowLogIds: [] });
    expect(subnetOf(report, vpcId, exempt).reason).toContain("team-data");
    expect(subnetOf(report, vpcId, open).status).toBe("remediated");
    expect(await flowLogsOn(pool, exempt)).toEqual([]);
    expect(await flowLogsOn(pool, open)).toHaveLength(1);

    const again = await run(testPool(), { regions: [REGION], policy: SUBNET, vpcIds: [vpcId] });
    expect(vpcOf(again, vpcId)).toMatchObject({ status: "compliant" });
    expect(vpcOf(again, vpcId).reason).toContain(`1 exempt (${exempt})`);
  });

  it("S3 destination: the subnets of every VPC of the region in one CreateFlowLogs call", async () => {
    const pool = testPool();
    const bucket = "subnet-archive";
    await createBucket(pool, REGION, bucket);
    const vpcs = [
      await createVpc(pool, REGION, {}, "10.4.0.0/16"),
      await createVpc(pool, REGION, {}, "10.5.0.0/16"),
    ];
    const subnets = [
      await createSubnet(pool, vpcs[0]!, "10.4.1.0/24"),
      await createSubnet(pool, vpcs[0]!, "10.4.2.0/24"),
      await createSubnet(pool, vpcs[1]!, "10.5.1.0/24"),
    ];
    const policy: PolicyInput = {
      ...SUBNET,
      destinationType: "s3",
      logDestination: `arn:aws:s3:::${bucket}`,
    };
    const runPool = testPool();
    const report = await run(runPool, { regions: [REGION], policy });
    expect(report.summary.failed).toBe(0);
    expect(runPool.counter.count("EC2", "CreateFlowLogs")).toBe(1);
    for (const subnetId of subnets) {
      const flowLogs = await flowLogsOn(pool, subnetId);
      expect(flowLogs).toHaveLength(1);
      expect(flowLogs[0]).toMatchObject({
        LogDestinationType: "s3",
        LogDestination: `arn:aws:s3:::${bucket}`,
      });
    }
    for (const vpcId of vpcs) expect(await flowLogsOn(pool, vpcId)).toEqual([]);
    const records = report.vpcs.flatMap((vpc) => vpc.changes);
    expect(records.filter((record) => subnets.includes(record.subnetId ?? "")).map((r) => r.action)).toEqual(
      Array(3).fill("create-s3-flow-log"),
    );
    const again = await run(testPool(), { regions: [REGION], policy });
    expect(again.summary).toMatchObject({ remediated: 0, failed: 0, nonCompliant: 0, changes: 0 });
  });

  it("mixed estate: existing VPC and subnet flow logs of any destination are respected", async () => {
    const pool = testPool();
    const bucket = "customer-archive";
    await createBucket(pool, REGION, bucket);
    const cwlVpc = await createVpc(pool, REGION, {}, "10.6.0.0/16");
    const cwlVpcSubnet = await createSubnet(pool, cwlVpc, "10.6.1.0/24");
    await customerFlowLog(pool, cwlVpc, "VPC");
    const s3Vpc = await createVpc(pool, REGION, {}, "10.7.0.0/16");
    const s3VpcSubnet = await createSubnet(pool, s3Vpc, "10.7.1.0/24");
    await pool.clientsFor(REGION).ec2.send(
      new CreateFlowLogsCommand({
        ResourceIds: [s3Vpc],
        ResourceType: "VPC",
        TrafficType: "ALL",
        LogDestinationType: "s3",
        LogDestination: `arn:aws:s3:::${bucket}`,
      }),
    );
    const half = await createVpc(pool, REGION, {}, "10.8.0.0/16");
    const covered = await createSubnet(pool, half, "10.8.1.0/24");
    const uncovered = await createSubnet(pool, half, "10.8.2.0/24");
    const customerSubnetLog = await customerFlowLog(pool, covered, "Subnet");

    const scan = await run(testPool(), { regions: [REGION], policy: SUBNET, mode: "scan" });
    expect(vpcOf(scan, half)).toMatchObject({ status: "non-compliant" });
    expect(subnetOf(scan, half, covered)).toMatchObject({
      status: "compliant",
      flowLogIds: [customerSubnetLog],
    });
    expect(subnetOf(scan, half, uncovered).status).toBe("non-compliant");

    const report = await run(testPool(), { regions: [REGION], policy: SUBNET });
    expect(report.summary.failed).toBe(0);
    expect(vpcOf(report, cwlVpc).status).toBe("compliant");
    expect(vpcOf(report, s3Vpc).status).toBe("compliant");
    expect(vpcOf(report, half).status).toBe("remediated");
    expect(await flowLogsOn(pool, cwlVpcSubnet)).toEqual([]);
    expect(await flowLogsOn(pool, s3VpcSubnet)).toEqual([]);
    expect((await flowLogsOn(pool, covered)).map((f) => f.FlowLogId)).toEqual([customerSubnetLog]);
    expect(await flowLogsOn(pool, uncovered)).toHaveLength(1);
    expect(await flowLogsOn(pool, half)).toEqual([]);
  });

  it("a CreateSubnet event (through the Subnet-mode rule) covers the new subnet, or nothing when its VPC has a flow log", async () => {
    const env = { FLOWLOG_GUARD_RESOURCE_TYPE: "Subnet", FLOWLOG_GUARD_CREATE_VPC_GRACE_SECONDS: "0" };
    const runtime = await createRuntime(env);
    const remediate = createRemediateHandler(runtime);
    const pool = runtime.pool;
    const rules = await deployRules(pool, runtime.policy, [REGION]);
    const vpcId = await createVpc(pool, REGION, {}, "10.9.0.0/16");
    const subnetId = await createSubnet(pool, vpcId, "10.9.1.0/24");
    const logged = await createVpc(pool, REGION, {}, "10.10.0.0/16");
    await customerFlowLog(pool, logged, "VPC");
    const loggedSubnet = await createSubnet(pool, logged, "10.10.1.0/24");
    const FIXTURE_SUBNET = "subnet-0b5e1c2d3f4a59687";

    await putCloudTrailEvent(
      pool,
      fixture("ec2-create-subnet", { [FIXTURE_VPC]: vpcId, [FIXTURE_SUBNET]: subnetId }),
    );
    await putCloudTrailEvent(
      pool,
      fixture("ec2-create-subnet", { [FIXTURE_VPC]: logged, [FIXTURE_SUBNET]: loggedSubnet }),
    );
    const matched = await rules.drain();
    expect(matched).toHaveLength(2);
    const results: RemediateResult[] = [];
    for (const event of matched) results.push((await remediate(event)) as RemediateResult);

    const about = (id: string) => results.find((result) => result.vpcs?.[0]?.vpcId === id);
    expect(about(vpcId)).toMatchObject({
      status: "handled",
      reason: `CreateSubnet of ${subnetId} in ${vpcId}`,
      vpcs: [{ vpcId, status: "remediated", subnets: [{ subnetId, status: "remediated" }] }],
    });
    expect(await flowLogsOn(pool, subnetId)).toHaveLength(1);
    expect(about(logged)).toMatchObject({
      status: "handled",
      vpcs: [
        { vpcId: logged, status: "compliant", subnets: [{ subnetId: loggedSubnet, status: "compliant" }] },
      ],
    });
    expect(await flowLogsOn(pool, loggedSubnet)).toEqual([]);

    // The same event again changes nothing.
    const again = (await remediate(
      matched.find((event) => JSON.stringify(event).includes(subnetId)),
    )) as RemediateResult;
    expect(again.summary).toMatchObject({ changes: 0, remediated: 0 });
    expect(await flowLogsOn(pool, subnetId)).toHaveLength(1);
  });

  it("exception tags changed on a subnet (through the Subnet-mode rule) re-check its region: the subnet no longer exempt is covered", async () => {
    const env = { FLOWLOG_GUARD_RESOURCE_TYPE: "Subnet", FLOWLOG_GUARD_CREATE_VPC_GRACE_SECONDS: "0" };
    const runtime = await createRuntime(env);
    const remediate = createRemediateHandler(runtime);
    const pool = runtime.pool;
    const rules = await deployRules(pool, runtime.policy, [REGION]);
    const vpcId = await createVpc(pool, REGION, {}, "10.11.0.0/16");
    const exceptionTags = {
      [EXCEPTION_TAGS.owner]: "team-data",
      [EXCEPTION_TAGS.expires]: new Date(Date.now() + 100 * 86_400_000).toISOString().slice(0, 10),
    };
    const subnetId = await createSubnet(pool, vpcId, "10.11.1.0/24", exceptionTags);
    const first = await run(testPool(), { regions: [REGION], policy: SUBNET, vpcIds: [vpcId] });
    expect(subnetOf(first, vpcId, subnetId).status).toBe("exempt");

    // The owner takes the exception off; CloudTrail reports the tag call on the subnet alone.
    await pool.clientsFor(REGION).ec2.send(
      new DeleteTagsCommand({
        Resources: [subnetId],
        Tags: Object.keys(exceptionTags).map((Key) => ({ Key })),
      }),
    );
    await putCloudTrailEvent(
      pool,
      fixture("ec2-create-tags-not-a-vpc", { "subnet-0123456789abcdef0": subnetId }),
    );
    const matched = await rules.drain();
    expect(matched).toHaveLength(1);
    const result = (await remediate(matched[0])) as RemediateResult;

    expect(result.status).toBe("handled");
    const vpc = result.vpcs?.find((candidate) => candidate.vpcId === vpcId);
    expect(vpc?.subnets).toEqual([expect.objectContaining({ subnetId, status: "remediated" })]);
    expect(await flowLogsOn(pool, subnetId)).toHaveLength(1);
  });

  it("CLI: `scan --resource-type Subnet` lists uncovered subnets under their VPC; --json has vpcs[].subnets[]", async () => {
    const pool = testPool();
    const vpcId = await createVpc(pool, REGION, { Name: "team" }, "10.11.0.0/16");
    const subnetId = await createSubnet(pool, vpcId, "10.11.1.0/24", { Name: "app-a" });

    const text = await runCli(["scan", "--regions", REGION, "--resource-type", "subnet", "--vpc-ids", vpcId]);
    expect(text.stdout).toContain(`${vpcId} (team)  NON-COMPLIANT`);
    expect(text.stdout).toContain(`subnet ${subnetId} (app-a): NON-COMPLIANT`);
    expect(text.stdout).toContain("subnet flow logs (1)");

    const json = await runCli(["scan", "--regions", REGION, "--vpc-ids", vpcId, "--json"], {
      env: { FLOWLOG_GUARD_RESOURCE_TYPE: "Subnet" },
    });
    const report = JSON.parse(json.stdout) as RunReport;
    expect(vpcOf(report, vpcId).subnets).toEqual([
      expect.objectContaining({ subnetId, status: "non-compliant", flowLogIds: [] }),
    ]);
    expect(await flowLogsOn(pool, subnetId)).toEqual([]);
  });
});
