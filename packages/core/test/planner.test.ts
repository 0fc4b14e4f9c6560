import { describe, expect, it } from "vitest";
import { parsePolicy } from "../src/config.ts";
import { flowLogQualifies } from "../src/evaluation.ts";
import { EXCEPTION_TAGS } from "../src/exceptions.ts";
import type { AccountInventory } from "../src/model.ts";
import { compareVpcWorkOrder, planRemediation } from "../src/planner.ts";
import { deliveryRolePermissionsPolicy, deliveryRoleTrustPolicy } from "../src/policy-documents.ts";
import { ACCOUNT, aFlowLog, aLogGroup, anInventory, aRegion, aVpc } from "./builders.ts";

const NOW = new Date("2026-06-01T12:00:00Z");
const policy = parsePolicy({});
const healthyRole = {
  exists: true,
  arn: `arn:aws:iam::${ACCOUNT}:role/flowlog-guard/flowlog-guard-delivery`,
  trustPolicy: deliveryRoleTrustPolicy("aws", ACCOUNT),
  permissionsPolicy: deliveryRolePermissionsPolicy(policy.logGroupName, "aws", ACCOUNT),
};

function planOne(inventory: AccountInventory, overrides: Record<string, unknown> = {}) {
  const plan = planRemediation(inventory, parsePolicy(overrides), NOW);
  const vpc = plan.vpcs[0]!;
  const kinds = vpc.actionKeys.map((key) => plan.actions.find((action) => action.key === key)!.kind);
  return { plan, vpc, kinds };
}

describe("flowLogQualifies: ACTIVE, delivering, and capturing the traffic the policy asks", () => {
  it.each([
    [{}, "REJECT", true],
    [{}, "ALL", false],
    [{ trafficType: "ALL" }, "REJECT", true],
    [{ trafficType: "ALL" }, "ALL", true],
    [{ trafficType: "ACCEPT" }, "REJECT", false],
    [{ trafficType: "ACCEPT" }, "ALL", false],
    [{ trafficType: undefined }, "REJECT", false],
    [{ trafficType: "ALL", deliverLogsStatus: "FAILED" }, "ALL", false],
    [{ trafficType: "ALL", flowLogStatus: undefined }, "ALL", false],
    [{ destinationType: "s3", logGroupName: undefined, logDestination: "arn:aws:s3:::b" }, "REJECT", true],
  ] as const)("%o with policy %s -> %s", (overrides, trafficType, expected) => {
    expect(flowLogQualifies(aFlowLog(overrides), trafficType)).toBe(expected);
  });
});

describe("planRemediation: trafficType ALL is enforced", () => {
  it("does not count a customer's REJECT-only flow log: adds an ALL flow log, keeps the customer's, says why", () => {
    const rejectOnly = aFlowLog({ flowLogId: "fl-0123456789abcdef0" });
    const { plan, vpc, kinds } = planOne(
      anInventory({ role: healthyRole, regions: [aRegion({ flowLogs: [rejectOnly] })] }),
      { trafficType: "ALL" },
    );

    expect(vpc.status).toBe("non-compliant");
    expect(vpc.reason).toBe(
      "no qualifying flow log: flow log fl-0123456789abcdef0 captures only REJECT traffic; the policy asks ALL",
    );
    expect(vpc.flowLogIds).toEqual([]);
    expect(kinds).toEqual(["create-log-group", "put-retention-policy", "create-flow-log"]);
    expect(plan.actions.find((action) => action.kind === "create-flow-log")).toMatchObject({
      trafficType: "ALL",
    });
  });

  it("counts an ALL flow log under either policy, and a REJECT one only under REJECT", () => {
    const region = (trafficType: string) => aRegion({ flowLogs: [aFlowLog({ trafficType })] });
    expect(planOne(anInventory({ regions: [region("ALL")] }), { trafficType: "ALL" }).vpc.status).toBe(
      "compliant",
    );
    expect(planOne(anInventory({ regions: [region("REJECT")] })).vpc.status).toBe("compliant");
  });

  it("replaces flowlog-guard's own REJECT flow log (an older policy) with an ALL one, leaving the old one", () => {
    const ours = aFlowLog({ managed: true });
    const { vpc, kinds } = planOne(
      anInventory({ role: healthyRole, regions: [aRegion({ flowLogs: [ours], logGroups: [aLogGroup()] })] }),
      { trafficType: "ALL" },
    );
    expect(vpc.status).toBe("non-compliant");
    expect(vpc.reason).toContain("captures only REJECT traffic; the policy asks ALL");
    expect(kinds).toEqual(["create-flow-log"]);
  });

  it("does not repair flowlog-guard's failing REJECT flow log when the policy asks ALL: adds an ALL one", () => {
    const failing = aFlowLog({
      managed: true,
      deliverLogsStatus: "FAILED",
      deliverLogsErrorMessage: "Access error",
    });
    const { kinds } = planOne(
      anInventory({
        role: healthyRole,
        regions: [aRegion({ flowLogs: [failing], logGroups: [aLogGroup()] })],
      }),
      { trafficType: "ALL" },
    );
    expect(kinds).toEqual(["create-flow-log"]);
  });
});

describe("planRemediation: VPC status and actions", () => {
  it.each([
    {
      name: "no flow log: log group, retention, flow log",
      region: {},
      status: "non-compliant",
      kinds: ["create-log-group", "put-retention-policy", "create-flow-log"],
      reason: "no flow log",
    },
    {
      name: "customer S3 flow log: compliant, nothing to do",
      region: {
        flowLogs: [
          aFlowLog({ destinationType: "s3", logGroupName: undefined, logDestination: "arn:aws:s3:::x" }),
        ],
      },
      status: "compliant",
      kinds: [],
      reason: "arn:aws:s3:::x",
    },
    {
      name: "ACCEPT-only flow log: remediated",
      region: { flowLogs: [aFlowLog({ trafficType: "ACCEPT" })] },
      status: "non-compliant",
      kinds: ["create-log-group", "put-retention-policy", "create-flow-log"],
      reason: "flow log fl-0000000000000000a captures only ACCEPT traffic; the policy asks REJECT",
    },
    {
      name: "foreign flow log failing delivery: remediated",
      region: {
        flowLogs: [aFlowLog({ deliverLogsStatus: "FAILED", deliverLogsErrorMessage: "Access error" })],
      },
      status: "non-compliant",
      kinds: ["create-log-group", "put-retention-policy", "create-flow-log"],
      reason: "Access error",
    },
    {
      name: "our flow log, group healthy: compliant",
      region: { flowLogs: [aFlowLog({ managed: true })], logGroups: [aLogGroup()] },
      status: "compliant",
      kinds: [],
      reason: "is active",
    },
    {
      name: "our flow log, group deleted: recreate group and retention, no second flow log",
      region: { flowLogs: [aFlowLog({ managed: true })], logGroups: [] },
      status: "non-compliant",
      kinds: ["create-log-group", "put-retention-policy"],
      reason: "is missing",
    },
    {
      name: "our flow log, retention lowered to 30: raise it",
      region: { flowLogs: [aFlowLog({ managed: true })], logGroups: [aLogGroup({ retentionInDays: 30 })] },
      status: "non-compliant",
      kinds: ["put-retention-policy"],
      reason: "30 days",
    },
    {
      name: "our flow log failing delivery: repair, never duplicate",
      region: {
        flowLogs: [
          aFlowLog({ managed: true, deliverLogsStatus: "FAILED", deliverLogsErrorMessage: "Access error" }),
        ],
        logGroups: [aLogGroup()],
      },
      status: "non-compliant",
      kinds: [],
      reason: "fails delivery",
    },
    {
      name: "pre-existing group that never expires: left alone",
      region: { logGroups: [aLogGroup({ retentionInDays: undefined })] },
      status: "non-compliant",
      kinds: ["create-flow-log"],
      reason: "no flow log",
    },
    {
      name: "pre-existing group with 3653 days: left alone",
      region: { logGroups: [aLogGroup({ retentionInDays: 3653 })] },
      status: "non-compliant",
      kinds: ["create-flow-log"],
      reason: "no flow log",
    },
    {
      name: "pre-existing group with 7 days: raised",
      region: { logGroups: [aLogGroup({ retentionInDays: 7 })] },
      status: "non-compliant",
      kinds: ["put-retention-policy", "create-flow-log"],
      reason: "no flow log",
    },
  ])("$name", ({ region, status, kinds, reason }) => {
    const result = planOne(anInventory({ role: healthyRole, regions: [aRegion(region)] }));

    expect(result.vpc.status).toBe(status);
    expect(result.kinds).toEqual(kinds);
    expect(result.vpc.reason).toContain(reason);
  });

  it.each([
    { retentionInDays: undefined, raised: [] },
    { retentionInDays: 1, raised: [{ before: 1, retentionDays: 365 }] },
    { retentionInDays: 7, raised: [{ before: 7, retentionDays: 365 }] },
    { retentionInDays: 364, raised: [{ before: 364, retentionDays: 365 }] },
    { retentionInDays: 365, raised: [] },
    { retentionInDays: 400, raised: [] },
    { retentionInDays: 3653, raised: [] },
  ])(
    "never plans a retention below the current one ($retentionInDays days)",
    ({ retentionInDays, raised }) => {
      const { plan } = planOne(
        anInventory({
          role: healthyRole,
          regions: [aRegion({ logGroups: [aLogGroup({ retentionInDays })] })],
        }),
      );
      const retention = plan.actions.filter((action) => action.kind === "put-retention-policy");
      expect(retention.map(({ before, retentionDays }) => ({ before, retentionDays }))).toEqual(raised);
    },
  );
});

describe("planRemediation: a managed log group left never expiring (an interrupted run)", () => {
  const DAY = 86_400_000;
  const managedGroup = (ageDays: number, managed = true) =>
    aLogGroup({ retentionInDays: undefined, managed, creationTime: NOW.getTime() - ageDays * DAY });

  it.each([
    { name: "managed, 0 days old", group: managedGroup(0), raised: true },
    { name: "managed, 364 days old", group: managedGroup(364), raised: true },
    {
      name: "managed, 365 days old (events older than the retention would go)",
      group: managedGroup(365),
      raised: false,
    },
    { name: "managed, 900 days old", group: managedGroup(900), raised: false },
    { name: "customer's (untagged), 1 day old", group: managedGroup(1, false), raised: false },
    {
      name: "tags not read",
      group: aLogGroup({ retentionInDays: undefined, creationTime: NOW.getTime() }),
      raised: false,
    },
  ])("$name -> retention planned: $raised", ({ group, raised }) => {
    const { plan, vpc } = planOne(
      anInventory({
        role: healthyRole,
        regions: [aRegion({ flowLogs: [aFlowLog({ managed: true })], logGroups: [group] })],
      }),
    );
    const retention = plan.actions.filter((action) => action.kind === "put-retention-policy");
    expect(
      retention.map(({ before, newGroup, retentionDays }) => ({ before, newGroup, retentionDays })),
    ).toEqual(raised ? [{ before: null, newGroup: false, retentionDays: 365 }] : []);
    expect(vpc.status).toBe(raised ? "non-compliant" : "compliant");
    if (raised) expect(vpc.reason).toContain("never expires its events");
  });

  it("says why an old managed group is left never expiring", () => {
    const { vpc } = planOne(
      anInventory({
        role: healthyRole,
        regions: [aRegion({ flowLogs: [aFlowLog({ managed: true })], logGroups: [managedGroup(400)] })],
      }),
    );
    expect(vpc.reason).toContain("is 400 days old: left as it is");
  });

  it("gives the retention to a managed group whose flow log is still missing (CreateFlowLogs not reached)", () => {
    const { plan, kinds } = planOne(
      anInventory({ role: healthyRole, regions: [aRegion({ logGroups: [managedGroup(2)] })] }),
    );
    expect(kinds).toEqual(["put-retention-policy", "create-flow-log"]);
    expect(plan.actions.find((a) => a.kind === "put-retention-policy")?.reason).toContain("loses no event");
  });
});

describe("planRemediation: default VPCs and exceptions", () => {
  it.each([
    { includeDefaultVpcs: true, status: "non-compliant" },
    { includeDefaultVpcs: false, status: "exempt" },
  ])(
    "default VPC with includeDefaultVpcs=$includeDefaultVpcs is $status",
    ({ includeDefaultVpcs, status }) => {
      const inventory = anInventory({ regions: [aRegion({ vpcs: [aVpc({ isDefault: true })] })] });
      expect(planOne(inventory, { includeDefaultVpcs }).vpc.status).toBe(status);
    },
  );

  it.each([
    { expires: "2026-07-01", status: "exempt", state: "valid" },
    { expires: "2026-05-31T23:59:59Z", status: "non-compliant", state: "expired" },
    { expires: "2026-06-01T12:00:00Z", status: "non-compliant", state: "expired" },
    { expires: "2027-06-02", status: "non-compliant", state: "invalid" },
    { expires: "01/07/2026", status: "non-compliant", state: "invalid" },
  ])("exception expiring $expires -> $status ($state)", ({ expires, status, state }) => {
    const tags = { [EXCEPTION_TAGS.owner]: "team-a", [EXCEPTION_TAGS.expires]: expires };
    const { vpc, kinds } = planOne(anInventory({ regions: [aRegion({ vpcs: [aVpc({ tags })] })] }));

    expect(vpc.status).toBe(status);
    expect(vpc.exception?.state).toBe(state);
    expect(kinds).toEqual(
      status === "non-compliant" ? ["create-log-group", "put-retention-policy", "create-flow-log"] : [],
    );
  });

  it("keeps existing flow logs of an exempt VPC and plans nothing for it", () => {
    const tags = { [EXCEPTION_TAGS.owner]: "team-a", [EXCEPTION_TAGS.expires]: "2026-07-01" };
    const { plan, vpc } = planOne(
      anInventory({
        regions: [aRegion({ vpcs: [aVpc({ tags })], flowLogs: [aFlowLog({ trafficType: "ACCEPT" })] })],
      }),
    );
    expect(vpc.status).toBe("exempt");
    expect(plan.actions).toEqual([]);
  });
});

describe("planRemediation: the delivery role", () => {
  it("creates the role (trust and inline policy) when missing and needed", () => {
    const { plan } = planOne(anInventory({ role: { exists: false } }));
    expect(plan.actions.slice(0, 2).map((action) => action.kind)).toEqual(["create-role", "put-role-policy"]);
  });

  it("repairs drifted trust, leaving a correct inline policy alone", () => {
    const drifted = { ...healthyRole, trustPolicy: { Version: "2012-10-17" as const, Statement: [] } };
    const { plan } = planOne(anInventory({ role: drifted }));
    expect(plan.actions.filter((a) => a.kind.includes("role")).map((a) => a.kind)).toEqual([
      "update-role-trust",
    ]);
  });

  it("detaches every managed policy and removes the boundary, recording which (declared state: none)", () => {
    const deny = `arn:aws:iam::${ACCOUNT}:policy/deny-logs`;
    const admin = "arn:aws:iam::aws:policy/AdministratorAccess";
    const boundary = `arn:aws:iam::${ACCOUNT}:policy/developer-boundary`;
    const drifted = { ...healthyRole, attachedPolicyArns: [deny, admin], permissionsBoundaryArn: boundary };
    const { plan } = planOne(anInventory({ role: drifted }));
    const roleActions = plan.actions.filter((a) => a.kind.includes("role"));
    expect(roleActions).toEqual([
      expect.objectContaining({
        kind: "detach-role-policy",
        policyArn: deny,
        key: `role-attached-policy:flowlog-guard-delivery:${deny}`,
      }),
      expect.objectContaining({ kind: "detach-role-policy", policyArn: admin }),
      expect.objectContaining({ kind: "delete-role-permissions-boundary", boundaryArn: boundary }),
    ]);
    expect(roleActions[0]!.reason).toContain("leaves the policy itself as it is");
    expect(plan.vpcs[0]!.actionKeys.some((key) => key.startsWith("role"))).toBe(false);
  });

  it("plans no attachment change for a role with none (or one not read: a role created by this run)", () => {
    for (const role of [{ ...healthyRole, attachedPolicyArns: [] }, healthyRole, { exists: false }]) {
      const { plan } = planOne(anInventory({ role }));
      expect(plan.actions.map((a) => a.kind)).not.toContain("detach-role-policy");
      expect(plan.actions.map((a) => a.kind)).not.toContain("delete-role-permissions-boundary");
    }
  });

  describe("rolePermissionsBoundary: the delivery role carries exactly the configured boundary", () => {
    const required = `arn:aws:iam::${ACCOUNT}:policy/org/OrgBoundary`;
    const other = `arn:aws:iam::${ACCOUNT}:policy/developer-boundary`;
    const boundaryActions = (role: typeof healthyRole & { permissionsBoundaryArn?: string }) =>
      planOne(anInventory({ role }), { rolePermissionsBoundary: required }).plan.actions.filter((a) =>
        a.kind.includes("boundary"),
      );

    it.each([
      ["no boundary", undefined, null],
      ["another boundary", other, other],
    ])("a role with %s gets PutRolePermissionsBoundary, never a delete", (_name, current, before) => {
      const role = current ? { ...healthyRole, permissionsBoundaryArn: current } : healthyRole;
      expect(boundaryActions(role)).toEqual([
        expect.objectContaining({
          kind: "put-role-permissions-boundary",
          key: "role-boundary:flowlog-guard-delivery",
          before,
          after: required,
        }),
      ]);
      expect(boundaryActions(role)[0]!.reason).toContain(`rolePermissionsBoundary requires ${required}`);
    });

    it("puts the boundary on before the role's other repairs (an SCP may refuse them on a role without it)", () => {
      const role = {
        ...healthyRole,
        trustPolicy: deliveryRoleTrustPolicy("aws", "999999999999"),
        permissionsPolicy: { Version: "2012-10-17" as const, Statement: [] },
        attachedPolicyArns: [`arn:aws:iam::${ACCOUNT}:policy/deny-logs`],
      };
      const { plan } = planOne(anInventory({ role }), { rolePermissionsBoundary: required });
      expect(plan.actions.filter((a) => a.kind.includes("role")).map((a) => a.kind)).toEqual([
        "put-role-permissions-boundary",
        "update-role-trust",
        "put-role-policy",
        "detach-role-policy",
      ]);
    });

    it("a role that has it: nothing; managed policies are still detached", () => {
      const role = {
        ...healthyRole,
        permissionsBoundaryArn: required,
        attachedPolicyArns: [`arn:aws:iam::${ACCOUNT}:policy/deny-logs`],
      };
      const { plan } = planOne(anInventory({ role }), { rolePermissionsBoundary: required });
      expect(plan.actions.filter((a) => a.kind.includes("role")).map((a) => a.kind)).toEqual([
        "detach-role-policy",
      ]);
    });

    it("{accountId} names each account's own policy (IAM takes a boundary only from the role's account)", () => {
      const perAccount = "arn:aws:iam::{accountId}:policy/OrgBoundary";
      const { plan } = planOne(anInventory({ role: healthyRole }), { rolePermissionsBoundary: perAccount });
      expect(plan.actions.find((a) => a.kind === "put-role-permissions-boundary")).toMatchObject({
        after: `arn:aws:iam::${ACCOUNT}:policy/OrgBoundary`,
      });
      const role = { ...healthyRole, permissionsBoundaryArn: `arn:aws:iam::${ACCOUNT}:policy/OrgBoundary` };
      const settled = planOne(anInventory({ role }), { rolePermissionsBoundary: perAccount });
      expect(settled.plan.actions.filter((a) => a.kind.includes("role"))).toEqual([]);
    });

    it("a new role is created with it (no separate put); without the setting, CreateRole passes none", () => {
      const created = planOne(anInventory({ role: { exists: false } }), {
        rolePermissionsBoundary: required,
      });
      expect(created.plan.actions.find((a) => a.kind === "create-role")).toMatchObject({
        permissionsBoundaryArn: required,
      });
      expect(created.plan.actions.map((a) => a.kind)).not.toContain("put-role-permissions-boundary");
      const plain = planOne(anInventory({ role: { exists: false } }));
      expect(plain.plan.actions.find((a) => a.kind === "create-role")).not.toHaveProperty(
        "permissionsBoundaryArn",
      );
    });
  });

  it("does not touch IAM when no VPC needs the role", () => {
    const region = aRegion({ flowLogs: [aFlowLog({ destinationType: "s3" })] });
    const { plan } = planOne(anInventory({ role: { exists: false }, regions: [region] }));
    expect(plan.actions).toEqual([]);
  });
});

describe("planRemediation: batching and order", () => {
  const vpcs = Array.from({ length: 650 }, (_, i) => aVpc({ vpcId: `vpc-${String(i).padStart(17, "0")}` }));

  it("puts VPCs that share a log group into CreateFlowLogs calls of at most 300", () => {
    const plan = planRemediation(
      anInventory({ role: healthyRole, regions: [aRegion({ vpcs })] }),
      parsePolicy({ logGroupName: "/flow-logs/{region}" }),
      NOW,
    );
    const creates = plan.actions.filter((action) => action.kind === "create-flow-log");
    expect(creates.map((action) => action.vpcIds.length)).toEqual([300, 300, 50]);
    expect(plan.actions.filter((action) => action.kind === "create-log-group")).toHaveLength(1);
    expect(plan.actions.find((action) => action.kind === "create-log-group")?.vpcIds).toHaveLength(650);
  });

  it("gives each VPC its own call and log group with a per-VPC template", () => {
    const plan = planRemediation(
      anInventory({ role: healthyRole, regions: [aRegion({ vpcs: vpcs.slice(0, 5) })] }),
      policy,
      NOW,
    );
    expect(plan.actions.filter((action) => action.kind === "create-flow-log")).toHaveLength(5);
    expect(plan.actions.filter((action) => action.kind === "create-log-group")).toHaveLength(5);
  });

  it("orders work: internet-facing, then production-tagged, then the rest", () => {
    const ordered = [
      aVpc({ vpcId: "vpc-c" }),
      aVpc({ vpcId: "vpc-b", tags: { Environment: "Production" } }),
      aVpc({ vpcId: "vpc-a" }),
      aVpc({ vpcId: "vpc-d", internetFacing: true }),
    ].sort(compareVpcWorkOrder);
    expect(ordered.map((vpc) => vpc.vpcId)).toEqual(["vpc-d", "vpc-b", "vpc-a", "vpc-c"]);
  });

  it("is deterministic: the same input gives the same plan", () => {
    const inventory = anInventory({ regions: [aRegion({ vpcs: vpcs.slice(0, 3) })] });
    expect(planRemediation(inventory, policy, NOW)).toEqual(planRemediation(inventory, policy, NOW));
  });
});

describe("planRemediation: what new log groups get", () => {
  it("carries the policy's KMS key into every CreateLogGroup, and nothing else when there is none", () => {
    const kmsKeyArn = "arn:aws:kms:eu-west-1:111122223333:key/0f0e0d0c-0b0a-0908-0706-050403020100";
    const withKey = planRemediation(anInventory(), parsePolicy({ kmsKeyArn }), NOW);
    const without = planRemediation(anInventory(), parsePolicy({}), NOW);

    expect(withKey.actions.find((action) => action.kind === "create-log-group")).toMatchObject({ kmsKeyArn });
    expect(without.actions.find((action) => action.kind === "create-log-group")).not.toHaveProperty(
      "kmsKeyArn",
    );
  });
});
