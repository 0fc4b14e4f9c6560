import {
  CreateLogGroupCommand,
  DeleteRetentionPolicyCommand,
  DescribeLogGroupsCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import {
  CreatePolicyCommand,
  DeleteRolePermissionsBoundaryCommand,
  GetPolicyCommand,
  GetRoleCommand,
  ListAttachedRolePoliciesCommand,
} from "@aws-sdk/client-iam";
import { creationTags, parsePolicy, runRemediation } from "@flowlog-guard/core";
import { describe, expect, it } from "vitest";
import {
  attachDenyPolicyAndBoundary,
  createVpc,
  flowLogsOf,
  logGroup,
  noSleep,
  run,
  testPool,
} from "./support/aws.ts";
import { recordingPool } from "./support/call-recorder.ts";
import { runCli } from "./support/cli.ts";

/**
 * Issue #11 item 8: flowlog-guard restores its own resources to their declared state (a delivery role
 * with no managed policy and no boundary; a managed log group with its retention) and records before
 * and after; it never deletes a customer's resource (a detached policy stays as it is).
 */
const REGION = "eu-west-1";
const ROLE = "flowlog-guard-delivery";
const DAY = 86_400_000;

/** A deny-all-logs policy attached to the delivery role and the same policy put as its boundary. */
const driftRole = (pool: ReturnType<typeof testPool>) =>
  attachDenyPolicyAndBoundary(pool.clientsFor(REGION).iam, "platform-deny-logs");

describe("drift: a managed policy or a permissions boundary on the delivery role", () => {
  it("is detached and removed from our role only, recorded before/after, and the policy itself stays", async () => {
    const pool = testPool();
    const vpcId = await createVpc(pool, REGION);
    await run(pool, { regions: [REGION] });
    const arn = await driftRole(pool);

    const scan = await run(pool, { regions: [REGION], mode: "scan" });
    const report = await run(pool, { regions: [REGION] });
    const again = await run(pool, { regions: [REGION] });

    expect(scan.plannedSharedActions).toEqual([
      expect.objectContaining({ kind: "detach-role-policy", target: ROLE }),
      expect.objectContaining({ kind: "delete-role-permissions-boundary", target: ROLE }),
    ]);
    const iam = pool.clientsFor(REGION).iam;
    expect(
      (await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: ROLE }))).AttachedPolicies,
    ).toEqual([]);
    expect(
      (await iam.send(new GetRoleCommand({ RoleName: ROLE }))).Role?.PermissionsBoundary,
    ).toBeUndefined();
    expect((await iam.send(new GetPolicyCommand({ PolicyArn: arn }))).Policy?.Arn).toBe(arn);
    expect(report.sharedChanges).toEqual([
      expect.objectContaining({
        action: "detach-role-policy",
        outcome: "applied",
        region: "global",
        target: expect.objectContaining({ type: "iam-role", id: ROLE }),
        before: { attachedPolicyArn: arn },
        after: { attachedPolicyArn: null },
      }),
      expect.objectContaining({
        action: "delete-role-permissions-boundary",
        outcome: "applied",
        before: { permissionsBoundaryArn: arn },
        after: { permissionsBoundaryArn: null },
      }),
    ]);
    expect(again.sharedChanges).toEqual([]);
    expect(again.plannedSharedActions).toEqual([]);
    expect(await flowLogsOf(pool, REGION, vpcId)).toHaveLength(1);
  });

  it("reads the attachments once per account and run, and not at all for a role this run creates", async () => {
    const setup = testPool();
    await createVpc(setup, REGION);
    await createVpc(setup, "us-east-1");
    const recorder = recordingPool(testPool());
    const iamCalls = async () => {
      recorder.calls.splice(0);
      await run(recorder, { regions: [REGION, "us-east-1"] });
      return recorder.calls.filter((call) => call.service === "iam").map((call) => call.operation);
    };

    const first = await iamCalls();
    const second = await iamCalls();

    expect(first).toEqual(["GetRole", "CreateRole", "GetRolePolicy", "PutRolePolicy"]);
    expect(second).toEqual(["GetRole", "GetRolePolicy", "ListAttachedRolePolicies"]);
  });

  it("makes scan exit 3 and shows in dry-run what fix-all would detach", async () => {
    const pool = testPool();
    await createVpc(pool, REGION);
    expect((await runCli(["fix-all", "--regions", REGION])).code).toBe(0);
    const arn = await driftRole(pool);

    const scan = await runCli(["scan", "--regions", REGION, "--json"]);
    const dryRun = await runCli(["fix-all", "--dry-run", "--regions", REGION]);
    const doctor = await runCli(["doctor", "--regions", REGION]);

    expect(scan.code).toBe(3);
    expect(JSON.parse(scan.stdout).plannedSharedActions).toEqual([
      expect.objectContaining({ kind: "detach-role-policy", reason: expect.stringContaining(arn) }),
      expect.objectContaining({ kind: "delete-role-permissions-boundary" }),
    ]);
    expect(dryRun.code).toBe(3);
    expect(dryRun.stdout).toContain("Shared changes fix-all would make (2):");
    expect(dryRun.stdout).toContain(`detach-role-policy ${ROLE}`);
    expect(doctor.stdout).toContain(`managed policies attached: ${arn}`);
  });
});

describe("drift with rolePermissionsBoundary: an organization that requires a boundary on every role", () => {
  /** The boundary an SCP would require: it allows what delivery needs. */
  async function orgBoundary(pool: ReturnType<typeof testPool>): Promise<string> {
    const { Policy } = await pool.clientsFor(REGION).iam.send(
      new CreatePolicyCommand({
        PolicyName: "OrgBoundary",
        Path: "/boundaries/",
        PolicyDocument: JSON.stringify({
          Version: "2012-10-17",
          Statement: [{ Effect: "Allow", Action: "logs:*", Resource: "*" }],
        }),
      }),
    );
    return Policy!.Arn!;
  }
  const boundaryOf = async (pool: ReturnType<typeof testPool>) =>
    (await pool.clientsFor(REGION).iam.send(new GetRoleCommand({ RoleName: ROLE }))).Role?.PermissionsBoundary
      ?.PermissionsBoundaryArn;

  it("creates the role with it, puts it back over another boundary or none (never deletes it), and records before/after", async () => {
    const pool = testPool();
    const vpcId = await createVpc(pool, REGION);
    const required = await orgBoundary(pool);
    const policy = { rolePermissionsBoundary: required };

    const created = await run(pool, { regions: [REGION], policy });
    expect(await boundaryOf(pool)).toBe(required);
    expect(created.sharedChanges.find((change) => change.action === "create-role")?.after).toMatchObject({
      permissionsBoundaryArn: required,
    });
    const other = await driftRole(pool);
    const scan = await run(pool, { regions: [REGION], mode: "scan", policy });
    const repaired = await run(pool, { regions: [REGION], policy });
    const again = await run(pool, { regions: [REGION], policy });

    // The boundary first: an SCP that requires it may refuse the role's other repairs without it.
    expect(scan.plannedSharedActions).toEqual([
      expect.objectContaining({
        kind: "put-role-permissions-boundary",
        target: ROLE,
        reason: expect.stringContaining(`has permissions boundary ${other}`),
      }),
      expect.objectContaining({ kind: "detach-role-policy", target: ROLE }),
    ]);
    expect(await boundaryOf(pool)).toBe(required);
    expect(repaired.sharedChanges.map((change) => change.action)).toEqual([
      "put-role-permissions-boundary",
      "detach-role-policy",
    ]);
    expect(repaired.sharedChanges[0]).toMatchObject({
      outcome: "applied",
      region: "global",
      target: expect.objectContaining({ type: "iam-role", id: ROLE }),
      before: { permissionsBoundaryArn: other },
      after: { permissionsBoundaryArn: required },
    });
    expect(again.sharedChanges).toEqual([]);
    expect(again.plannedSharedActions).toEqual([]);

    await pool.clientsFor(REGION).iam.send(new DeleteRolePermissionsBoundaryCommand({ RoleName: ROLE }));
    const restored = await run(pool, { regions: [REGION], policy });
    expect(restored.sharedChanges).toEqual([
      expect.objectContaining({
        action: "put-role-permissions-boundary",
        before: { permissionsBoundaryArn: null },
        after: { permissionsBoundaryArn: required },
      }),
    ]);
    expect(await boundaryOf(pool)).toBe(required);
    expect(await flowLogsOf(pool, REGION, vpcId)).toHaveLength(1);
  });

  it("without the setting, the same role's boundary is removed as before", async () => {
    const pool = testPool();
    await createVpc(pool, REGION);
    const required = await orgBoundary(pool);
    await run(pool, { regions: [REGION], policy: { rolePermissionsBoundary: required } });

    const report = await run(pool, { regions: [REGION] });

    expect(report.sharedChanges).toEqual([
      expect.objectContaining({
        action: "delete-role-permissions-boundary",
        before: { permissionsBoundaryArn: required },
      }),
    ]);
    expect(await boundaryOf(pool)).toBeUndefined();
  });

  it("CLI: --role-permissions-boundary shows the put in dry-run; a malformed ARN is refused before any change", async () => {
    const pool = testPool();
    await createVpc(pool, REGION);
    const required = await orgBoundary(pool);
    expect((await runCli(["fix-all", "--regions", REGION])).code).toBe(0);

    const bad = await runCli(["fix-all", "--regions", REGION, "--role-permissions-boundary", "OrgBoundary"]);
    const badEnv = await runCli(["fix-all", "--regions", REGION], {
      env: { FLOWLOG_GUARD_ROLE_PERMISSIONS_BOUNDARY: "arn:aws:iam::123456789012:role/OrgBoundary" },
    });
    const dryRun = await runCli([
      "fix-all",
      "--dry-run",
      "--regions",
      REGION,
      "--role-permissions-boundary",
      required,
    ]);

    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(
      "--role-permissions-boundary: an IAM managed policy ARN such as arn:aws:iam::",
    );
    expect(badEnv.code).toBe(2);
    expect(badEnv.stderr).toContain("FLOWLOG_GUARD_ROLE_PERMISSIONS_BOUNDARY");
    expect(await boundaryOf(pool)).toBeUndefined();
    expect(dryRun.code).toBe(3);
    expect(dryRun.stdout).toContain(`put-role-permissions-boundary ${ROLE}`);
    expect(await boundaryOf(pool)).toBeUndefined();

    const flag = ["--regions", REGION, "--role-permissions-boundary", required];
    const doctorBefore = await runCli(["doctor", ...flag]);
    expect(await runCli(["fix-all", ...flag]).then((r) => r.code)).toBe(0);
    const doctorAfter = await runCli(["doctor", ...flag]);
    expect(doctorBefore.stdout).toContain(
      `permissions boundary: none (flowlog-guard declares no managed policy and permissions boundary ${required}`,
    );
    expect(await boundaryOf(pool)).toBe(required);
    expect(doctorAfter.stdout).toContain(`nothing attached, permissions boundary ${required}`);
  });
});

describe("drift: a managed log group left never expiring (an interrupted run)", () => {
  /** What an interrupted run leaves: the group, tagged as flowlog-guard's, with no retention and no flow log. */
  async function interruptedGroup(pool: ReturnType<typeof testPool>, vpcId: string): Promise<string> {
    const name = `/aws/vpc-flow-logs/${vpcId}`;
    const tags = Object.fromEntries(creationTags("interrupted").map((tag) => [tag.Key, tag.Value]));
    await pool.clientsFor(REGION).logs.send(new CreateLogGroupCommand({ logGroupName: name, tags }));
    return name;
  }

  it("gets the policy's retention while younger than it, recorded as before: never expire", async () => {
    const pool = testPool();
    const vpcId = await createVpc(pool, REGION);
    const name = await interruptedGroup(pool, vpcId);

    const report = await run(pool, { regions: [REGION], vpcIds: [vpcId] });
    const again = await run(pool, { regions: [REGION], vpcIds: [vpcId] });

    expect((await logGroup(pool, REGION, name))?.retentionInDays).toBe(365);
    const changes = report.vpcs[0]!.changes;
    expect(changes.map((change) => change.action)).toEqual(["put-retention-policy", "create-flow-log"]);
    expect(changes[0]).toMatchObject({
      before: { retentionInDays: null },
      after: { retentionInDays: 365 },
      reason: expect.stringContaining("never expires its events"),
    });
    expect(again.vpcs[0]!.changes).toEqual([]);
    expect(again.vpcs[0]!.status).toBe("compliant");
    expect(await flowLogsOf(pool, REGION, vpcId)).toHaveLength(1);
  });

  it("gets it back after DeleteRetentionPolicy on a young managed group", async () => {
    const pool = testPool();
    const vpcId = await createVpc(pool, REGION);
    await run(pool, { regions: [REGION], vpcIds: [vpcId] });
    const name = `/aws/vpc-flow-logs/${vpcId}`;
    await pool.clientsFor(REGION).logs.send(new DeleteRetentionPolicyCommand({ logGroupName: name }));

    const report = await run(pool, { regions: [REGION], vpcIds: [vpcId] });

    expect((await logGroup(pool, REGION, name))?.retentionInDays).toBe(365);
    expect(report.vpcs[0]!.changes).toEqual([
      expect.objectContaining({ action: "put-retention-policy", before: { retentionInDays: null } }),
    ]);
  });

  it("is left never expiring once older than the retention (events would be lost), and the report says why", async () => {
    const pool = testPool();
    const vpcId = await createVpc(pool, REGION);
    const name = await interruptedGroup(pool, vpcId);
    const later = new Date(Date.now() + 400 * DAY);

    const report = await runRemediation({
      policy: parsePolicy({}),
      regions: [REGION],
      mode: "fix",
      trigger: { kind: "cli", runId: "old-group" },
      pool,
      sleep: noSleep,
      vpcIds: [vpcId],
      now: () => later,
    });

    expect((await logGroup(pool, REGION, name))?.retentionInDays).toBeUndefined();
    expect(report.vpcs[0]!.changes.map((change) => change.action)).toEqual(["create-flow-log"]);
    expect(report.vpcs[0]!.reason).toContain("400 days old: left as it is");
  });

  it("leaves a customer's never-expiring group untouched (no managed tag)", async () => {
    const pool = testPool();
    const vpcId = await createVpc(pool, REGION);
    const name = `/aws/vpc-flow-logs/${vpcId}`;
    const logs = pool.clientsFor(REGION).logs;
    await logs.send(new CreateLogGroupCommand({ logGroupName: name, tags: { team: "network" } }));

    const report = await run(pool, { regions: [REGION], vpcIds: [vpcId] });

    const group = (await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: name })))
      .logGroups![0]!;
    expect(group.retentionInDays).toBeUndefined();
    expect(report.vpcs[0]!.changes.map((change) => change.action)).toEqual(["create-flow-log"]);
  });
});
