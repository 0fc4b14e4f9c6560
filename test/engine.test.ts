import {
  CreateLogGroupCommand,
  ListTagsLogGroupCommand,
  PutRetentionPolicyCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import { CreateFlowLogsCommand, DescribeVpcsCommand } from "@aws-sdk/client-ec2";
import { GetRoleCommand, GetRolePolicyCommand, UpdateAssumeRolePolicyCommand } from "@aws-sdk/client-iam";
import {
  CHANGE_RECORD_DETAIL_TYPE,
  CHANGE_RECORD_SOURCE,
  ChangeRecordSchema,
  createClientPool,
  deliveryRoleTrustPolicy,
  EXCEPTION_TAGS,
  MANAGED_TAG,
  parsePolicy,
  parsePolicyDocument,
  publishChangeRecords,
  RUN_TAG_KEY,
  type RunReport,
  runRemediation,
} from "@flowlog-guard/core";
import { describe, expect, it } from "vitest";
import {
  createBucket,
  createBusToQueue,
  createVpc,
  flowLogsOf,
  logGroup,
  noSleep,
  run,
  testPool,
} from "./support/aws.ts";
import { runCli } from "./support/cli.ts";

const REGION = "eu-west-1";
const ACCOUNT = "123456789012";

async function defaultVpcId(pool: ReturnType<typeof testPool>, region = REGION): Promise<string> {
  const response = await pool
    .clientsFor(region)
    .ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: "is-default", Values: ["true"] }] }));
  return response.Vpcs![0]!.VpcId!;
}

describe("engine: a plain VPC", () => {
  it("gets role, log group with 365-day retention and a REJECT flow log, all read back from the API", async () => {
    const pool = testPool();
    const vpcId = await createVpc(pool, REGION);

    const report = await run(pool, { regions: [REGION], vpcIds: [vpcId] });

    expect(report.vpcs).toHaveLength(1);
    expect(report.vpcs[0]).toMatchObject({ vpcId, status: "remediated", account: ACCOUNT, region: REGION });
    const flowLogs = await flowLogsOf(pool, REGION, vpcId);
    expect(flowLogs).toHaveLength(1);
    expect(flowLogs[0]).toMatchObject({
      TrafficType: "REJECT",
      LogGroupName: `/aws/vpc-flow-logs/${vpcId}`,
      DeliverLogsPermissionArn: `arn:aws:iam::${ACCOUNT}:role/flowlog-guard/flowlog-guard-delivery`,
      MaxAggregationInterval: 600,
    });
    expect(flowLogs[0]!.Tags).toContainEqual({ Key: MANAGED_TAG.key, Value: MANAGED_TAG.value });
    expect(report.vpcs[0]!.flowLogIds).toEqual([flowLogs[0]!.FlowLogId]);
    expect((await logGroup(pool, REGION, `/aws/vpc-flow-logs/${vpcId}`))?.retentionInDays).toBe(365);
    const groupTags = await pool
      .clientsFor(REGION)
      .logs.send(new ListTagsLogGroupCommand({ logGroupName: `/aws/vpc-flow-logs/${vpcId}` }));
    // Managed, and the run that made it (so a lost response's retry can tell its own group).
    expect(groupTags.tags).toEqual({
      [MANAGED_TAG.key]: MANAGED_TAG.value,
      [RUN_TAG_KEY]: report.vpcs[0]!.changes[0]!.trigger.runId,
    });

    const iam = pool.clientsFor(REGION).iam;
    const role = (await iam.send(new GetRoleCommand({ RoleName: "flowlog-guard-delivery" }))).Role!;
    expect(role.Path).toBe("/flowlog-guard/");
    expect(parsePolicyDocument(role.AssumeRolePolicyDocument!)).toEqual(
      deliveryRoleTrustPolicy("aws", ACCOUNT),
    );
    const inline = await iam.send(
      new GetRolePolicyCommand({ RoleName: "flowlog-guard-delivery", PolicyName: "flowlog-guard-delivery" }),
    );
    const resources = parsePolicyDocument(inline.PolicyDocument!).Statement.flatMap((s) =>
      [s.Resource ?? []].flat(),
    );
    expect(resources).not.toContain("*");
    expect(resources).toContain(`arn:aws:logs:*:${ACCOUNT}:log-group:/aws/vpc-flow-logs/vpc-*`);
  });

  it("changes nothing the second time", async () => {
    const pool = testPool();
    const vpcId = await createVpc(pool, REGION);
    await run(pool, { regions: [REGION] });
    const before = pool.counter.byOperation();

    const second = await run(pool, { regions: [REGION] });

    expect(second.summary).toMatchObject({ remediated: 0, failed: 0, changes: 0, nonCompliant: 0 });
    expect(second.vpcs.find((vpc) => vpc.vpcId === vpcId)?.status).toBe("compliant");
    const after = pool.counter.byOperation();
    for (const operation of Object.keys(after).filter((op) => /:(Create|Put|Update)/.test(op))) {
      expect(after[operation], operation).toBe(before[operation]);
    }
    expect(await flowLogsOf(pool, REGION, vpcId)).toHaveLength(1);
  });

  it("leaves exactly one flow log per VPC when two runs race on the same VPCs", async () => {
    const pool = testPool();
    const vpcIds = await Promise.all([1, 2, 3, 4].map((n) => createVpc(pool, REGION, {}, `10.${n}.0.0/16`)));

    const reports = await Promise.all([
      run(pool, { regions: [REGION] }),
      run(testPool(), { regions: [REGION] }),
    ]);

    for (const vpcId of vpcIds) expect(await flowLogsOf(pool, REGION, vpcId), vpcId).toHaveLength(1);
    for (const report of reports) expect(report.summary.failed).toBe(0);
    const flowLogChanges = reports
      .flatMap((r) => r.vpcs.flatMap((v) => v.changes))
      .filter((c) => c.action === "create-flow-log");
    expect(flowLogChanges.filter((c) => vpcIds.includes(c.vpcId!))).toHaveLength(vpcIds.length);
  });
});

describe("engine: default VPCs", () => {
  it("remediates the default VPC by default (CIS covers all VPCs)", async () => {
    const pool = testPool();
    const vpcId = await defaultVpcId(pool);

    const report = await run(pool, { regions: [REGION] });

    expect(report.vpcs.find((vpc) => vpc.vpcId === vpcId)).toMatchObject({
      isDefault: true,
      status: "remediated",
    });
    expect(await flowLogsOf(pool, REGION, vpcId)).toHaveLength(1);
  });

  it("leaves the default VPC alone with includeDefaultVpcs=false, and says why", async () => {
    const pool = testPool();
    const vpcId = await defaultVpcId(pool);

    const report = await run(pool, { regions: [REGION], policy: { includeDefaultVpcs: false } });

    expect(report.vpcs.find((vpc) => vpc.vpcId === vpcId)).toMatchObject({
      status: "exempt",
      reason: expect.stringContaining("includeDefaultVpcs=false"),
    });
    expect(await flowLogsOf(pool, REGION, vpcId)).toHaveLength(0);
  });
});

describe("engine: existing flow logs", () => {
  it("counts a customer's S3 flow log and never adds a duplicate", async () => {
    const pool = testPool();
    const vpcId = await createVpc(pool, REGION);
    await createBucket(pool, REGION, "customer-flow-logs");
    await pool.clientsFor(REGION).ec2.send(
      new CreateFlowLogsCommand({
        ResourceIds: [vpcId],
        ResourceType: "VPC",
        TrafficType: "ALL",
        LogDestinationType: "s3",
        LogDestination: "arn:aws:s3:::customer-flow-logs",
      }),
    );

    const report = await run(pool, { regions: [REGION], vpcIds: [vpcId] });

    expect(report.vpcs[0]).toMatchObject({
      status: "compliant",
      reason: expect.stringContaining("customer-flow-logs"),
    });
    expect(await flowLogsOf(pool, REGION, vpcId)).toHaveLength(1);
    expect(report.summary.changes).toBe(0);
  });

  it("does not count an ACCEPT-only flow log: adds a REJECT one and leaves the ACCEPT one alone", async () => {
    const pool = testPool();
    const vpcId = await createVpc(pool, REGION);
    const logs = pool.clientsFor(REGION).logs;
    await logs.send(new CreateLogGroupCommand({ logGroupName: "team-accept-logs" }));
    await pool.clientsFor(REGION).ec2.send(
      new CreateFlowLogsCommand({
        ResourceIds: [vpcId],
        ResourceType: "VPC",
        TrafficType: "ACCEPT",
        LogGroupName: "team-accept-logs",
        DeliverLogsPermissionArn: `arn:aws:iam::${ACCOUNT}:role/team-role`,
      }),
    );

    const report = await run(pool, { regions: [REGION], vpcIds: [vpcId] });

    expect(report.vpcs[0]).toMatchObject({ status: "remediated", reason: expect.stringContaining("ACCEPT") });
    const flowLogs = await flowLogsOf(pool, REGION, vpcId);
    expect(flowLogs.map((flowLog) => flowLog.TrafficType).sort()).toEqual(["ACCEPT", "REJECT"]);
  });
});

describe("engine: trafficType ALL is enforced", () => {
  it("fix-all --traffic-type ALL adds an ALL flow log next to a customer's REJECT-only one, which it keeps", async () => {
    const pool = testPool();
    const vpcId = await createVpc(pool, REGION);
    await pool.clientsFor(REGION).logs.send(new CreateLogGroupCommand({ logGroupName: "team-reject-logs" }));
    const created = await pool.clientsFor(REGION).ec2.send(
      new CreateFlowLogsCommand({
        ResourceIds: [vpcId],
        ResourceType: "VPC",
        TrafficType: "REJECT",
        LogGroupName: "team-reject-logs",
        DeliverLogsPermissionArn: `arn:aws:iam::${ACCOUNT}:role/team-role`,
      }),
    );
    const customers = created.FlowLogIds![0]!;
    const fixAll = () =>
      runCli([
        "fix-all",
        "--regions",
        REGION,
        "--vpc-ids",
        vpcId,
        "--traffic-type",
        "ALL",
        "--yes",
        "--json",
      ]);

    const first = await fixAll();
    expect(first.code).toBe(0);
    const vpc = (JSON.parse(first.stdout) as RunReport).vpcs[0]!;
    expect(vpc.status).toBe("remediated");
    expect(vpc.reason).toBe(
      `no qualifying flow log: flow log ${customers} captures only REJECT traffic; the policy asks ALL`,
    );
    const flowLogs = await flowLogsOf(pool, REGION, vpcId);
    expect(flowLogs.map(({ FlowLogId, TrafficType }) => ({ FlowLogId, TrafficType }))).toEqual(
      expect.arrayContaining([
        { FlowLogId: customers, TrafficType: "REJECT" },
        { FlowLogId: vpc.flowLogIds[0], TrafficType: "ALL" },
      ]),
    );
    expect(flowLogs).toHaveLength(2);

    const second = await fixAll();
    expect(second.code).toBe(0);
    expect((JSON.parse(second.stdout) as RunReport).summary).toMatchObject({ compliant: 1, changes: 0 });
    expect(await flowLogsOf(pool, REGION, vpcId)).toHaveLength(2);
  });

  it("a policy changed to ALL: where EC2 refuses a second flow log into flowlog-guard's group, fails with the fix and deletes nothing", async () => {
    const pool = testPool();
    const vpcId = await createVpc(pool, REGION);
    expect((await run(pool, { regions: [REGION], vpcIds: [vpcId] })).vpcs[0]!.status).toBe("remediated");
    const [ours] = await flowLogsOf(pool, REGION, vpcId);

    // moto refuses a second flow log of a VPC into the same log group whatever its traffic type.
    const all = await run(pool, { regions: [REGION], vpcIds: [vpcId], policy: { trafficType: "ALL" } });
    expect(all.vpcs[0]!.status).toBe("failed");
    expect(all.vpcs[0]!.reason).toContain("captures only REJECT traffic; the policy asks ALL");
    expect(all.vpcs[0]!.reason).toContain(`${ours!.FlowLogId} (REJECT traffic) holds it`);
    expect(all.vpcs[0]!.reason).toContain("flowlog-guard deletes no flow log");
    expect((await flowLogsOf(pool, REGION, vpcId)).map((flowLog) => flowLog.FlowLogId)).toEqual([
      ours!.FlowLogId,
    ]);

    const scan = await run(pool, { regions: [REGION], vpcIds: [vpcId], mode: "scan" });
    expect(scan.vpcs[0]!.status).toBe("compliant");
  });
});

describe("engine: pre-existing log groups (never lower retention)", () => {
  it.each([
    { name: "no retention (never expires)", retention: undefined, expected: undefined, changed: false },
    { name: "3653 days", retention: 3653, expected: 3653, changed: false },
    { name: "7 days", retention: 7, expected: 365, changed: true },
  ])("$name", async ({ retention, expected, changed }) => {
    const pool = testPool();
    const vpcId = await createVpc(pool, REGION);
    const name = `/aws/vpc-flow-logs/${vpcId}`;
    const logs = pool.clientsFor(REGION).logs;
    await logs.send(new CreateLogGroupCommand({ logGroupName: name }));
    if (retention)
      await logs.send(new PutRetentionPolicyCommand({ logGroupName: name, retentionInDays: retention }));

    const report = await run(pool, { regions: [REGION], vpcIds: [vpcId] });

    expect((await logGroup(pool, REGION, name))?.retentionInDays).toBe(expected);
    const retentionChanges = report.vpcs[0]!.changes.filter((c) => c.action === "put-retention-policy");
    expect(retentionChanges).toHaveLength(changed ? 1 : 0);
    if (changed)
      expect(retentionChanges[0]).toMatchObject({
        before: { retentionInDays: 7 },
        after: { retentionInDays: 365 },
      });
    expect(report.vpcs[0]!.changes.filter((c) => c.action === "create-log-group")).toHaveLength(0);
    expect(await flowLogsOf(pool, REGION, vpcId)).toHaveLength(1);
  });
});

describe("engine: exceptions", () => {
  const now = new Date();
  const inDays = (days: number) => new Date(now.getTime() + days * 86_400_000).toISOString().slice(0, 10);

  it("exempts a VPC with a valid exception and creates nothing", async () => {
    const pool = testPool();
    const vpcId = await createVpc(pool, REGION, {
      [EXCEPTION_TAGS.owner]: "alice@example.com",
      [EXCEPTION_TAGS.expires]: inDays(30),
      [EXCEPTION_TAGS.reason]: "migration",
    });

    const report = await run(pool, { regions: [REGION], vpcIds: [vpcId] });

    expect(report.vpcs[0]).toMatchObject({
      status: "exempt",
      exception: { state: "valid", owner: "alice@example.com", reason: "migration" },
    });
    expect(await flowLogsOf(pool, REGION, vpcId)).toHaveLength(0);
  });

  it.each([
    {
      name: "expired",
      tags: { owner: "bob", expires: "2020-01-01" },
      state: "expired",
      says: "expired at 2020-01-01T00:00:00.000Z",
    },
    {
      name: "malformed expiry",
      tags: { owner: "bob", expires: "next tuesday" },
      state: "invalid",
      says: "malformed expiry",
    },
    {
      name: "missing owner",
      tags: { owner: "", expires: "2099-01-01" },
      state: "invalid",
      says: "missing owner",
    },
    {
      name: "too far out",
      tags: { owner: "bob", expires: "2099-01-01" },
      state: "invalid",
      says: "more than 365 days away",
    },
  ])("remediates a VPC whose exception is $name, and says why", async ({ tags, state, says }) => {
    const pool = testPool();
    const vpcId = await createVpc(pool, REGION, {
      [EXCEPTION_TAGS.owner]: tags.owner,
      [EXCEPTION_TAGS.expires]: tags.expires,
    });

    const report = await run(pool, { regions: [REGION], vpcIds: [vpcId] });

    expect(report.vpcs[0]).toMatchObject({ status: "remediated", exception: { state } });
    expect(report.vpcs[0]!.reason).toContain(says);
    expect(await flowLogsOf(pool, REGION, vpcId)).toHaveLength(1);
  });
});

describe("engine: the delivery role", () => {
  it("repairs a drifted trust policy and records before and after", async () => {
    const pool = testPool();
    await createVpc(pool, REGION);
    await run(pool, { regions: [REGION] });
    const iam = pool.clientsFor(REGION).iam;
    const drifted = {
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
    };
    await iam.send(
      new UpdateAssumeRolePolicyCommand({
        RoleName: "flowlog-guard-delivery",
        PolicyDocument: JSON.stringify(drifted),
      }),
    );

    const report = await run(pool, { regions: [REGION] });

    const role = (await iam.send(new GetRoleCommand({ RoleName: "flowlog-guard-delivery" }))).Role!;
    expect(parsePolicyDocument(role.AssumeRolePolicyDocument!)).toEqual(
      deliveryRoleTrustPolicy("aws", ACCOUNT),
    );
    expect(report.sharedChanges).toEqual([
      expect.objectContaining({
        action: "update-role-trust",
        before: drifted,
        after: deliveryRoleTrustPolicy("aws", ACCOUNT),
      }),
    ]);
  });
});

describe("engine: change records", () => {
  it("puts every change on the ledger bus, one to one with the changes in the report", async () => {
    const pool = testPool();
    const ledger = await createBusToQueue(pool, REGION, {
      bus: "flowlog-guard-ledger",
      pattern: { source: [CHANGE_RECORD_SOURCE], "detail-type": [CHANGE_RECORD_DETAIL_TYPE] },
    });
    await createVpc(pool, REGION);
    await createVpc(pool, REGION, {}, "10.9.0.0/16");

    const report = await run(pool, { regions: [REGION], policy: { ledgerBus: "flowlog-guard-ledger" } });

    const delivered = (await ledger.drain()) as { detail: unknown; source: string }[];
    const reported = [...report.vpcs.flatMap((vpc) => vpc.changes), ...report.sharedChanges];
    // Three VPCs (the default one too), each a log group, its retention and a flow log; then the role and its policy.
    const count = (action: string) => reported.filter((record) => record.action === action).length;
    expect(reported).toHaveLength(3 * 3 + 2);
    expect(
      ["create-role", "put-role-policy", "create-log-group", "put-retention-policy", "create-flow-log"].map(
        count,
      ),
    ).toEqual([1, 1, 3, 3, 3]);
    expect(report.summary).toMatchObject({ recordsPublished: reported.length, recordsUndelivered: 0 });
    const records = delivered.map((event) => ChangeRecordSchema.parse(event.detail));
    expect(records.map((r) => r.recordId).sort()).toEqual(reported.map((r) => r.recordId).sort());
    expect(new Set(records.map((r) => r.recordId)).size).toBe(records.length);
    expect(
      records.every((r) => r.outcome === "applied" && r.trigger.kind === "cli" && r.account === ACCOUNT),
    ).toBe(true);
  });

  it("writes every record the bus refuses to the structured log, in full", async () => {
    const pool = testPool();
    const report = await run(pool, { regions: [REGION] });
    const records = [...report.vpcs.flatMap((vpc) => vpc.changes), ...report.sharedChanges];
    const logged: { level: string; message: string; extra: Record<string, unknown> }[] = [];
    const log = {
      info: (message: string, extra = {}) => logged.push({ level: "info", message, extra }),
      warn: (message: string, extra = {}) => logged.push({ level: "warn", message, extra }),
      error: (message: string, extra = {}) => logged.push({ level: "error", message, extra }),
    };

    const result = await publishChangeRecords(pool.clientsFor(REGION), "no-such-bus", records, {
      log,
      sleep: noSleep,
    });

    expect(result.undelivered.map((entry) => entry.recordId).sort()).toEqual(
      records.map((r) => r.recordId).sort(),
    );
    const errors = logged.filter((entry) => entry.level === "error");
    expect(errors.map((entry) => (entry.extra.changeRecord as { recordId: string }).recordId).sort()).toEqual(
      records.map((r) => r.recordId).sort(),
    );
    expect(errors[0]?.extra).toMatchObject({ bus: "no-such-bus", error: expect.any(String) });
  });

  it("keeps records in the report and says so when the bus refuses them", async () => {
    const pool = testPool();
    await createVpc(pool, REGION);

    const report = await run(pool, { regions: [REGION], policy: { ledgerBus: "no-such-bus" } });

    // The new VPC and the default one: each a log group, retention and flow log, plus the role and its policy.
    expect(report.summary).toMatchObject({ remediated: 2, changes: 8, recordsPublished: 0 });
    expect(report.summary.recordsUndelivered).toBe(8);
    expect(report.errors.filter((e) => e.scope === "ledger")).toEqual([
      expect.objectContaining({
        message: expect.stringMatching(/^8 change record\(s\) not delivered to no-such-bus: /),
      }),
    ]);
    expect(report.undeliveredRecords).toHaveLength(8);
    expect(report.vpcs.flatMap((vpc) => vpc.changes)).toHaveLength(6);
    expect(report.sharedChanges).toHaveLength(2);
  });
});

describe("engine: a shared log group template", () => {
  it("creates one log group and one CreateFlowLogs call for all VPCs of the region, pairing each VPC with its flow log", async () => {
    const pool = testPool();
    const vpcIds = await Promise.all(
      [1, 2, 3, 4, 5].map((n) => createVpc(pool, REGION, {}, `10.${n}.0.0/16`)),
    );

    const report = await run(pool, { regions: [REGION], policy: { logGroupName: "/flow-logs/{region}" } });

    expect(pool.counter.count("EC2", "CreateFlowLogs")).toBe(1);
    expect(pool.counter.count("Logs", "CreateLogGroup")).toBe(1);
    expect((await logGroup(pool, REGION, `/flow-logs/${REGION}`))?.retentionInDays).toBe(365);
    for (const vpcId of vpcIds) {
      const flowLogs = await flowLogsOf(pool, REGION, vpcId);
      expect(flowLogs).toHaveLength(1);
      expect(report.vpcs.find((vpc) => vpc.vpcId === vpcId)?.flowLogIds).toEqual([flowLogs[0]!.FlowLogId]);
    }
    expect(report.sharedChanges.map((change) => change.action)).toEqual(
      expect.arrayContaining(["create-log-group", "put-retention-policy"]),
    );
  });
});

describe("engine: region outcomes", () => {
  it("types each region's outcome: done, read-failed (an error) and not-started (not an error)", async () => {
    const pool = createClientPool({ apiRate: 0, maxAttempts: 1 });
    await createVpc(pool, REGION);
    let checks = 0;

    const report = await runRemediation({
      policy: parsePolicy({}),
      regions: [REGION, "xx-west-9", "us-east-1"],
      mode: "scan",
      trigger: { kind: "cli", runId: "test-outcomes" },
      pool,
      regionConcurrency: 1,
      shouldStop: () => ++checks > 2,
    });

    expect(report.regionOutcomes).toEqual([
      { account: ACCOUNT, region: REGION, kind: "done" },
      { account: ACCOUNT, region: "xx-west-9", kind: "read-failed", error: expect.any(String) },
      { account: ACCOUNT, region: "us-east-1", kind: "not-started" },
    ]);
    expect(report.summary).toMatchObject({ regionsFailed: 1, regionsRemaining: 1, vpcs: 2 });
    expect(report.errors).toEqual([
      { scope: "region", region: "xx-west-9", message: expect.stringMatching(/^could not be read: /) },
    ]);
  });
});
