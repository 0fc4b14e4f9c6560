import { CloudTrailClient, CreateTrailCommand, StartLoggingCommand } from "@aws-sdk/client-cloudtrail";
import { DisassociateKmsKeyCommand } from "@aws-sdk/client-cloudwatch-logs";
import { CreateSubnetCommand } from "@aws-sdk/client-ec2";
import { CreateEventBusCommand } from "@aws-sdk/client-eventbridge";
import {
  CreateAccessKeyCommand,
  CreatePolicyCommand,
  CreateRoleCommand,
  CreateUserCommand,
  PutUserPolicyCommand,
} from "@aws-sdk/client-iam";
import { CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { CreateQueueCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import {
  createClientPool,
  createOrganizationsClient,
  estimateFlowLogCost,
  guardrailsPolicyDocument,
  handleCloudTrailEvent,
  importToSecurityHub,
  listEnabledRegions,
  memberRoleArn,
  operatorStatements,
  type PolicyDocument,
  parsePolicy,
  queueArnOfUrl,
  resolveAccounts,
  runDoctor,
  runRemediation,
  servicePolicyDocument,
} from "@flowlog-guard/core";
import { afterEach, describe, expect, it } from "vitest";
import { redriveQueue } from "../packages/cli/src/commands/redrive.ts";
import { authorizationRequestsOf } from "./support/authorization.ts";
import {
  attachDenyPolicyAndBoundary,
  createBucket,
  createVpc,
  driftDeliveryRoleTrust,
  flowLogsOf,
  noSleep,
  testPool,
} from "./support/aws.ts";
import { recordClient, recordingPool } from "./support/call-recorder.ts";
import { FIXTURE_VPC, fixture } from "./support/events.ts";
import { decide } from "./support/iam-evaluator.ts";
import { motoEndpoint } from "./support/moto.ts";
import { createOrganization } from "./support/organization.ts";

const REGION = "us-east-1";
const ACCOUNT = "123456789012";
const LEDGER = `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/ledger`;
const policy = parsePolicy({ ledgerBus: LEDGER });
const document = servicePolicyDocument({ partition: "aws", accountId: ACCOUNT, policy });
const allActions = document.Statement.flatMap((statement) => [statement.Action].flat());

/**
 * Actions AWS authorises implicitly, as part of another call, which moto does not check: tags given at
 * creation (ec2:CreateTags with CreateFlowLogs, logs:TagResource with CreateLogGroup, iam:TagRole with
 * CreateRole) and iam:PassRole when CreateFlowLogs is handed the delivery role. They stay in the policy
 * because AWS requires them; this test cannot show it.
 */
const IMPLICIT_ACTIONS = ["ec2:CreateTags", "logs:TagResource", "iam:TagRole", "iam:PassRole"];

/**
 * Actions only a lost response calls for (CreateLogGroup applied, its answer dropped, the retry met
 * "already exists": the group's run tag says whether this run made it). test/chaos.test.ts makes that
 * happen; the evaluator test below checks the call is allowed on a managed group.
 */
const LOST_RESPONSE_ACTIONS = ["logs:ListTagsForResource"];

/** Only a drifted delivery role calls for these (a wrong trust; a managed policy or a boundary on it). */
const ROLE_DRIFT_ACTIONS = [
  "iam:UpdateAssumeRolePolicy",
  "iam:ListAttachedRolePolicies",
  "iam:DetachRolePolicy",
  "iam:DeleteRolePermissionsBoundary",
];

/** moto ignores Resource (every non-S3 request is checked against "*") and Condition: widen both. */
function asMotoCanEnforce(source: PolicyDocument, without?: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: source.Statement.map((statement) => ({
      Effect: statement.Effect,
      Action: [statement.Action].flat().filter((action) => action !== without),
      Resource: "*",
    })).filter((statement) => statement.Action.length > 0),
  };
}

async function setAuthEnforcement(allowedRequestsBeforeAuth: string): Promise<void> {
  const response = await fetch(`${motoEndpoint()}/moto-api/reset-auth`, {
    method: "POST",
    body: allowedRequestsBeforeAuth,
  });
  if (!response.ok) throw new Error(`reset-auth failed: HTTP ${response.status}`);
}

/** An IAM user whose only permissions are `document`, and a pool that signs with its keys. */
async function runnerWith(document: PolicyDocument) {
  const iam = testPool().clientsFor(REGION).iam;
  await iam.send(new CreateUserCommand({ UserName: "flowlog-guard-runner" }));
  await iam.send(
    new PutUserPolicyCommand({
      UserName: "flowlog-guard-runner",
      PolicyName: "flowlog-guard",
      PolicyDocument: JSON.stringify(document),
    }),
  );
  const key = (await iam.send(new CreateAccessKeyCommand({ UserName: "flowlog-guard-runner" }))).AccessKey!;
  return createClientPool({
    apiRate: 0,
    credentials: { accessKeyId: key.AccessKeyId!, secretAccessKey: key.SecretAccessKey! },
  });
}

/** Fix-all as the CLI and the Lambda run it (regions from DescribeRegions), as the runner. */
async function fixAllAs(pool: ReturnType<typeof createClientPool>) {
  const regions = (await listEnabledRegions(pool.clientsFor(REGION))).filter((region) => region === REGION);
  return runRemediation({
    policy,
    regions,
    homeRegion: REGION,
    mode: "fix",
    trigger: { kind: "fix-all", runId: "lp" },
    pool,
    sleep: noSleep,
    requireLedgerBus: true,
  });
}

/** Fix-all in REGION with `policy`, every call recorded (regions listed first, as the CLI does). */
async function recordedFixAll(policy: ReturnType<typeof parsePolicy>, runId: string) {
  const recorder = recordingPool(testPool());
  await listEnabledRegions(recorder.clientsFor(REGION));
  const report = await runRemediation({
    policy,
    regions: [REGION],
    homeRegion: REGION,
    mode: "fix",
    trigger: { kind: "fix-all", runId },
    pool: recorder,
    sleep: noSleep,
    requireLedgerBus: true,
  });
  return { recorder, report };
}

afterEach(async () => {
  await setAuthEnforcement("inf");
});

describe("least privilege: core's policy document is enough, and every action in it is needed (moto enforcing IAM)", () => {
  it("fix-all and the event handler succeed with nothing but the policy `iam-policy` prints", async () => {
    const setup = testPool();
    const vpcId = await createVpc(setup, REGION);
    const newVpc = await createVpc(setup, REGION, {}, "10.9.0.0/16");
    await setup.clientsFor(REGION).events.send(new CreateEventBusCommand({ Name: "ledger" }));
    const runner = await runnerWith(asMotoCanEnforce(document));
    await setAuthEnforcement("0");

    const report = await fixAllAs(runner);
    const event = await handleCloudTrailEvent(
      fixture("ec2-create-vpc-root-console-v1.05", { [FIXTURE_VPC]: newVpc }),
      { policy, pool: runner, sleep: noSleep },
    );

    expect(report.errors).toEqual([]);
    expect(report.summary).toMatchObject({ failed: 0, recordsUndelivered: 0 });
    // The two new VPCs and the default one.
    expect(report.summary.remediated).toBe(3);
    expect(event.report?.summary).toMatchObject({ failed: 0 });
    await setAuthEnforcement("inf");
    expect(await flowLogsOf(setup, REGION, vpcId)).toHaveLength(1);
    expect(await flowLogsOf(setup, REGION, newVpc)).toHaveLength(1);
  });

  it("lists every action either as enforced below or as authorised implicitly", () => {
    expect(allActions.filter((action) => IMPLICIT_ACTIONS.includes(action)).sort()).toEqual(
      [...IMPLICIT_ACTIONS].sort(),
    );
  });

  it.each(
    allActions.filter(
      (action) => !IMPLICIT_ACTIONS.includes(action) && !LOST_RESPONSE_ACTIONS.includes(action),
    ),
  )("without %s, a run fails with AccessDenied naming it", async (action) => {
    const setup = testPool();
    await createVpc(setup, REGION);
    await setup.clientsFor(REGION).events.send(new CreateEventBusCommand({ Name: "ledger" }));
    if (ROLE_DRIFT_ACTIONS.includes(action)) {
      // Only a drifted role needs these calls: a wrong trust, a managed policy and a boundary.
      const iam = setup.clientsFor(REGION).iam;
      await iam.send(
        new CreateRoleCommand({
          RoleName: "flowlog-guard-delivery",
          Path: "/flowlog-guard/",
          AssumeRolePolicyDocument: JSON.stringify({ Version: "2012-10-17", Statement: [] }),
        }),
      );
      await attachDenyPolicyAndBoundary(iam, "drift");
    }
    const runner = await runnerWith(asMotoCanEnforce(document, action));
    await setAuthEnforcement("0");

    let failure = "";
    try {
      const report = await fixAllAs(runner);
      failure = JSON.stringify(report.errors);
    } catch (error) {
      failure = String(error);
    }

    expect(failure).toContain(`not authorized to perform: ${action}`);
  });
});

describe("least privilege, judged by a real IAM evaluator with each call's real ARN and conditions", () => {
  const RUNNER = `arn:aws:iam::${ACCOUNT}:role/flowlog-guard-prod-FixAllRole-a1b2c3`;

  /**
   * Fix-all on a fresh account, again over a drifted delivery role (trust, a managed policy, a
   * boundary), and one CloudTrail event.
   */
  async function everyCallTheEngineMakes() {
    const setup = testPool();
    await createVpc(setup, REGION);
    await createVpc(setup, "eu-west-1");
    const newVpc = await createVpc(setup, REGION, {}, "10.9.0.0/16");
    await setup.clientsFor(REGION).events.send(new CreateEventBusCommand({ Name: "ledger" }));
    const recorder = recordingPool(testPool());
    expect(await listEnabledRegions(recorder.clientsFor(REGION))).toContain("eu-west-1");
    const runOnce = (runId: string) =>
      runRemediation({
        policy,
        regions: [REGION, "eu-west-1"],
        homeRegion: REGION,
        mode: "fix",
        trigger: { kind: "fix-all", runId },
        pool: recorder,
        sleep: noSleep,
        requireLedgerBus: true,
      });
    expect((await runOnce("lp-1")).summary).toMatchObject({ failed: 0, recordsUndelivered: 0 });
    await driftDeliveryRoleTrust(setup.clientsFor(REGION).iam);
    await attachDenyPolicyAndBoundary(setup.clientsFor(REGION).iam, "drift");
    await runOnce("lp-2");
    await handleCloudTrailEvent(fixture("ec2-create-vpc-root-console-v1.05", { [FIXTURE_VPC]: newVpc }), {
      policy,
      pool: recorder,
      sleep: noSleep,
    });
    return recorder.calls;
  }

  it("allows every request of every call fix-all and the event handler make, and every granted action is used", async () => {
    const calls = await everyCallTheEngineMakes();
    const requests = calls.flatMap((call) => authorizationRequestsOf(call, ACCOUNT));
    const unique = [...new Map(requests.map((r) => [JSON.stringify(r), r])).values()];

    const denied: string[] = [];
    for (const request of unique) {
      const decision = await decide(request, {
        principalArn: RUNNER,
        accountId: ACCOUNT,
        identityPolicy: document,
      });
      if (decision !== "Allowed") denied.push(`${request.action} on ${request.resource}: ${decision}`);
    }

    expect(denied).toEqual([]);
    expect(new Set([...unique.map((r) => r.action), ...LOST_RESPONSE_ACTIONS])).toEqual(new Set(allActions));
    const lostResponseCheck = {
      action: "logs:ListTagsForResource",
      resource: `arn:aws:logs:eu-west-1:${ACCOUNT}:log-group:/aws/vpc-flow-logs/vpc-0abc`,
    };
    expect(
      await decide(lostResponseCheck, { principalArn: RUNNER, accountId: ACCOUNT, identityPolicy: document }),
    ).toBe("Allowed");
    expect(unique).toContainEqual(
      expect.objectContaining({
        action: "ec2:CreateTags",
        context: expect.objectContaining({ "ec2:CreateAction": "CreateFlowLogs" }),
      }),
    );
    expect(unique.some((r) => r.resource.startsWith(`arn:aws:ec2:eu-west-1:${ACCOUNT}:vpc/vpc-`))).toBe(true);
  });

  it("the evaluator denies what the policy does not grant: another account's VPC, another role, another bus", async () => {
    const as = { principalArn: RUNNER, accountId: ACCOUNT, identityPolicy: document };
    const elsewhere = [
      { action: "ec2:CreateFlowLogs", resource: "arn:aws:ec2:us-east-1:999988887777:vpc/vpc-0abc" },
      { action: "iam:PutRolePolicy", resource: `arn:aws:iam::${ACCOUNT}:role/Admin` },
      { action: "iam:PassRole", resource: `arn:aws:iam::${ACCOUNT}:role/Admin` },
      {
        action: "logs:PutRetentionPolicy",
        resource: `arn:aws:logs:us-east-1:${ACCOUNT}:log-group:/app/audit`,
      },
      { action: "events:PutEvents", resource: `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/default` },
      {
        action: "ec2:CreateTags",
        resource: `arn:aws:ec2:us-east-1:${ACCOUNT}:vpc-flow-log/*`,
        context: { "aws:TagKeys": ["x"] },
      },
    ];
    for (const request of elsewhere)
      expect(await decide(request, as), request.action).toBe("ImplicitlyDenied");
  });
  it("KMS keys: giving a managed group its key back is allowed by the KMS-mode policy, which adds only AssociateKmsKey and doctor's key reads", async () => {
    const setup = testPool();
    const key = (await new KMSClient({ region: REGION }).send(new CreateKeyCommand({ MultiRegion: true })))
      .KeyMetadata!;
    const vpcId = await createVpc(setup, REGION);
    await setup.clientsFor(REGION).events.send(new CreateEventBusCommand({ Name: "ledger" }));
    const kmsPolicy = parsePolicy({ ledgerBus: LEDGER, kmsKeyArn: key.Arn! });
    const kmsDocument = servicePolicyDocument({ partition: "aws", accountId: ACCOUNT, policy: kmsPolicy });
    const fixAll = (pool: ReturnType<typeof testPool>) =>
      runRemediation({
        policy: kmsPolicy,
        regions: [REGION],
        mode: "fix",
        trigger: { kind: "fix-all", runId: "lp-kms" },
        pool,
        sleep: noSleep,
      });
    await fixAll(setup);
    const group = `/aws/vpc-flow-logs/${vpcId}`;
    await setup.clientsFor(REGION).logs.send(new DisassociateKmsKeyCommand({ logGroupName: group }));
    const recorder = recordingPool(testPool());
    const report = await fixAll(recorder);
    expect(report.sharedChanges.concat(report.vpcs.flatMap((v) => v.changes)).map((c) => c.action)).toEqual([
      "associate-kms-key",
    ]);
    const requests = recorder.calls.flatMap((call) => authorizationRequestsOf(call, ACCOUNT));
    const doctorReads = ["kms:DescribeKey", "kms:GetKeyPolicy"].flatMap((action) =>
      [REGION, "eu-west-1"].map((region) => ({
        action,
        resource: key.Arn!.replace(`:${REGION}:`, `:${region}:`),
      })),
    );
    // The default key policy delegates the key to the account's IAM policies (AWS's default).
    const keyPolicy: PolicyDocument = {
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
          Action: "kms:*",
          Resource: "*",
        },
      ],
    };
    const as = { principalArn: RUNNER, accountId: ACCOUNT, identityPolicy: kmsDocument };
    const denied: string[] = [];
    for (const request of [...requests, ...doctorReads]) {
      const resourcePolicy = request.action.startsWith("kms:") ? { resourcePolicy: keyPolicy } : {};
      if ((await decide(request, { ...as, ...resourcePolicy })) !== "Allowed")
        denied.push(`${request.action} on ${request.resource}`);
    }
    expect(denied).toEqual([]);
    expect(requests.map((r) => r.action)).toContain("logs:AssociateKmsKey");
    const added = kmsDocument.Statement.flatMap((s) => [s.Action].flat()).filter(
      (a) => !allActions.includes(a),
    );
    expect(added.sort()).toEqual(["kms:DescribeKey", "kms:GetKeyPolicy", "logs:AssociateKmsKey"]);
    const otherKey = { action: "kms:GetKeyPolicy", resource: `arn:aws:kms:${REGION}:${ACCOUNT}:key/other` };
    expect(await decide(otherKey, { ...as, resourcePolicy: keyPolicy })).toBe("ImplicitlyDenied");
  });

  it("S3 destination: every call of fix-all and an event is allowed by the S3-mode policy, which grants no IAM or log-group action, and each granted action is used", async () => {
    const setup = testPool();
    await createBucket(setup, REGION, "lp-archive");
    await createVpc(setup, REGION);
    const newVpc = await createVpc(setup, REGION, {}, "10.9.0.0/16");
    await setup.clientsFor(REGION).events.send(new CreateEventBusCommand({ Name: "ledger" }));
    const s3Policy = parsePolicy({
      ledgerBus: LEDGER,
      destinationType: "s3",
      logDestination: "arn:aws:s3:::lp-archive/vpc",
    });
    const s3Document = servicePolicyDocument({ partition: "aws", accountId: ACCOUNT, policy: s3Policy });
    const { recorder, report } = await recordedFixAll(s3Policy, "lp-s3");
    expect(report.summary).toMatchObject({ failed: 0, recordsUndelivered: 0 });
    await handleCloudTrailEvent(fixture("ec2-create-vpc-root-console-v1.05", { [FIXTURE_VPC]: newVpc }), {
      policy: s3Policy,
      pool: recorder,
      sleep: noSleep,
    });
    const requests = recorder.calls.flatMap((call) => authorizationRequestsOf(call, ACCOUNT));
    const unique = [...new Map(requests.map((r) => [JSON.stringify(r), r])).values()];
    const denied: string[] = [];
    for (const request of unique) {
      const decision = await decide(request, {
        principalArn: RUNNER,
        accountId: ACCOUNT,
        identityPolicy: s3Document,
      });
      if (decision !== "Allowed") denied.push(`${request.action} on ${request.resource}: ${decision}`);
    }
    expect(denied).toEqual([]);
    const granted = s3Document.Statement.flatMap((statement) => [statement.Action].flat());
    expect(granted.filter((action) => action.startsWith("iam:") || action.startsWith("s3:"))).toEqual([]);
    expect(new Set(unique.map((r) => r.action))).toEqual(new Set(granted));
  });

  it("Subnet mode: every call of fix-all and a CreateSubnet event is allowed by the Subnet-mode policy, which targets subnets (not VPCs) and reads subnets", async () => {
    const setup = testPool();
    const vpcId = await createVpc(setup, REGION);
    const subnet = await setup
      .clientsFor(REGION)
      .ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: "10.0.1.0/24" }));
    const subnetId = subnet.Subnet!.SubnetId!;
    await setup.clientsFor(REGION).events.send(new CreateEventBusCommand({ Name: "ledger" }));
    const subnetPolicy = parsePolicy({ ledgerBus: LEDGER, resourceType: "Subnet" });
    const subnetDocument = servicePolicyDocument({
      partition: "aws",
      accountId: ACCOUNT,
      policy: subnetPolicy,
    });
    const { recorder, report } = await recordedFixAll(subnetPolicy, "lp-subnet");
    expect(report.summary).toMatchObject({ failed: 0, recordsUndelivered: 0 });
    const newSubnet = await setup
      .clientsFor(REGION)
      .ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: "10.0.2.0/24" }));
    const event = await handleCloudTrailEvent(
      fixture("ec2-create-subnet", {
        [FIXTURE_VPC]: vpcId,
        "subnet-0b5e1c2d3f4a59687": newSubnet.Subnet!.SubnetId!,
        "eu-west-1": REGION,
      }),
      { policy: { ...subnetPolicy, createVpcGraceSeconds: 0 }, pool: recorder, sleep: noSleep },
    );
    expect(event.report?.summary).toMatchObject({ failed: 0, remediated: 1 });
    const requests = recorder.calls.flatMap((call) => authorizationRequestsOf(call, ACCOUNT));
    const unique = [...new Map(requests.map((r) => [JSON.stringify(r), r])).values()];
    const as = { principalArn: RUNNER, accountId: ACCOUNT, identityPolicy: subnetDocument };
    const denied: string[] = [];
    for (const request of unique) {
      const decision = await decide(request, as);
      if (decision !== "Allowed") denied.push(`${request.action} on ${request.resource}: ${decision}`);
    }
    expect(denied).toEqual([]);
    const targets = unique.filter((r) => r.action === "ec2:CreateFlowLogs" && !r.resource.endsWith("/*"));
    expect(targets.map((r) => r.resource)).toContain(`arn:aws:ec2:${REGION}:${ACCOUNT}:subnet/${subnetId}`);
    expect(targets.every((r) => r.resource.includes(":subnet/subnet-"))).toBe(true);
    expect(unique.map((r) => r.action)).toContain("ec2:DescribeSubnets");
    const granted = subnetDocument.Statement.flatMap((statement) => [statement.Action].flat());
    const used = new Set([...unique.map((r) => r.action), ...LOST_RESPONSE_ACTIONS, ...ROLE_DRIFT_ACTIONS]);
    expect(new Set(granted)).toEqual(used);
    // Subnet mode grants no flow log on a VPC; VPC mode none on a subnet.
    const onVpc = { action: "ec2:CreateFlowLogs", resource: `arn:aws:ec2:${REGION}:${ACCOUNT}:vpc/${vpcId}` };
    expect(await decide(onVpc, as)).toBe("ImplicitlyDenied");
    const onSubnet = {
      action: "ec2:CreateFlowLogs",
      resource: `arn:aws:ec2:${REGION}:${ACCOUNT}:subnet/${subnetId}`,
    };
    expect(await decide(onSubnet, { ...as, identityPolicy: document })).toBe("ImplicitlyDenied");
    expect(document.Statement.flatMap((statement) => [statement.Action].flat())).not.toContain(
      "ec2:DescribeSubnets",
    );
  });

  it("the operator's flags (--security-hub, --cost, --queue, --organization): every call of those commands is allowed by the policy printed with them, each added action is used, and none is granted without them", async () => {
    const setup = testPool();
    await createVpc(setup, REGION);
    await setup.clientsFor(REGION).events.send(new CreateEventBusCommand({ Name: "ledger" }));
    const { recorder, report } = await recordedFixAll(policy, "lp-operator");
    const calls = recorder.calls;
    calls.length = 0; // fix-all's own calls are judged above; only the operator's commands here.
    const security = await importToSecurityHub(report, {
      clientsFor: (_account, region) => recorder.clientsFor(region),
      now: new Date().toISOString(),
      sleep: noSleep,
    });
    expect(security).toMatchObject({ failed: [] });
    expect(security.imported).toBeGreaterThan(0);
    const cost = await estimateFlowLogCost(report, {
      pool: recorder,
      days: 7,
      trafficType: "REJECT",
      now: new Date(),
    });
    expect(cost.vpcs.length).toBeGreaterThan(0);
    const sqs = recordClient(new SQSClient({ region: REGION }), "sqs", REGION, calls);
    const { QueueUrl: queueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: "RemediationDlq" }));
    calls.pop(); // CreateQueue is the test's arrangement, not redrive's.
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: JSON.stringify(fixture("ec2-create-vpc-root-console-v1.05")),
      }),
    );
    calls.pop();
    const redrive = await redriveQueue({
      queueUrl: queueUrl!,
      sqs,
      deps: { policy, pool: recorder, sleep: noSleep },
      maxMessages: 5,
    });
    expect(redrive.received).toBe(1);
    const org = await createOrganization(1);
    const organizations = recordClient(createOrganizationsClient(REGION), "organizations", REGION, calls);
    const resolved = await resolveAccounts(organizations, { accounts: "all" });
    const memberRoles = resolved.targets.map((account) => ({
      action: "sts:AssumeRole",
      resource: memberRoleArn("aws", account.accountId),
    }));
    expect(resolved.targets.map((account) => account.accountId)).toContain(org.members[0]);

    const operatorDocument: PolicyDocument = {
      Version: "2012-10-17",
      Statement: [
        ...document.Statement,
        ...operatorStatements({
          partition: "aws",
          accountId: ACCOUNT,
          policy,
          securityHub: true,
          cost: true,
          queueArn: queueArnOfUrl(queueUrl!, "aws")!.replace(":*:", `:${REGION}:`),
          memberRoleName: "flowlog-guard-member",
        }),
      ],
    };
    const requests = [...calls.flatMap((call) => authorizationRequestsOf(call, ACCOUNT)), ...memberRoles];
    const unique = [...new Map(requests.map((r) => [JSON.stringify(r), r])).values()];
    const as = { principalArn: RUNNER, accountId: ACCOUNT };
    const denied: string[] = [];
    for (const request of unique)
      if ((await decide(request, { ...as, identityPolicy: operatorDocument })) !== "Allowed")
        denied.push(`${request.action} on ${request.resource}`);
    expect(denied).toEqual([]);
    const added = operatorDocument.Statement.slice(document.Statement.length).flatMap((s) =>
      [s.Action].flat(),
    );
    const used = new Set(unique.map((r) => r.action));
    // The organization's other listings (by OU, one account) are used by --ou and --accounts ID,ID.
    const orgListings = [
      "organizations:DescribeAccount",
      "organizations:ListAccountsForParent",
      "organizations:ListChildren",
    ];
    expect(added.filter((action) => !used.has(action) && !orgListings.includes(action))).toEqual([]);
    for (const action of [
      "securityhub:BatchImportFindings",
      "securityhub:GetFindings",
      "cloudwatch:GetMetricData",
      "sqs:ReceiveMessage",
      "sqs:DeleteMessage",
    ])
      expect(used).toContain(action);
    // The service policy alone (no operator flags) grants none of it.
    const withoutFlags: string[] = [];
    for (const request of unique.filter((r) => !allActions.includes(r.action)))
      if ((await decide(request, { ...as, identityPolicy: document })) === "Allowed")
        withoutFlags.push(request.action);
    expect(withoutFlags).toEqual([]);
    const otherQueue = { action: "sqs:ReceiveMessage", resource: `arn:aws:sqs:${REGION}:${ACCOUNT}:Other` };
    expect(await decide(otherQueue, { ...as, identityPolicy: operatorDocument })).toBe("ImplicitlyDenied");
  });
});

describe("least privilege with rolePermissionsBoundary (an organization that requires a boundary on every role)", () => {
  const RUNNER = `arn:aws:iam::${ACCOUNT}:role/flowlog-guard-prod-FixAllRole-a1b2c3`;
  const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/flowlog-guard/flowlog-guard-delivery`;

  /** The boundary the organization requires; it allows what delivery needs. */
  async function orgBoundary(): Promise<string> {
    const { Policy } = await testPool()
      .clientsFor(REGION)
      .iam.send(
        new CreatePolicyCommand({
          PolicyName: "OrgBoundary",
          PolicyDocument: JSON.stringify({
            Version: "2012-10-17",
            Statement: [{ Effect: "Allow", Action: "logs:*", Resource: "*" }],
          }),
        }),
      );
    return Policy!.Arn!;
  }

  /** A VPC, the ledger bus and the org's boundary; the policy naming it and its service policy. */
  async function boundedAccount() {
    const setup = testPool();
    await createVpc(setup, REGION);
    await setup.clientsFor(REGION).events.send(new CreateEventBusCommand({ Name: "ledger" }));
    const boundary = await orgBoundary();
    const bounded = parsePolicy({ ledgerBus: LEDGER, rolePermissionsBoundary: boundary });
    const boundedDocument = servicePolicyDocument({ partition: "aws", accountId: ACCOUNT, policy: bounded });
    return { setup, boundary, bounded, boundedDocument };
  }

  /** Such an organization's SCP: no role without the boundary, and the boundary never removed or replaced. */
  function requireBoundaryScp(boundary: string): PolicyDocument {
    const notTheBoundary = { StringNotEquals: { "iam:PermissionsBoundary": boundary } };
    return {
      Version: "2012-10-17",
      Statement: [
        { Effect: "Deny", Action: "iam:CreateRole", Resource: "*", Condition: notTheBoundary },
        {
          Effect: "Deny",
          Action: "iam:PutRolePermissionsBoundary",
          Resource: "*",
          Condition: notTheBoundary,
        },
        { Effect: "Deny", Action: "iam:DeleteRolePermissionsBoundary", Resource: "*" },
      ],
    };
  }

  it("every call (a new role, then a drifted one) is allowed by the boundary-mode policy, under the org's SCP and flowlog-guard's guardrails; CreateRole and PutRolePermissionsBoundary only with that boundary", async () => {
    const { setup, boundary, bounded, boundedDocument } = await boundedAccount();
    const first = await recordedFixAll(bounded, "lp-boundary-1");
    expect(first.report.summary).toMatchObject({ failed: 0, recordsUndelivered: 0 });
    const iam = setup.clientsFor(REGION).iam;
    await driftDeliveryRoleTrust(iam);
    await attachDenyPolicyAndBoundary(iam, "drift");
    const second = await recordedFixAll(bounded, "lp-boundary-2");
    expect(second.report.sharedChanges.map((change) => change.action).sort()).toEqual([
      "detach-role-policy",
      "put-role-permissions-boundary",
      "update-role-trust",
    ]);

    const requests = [...first.recorder.calls, ...second.recorder.calls].flatMap((call) =>
      authorizationRequestsOf(call, ACCOUNT),
    );
    const unique = [...new Map(requests.map((r) => [JSON.stringify(r), r])).values()];
    const guardrails = guardrailsPolicyDocument({ partition: "aws", policy: bounded });
    const scp: PolicyDocument = {
      Version: "2012-10-17",
      Statement: [...requireBoundaryScp(boundary).Statement, ...guardrails.Statement],
    };
    const as = { principalArn: RUNNER, accountId: ACCOUNT, identityPolicy: boundedDocument, scp };
    const denied: string[] = [];
    for (const request of unique) {
      const decision = await decide(request, as);
      if (decision !== "Allowed") denied.push(`${request.action} on ${request.resource}: ${decision}`);
    }
    expect(denied).toEqual([]);
    const granted = boundedDocument.Statement.flatMap((statement) => [statement.Action].flat());
    expect(new Set([...unique.map((r) => r.action), ...LOST_RESPONSE_ACTIONS])).toEqual(new Set(granted));
    expect(granted.filter((a) => !allActions.includes(a))).toEqual(["iam:PutRolePermissionsBoundary"]);
    expect(allActions.filter((a) => !granted.includes(a))).toEqual(["iam:DeleteRolePermissionsBoundary"]);

    const other = `arn:aws:iam::${ACCOUNT}:policy/drift`;
    const withoutScp = { principalArn: RUNNER, accountId: ACCOUNT, identityPolicy: boundedDocument };
    for (const request of [
      { action: "iam:CreateRole", resource: ROLE_ARN },
      { action: "iam:CreateRole", resource: ROLE_ARN, context: { "iam:PermissionsBoundary": other } },
      {
        action: "iam:PutRolePermissionsBoundary",
        resource: ROLE_ARN,
        context: { "iam:PermissionsBoundary": other },
      },
      { action: "iam:DeleteRolePermissionsBoundary", resource: ROLE_ARN },
    ])
      expect(await decide(request, withoutScp), JSON.stringify(request)).toBe("ImplicitlyDenied");
    // Without the setting, flowlog-guard's repair removes the boundary, which such an SCP refuses.
    const removal = { action: "iam:DeleteRolePermissionsBoundary", resource: ROLE_ARN };
    expect(await decide(removal, { ...as, identityPolicy: document })).toBe("ExplicitlyDenied");
    // An administrator still cannot change the delivery role's boundary (the guardrails).
    const admin = `arn:aws:iam::${ACCOUNT}:role/Admin`;
    const put = {
      ...removal,
      action: "iam:PutRolePermissionsBoundary",
      context: { "iam:PermissionsBoundary": boundary },
    };
    expect(await decide(put, { principalArn: admin, accountId: ACCOUNT, scp })).toBe("ExplicitlyDenied");
  });

  it("moto enforcing IAM: without iam:PutRolePermissionsBoundary, repairing the boundary fails with AccessDenied naming it", async () => {
    const { setup, bounded, boundedDocument } = await boundedAccount();
    await recordedFixAll(bounded, "lp-boundary-moto");
    await attachDenyPolicyAndBoundary(setup.clientsFor(REGION).iam, "drift");
    const runner = await runnerWith(asMotoCanEnforce(boundedDocument, "iam:PutRolePermissionsBoundary"));
    await setAuthEnforcement("0");

    const report = await runRemediation({
      policy: bounded,
      regions: [REGION],
      homeRegion: REGION,
      mode: "fix",
      trigger: { kind: "fix-all", runId: "lp-boundary-denied" },
      pool: runner,
      sleep: noSleep,
    });

    expect(JSON.stringify(report.errors)).toContain(
      "not authorized to perform: iam:PutRolePermissionsBoundary",
    );
  });

  it.each([
    ["CloudWatch Logs", {}],
    ["S3", { destinationType: "s3", logDestination: "arn:aws:s3:::lp-archive/vpc" }],
  ] as const)(
    "--doctor (%s destination): every call doctor makes is allowed by the policy printed with it, and each action it adds is used",
    async (_kind, settings) => {
      const setup = testPool();
      await createBucket(setup, REGION, "lp-archive");
      await createBucket(setup, REGION, "lp-trail");
      const cloudtrail = new CloudTrailClient({ region: REGION });
      await cloudtrail.send(
        new CreateTrailCommand({ Name: "lp-trail", S3BucketName: "lp-trail", IsMultiRegionTrail: true }),
      );
      await cloudtrail.send(new StartLoggingCommand({ Name: "lp-trail" }));
      await setup.clientsFor(REGION).events.send(new CreateEventBusCommand({ Name: "ledger" }));
      const doctorPolicy = parsePolicy({ ledgerBus: LEDGER, ...settings });
      const recorder = recordingPool(testPool());
      const checks = await runDoctor({
        pool: recorder,
        policy: doctorPolicy,
        homeRegion: REGION,
        regions: [REGION],
      });
      expect(checks.map((check) => check.name)).toContain("credentials");

      const base = servicePolicyDocument({ partition: "aws", accountId: ACCOUNT, policy: doctorPolicy });
      const added = operatorStatements({
        partition: "aws",
        accountId: ACCOUNT,
        policy: doctorPolicy,
        doctor: true,
      });
      const doctorDocument: PolicyDocument = {
        Version: "2012-10-17",
        Statement: [...base.Statement, ...added],
      };
      const requests = recorder.calls.flatMap((call) => authorizationRequestsOf(call, ACCOUNT));
      const unique = [...new Map(requests.map((r) => [JSON.stringify(r), r])).values()];
      const as = { principalArn: RUNNER, accountId: ACCOUNT, identityPolicy: doctorDocument };
      const denied: string[] = [];
      for (const request of unique)
        if ((await decide(request, as)) !== "Allowed")
          denied.push(`${request.action} on ${request.resource}`);
      expect(denied).toEqual([]);
      const used = new Set(unique.map((r) => r.action));
      // GetRole maps an assumed-role session to its role; moto's caller is an IAM user.
      const unused = added
        .flatMap((s) => [s.Action].flat())
        .filter((a) => !used.has(a) && a !== "iam:GetRole");
      expect(unused).toEqual([]);
      for (const action of [
        "cloudtrail:GetTrailStatus",
        "cloudtrail:GetEventSelectors",
        "iam:SimulatePrincipalPolicy",
      ])
        expect(used).toContain(action);
      // Without --doctor the service policy does not cover doctor's own reads.
      const withoutFlag: string[] = [];
      for (const request of unique.filter((r) => r.action.startsWith("cloudtrail:")))
        if ((await decide(request, { ...as, identityPolicy: base })) === "Allowed")
          withoutFlag.push(request.action);
      expect(withoutFlag).toEqual([]);
    },
  );
});
