import { DELIVERY_ROLE_PATH, type Policy, roleBoundaryFor } from "./config.ts";
import {
  evaluateVpc,
  evidenceOf,
  type FlowLogDestination,
  indexRegionFacts,
  type SubnetEvaluation,
  type VpcEvaluation,
  type VpcEvidence,
  type VpcNeed,
} from "./evaluation.ts";
import { kmsKeyForRegion } from "./kms-keys.ts";
import { isSharedLogGroupTemplate } from "./log-group-template.ts";
import type { AccountInventory, RegionInventory, RoleFacts, VpcFacts } from "./model.ts";
import { DELIVERY_POLICY_NAME, deliveryRoleArn } from "./naming.ts";
import {
  type Action,
  kmsKeyActionKey,
  type Plan,
  type SubnetPlan,
  type SubnetTarget,
  type VpcPlan,
} from "./plan.ts";
import {
  deliveryRolePermissionsPolicy,
  deliveryRoleTrustPolicy,
  policyDocumentsEqual,
} from "./policy-documents.ts";

/** CreateFlowLogs takes at most 300 resource ids per call. */
export const MAX_FLOW_LOG_BATCH = 300;

/**
 * The order a plan's actions run in. A required boundary goes on an existing role before its other
 * repairs: IAM evaluates `iam:PermissionsBoundary` (the role's boundary) for UpdateAssumeRolePolicy,
 * PutRolePolicy and DetachRolePolicy too, and an SCP that requires the boundary may refuse those on a
 * role without it.
 */
const ACTION_ORDER: Record<Action["kind"], number> = {
  "create-role": 0,
  "put-role-permissions-boundary": 1,
  "update-role-trust": 2,
  "put-role-policy": 3,
  "detach-role-policy": 3,
  "delete-role-permissions-boundary": 3,
  "create-log-group": 4,
  "put-retention-policy": 5,
  "associate-kms-key": 5,
  "create-flow-log": 6,
  "create-s3-flow-log": 6,
};

/** A VPC tagged as production (Environment/env/stage/tier = prod or production) is remediated early. */
export function isProductionTagged(tags: Readonly<Record<string, string>>): boolean {
  return Object.entries(tags).some(
    ([key, value]) =>
      ["environment", "env", "stage", "tier"].includes(key.toLowerCase()) &&
      /^prod(uction)?$/i.test(value.trim()),
  );
}

/** Work order: internet-facing VPCs first, then production-tagged ones, then by id (stable output). */
export function compareVpcWorkOrder(a: VpcFacts, b: VpcFacts): number {
  return (
    Number(b.internetFacing) - Number(a.internetFacing) ||
    Number(isProductionTagged(b.tags)) - Number(isProductionTagged(a.tags)) ||
    a.vpcId.localeCompare(b.vpcId)
  );
}

/**
 * Decides, without any I/O, what each VPC needs and which actions fix it:
 * `(inventory, policy, now) -> Plan`. Each VPC is evaluated on its own ({@link evaluateVpc}); the
 * planner turns the needs into actions, sharing a log group's actions between the VPCs that need
 * it and batching new flow logs per log group. The plan is built once and never changed after.
 *
 * The delivery role is planned only when some VPC needs it, or with `ensureRole` (an IAM event
 * about the role: it is repaired even when this run sees no VPC).
 *
 * @example
 * const plan = planRemediation(inventory, parsePolicy({}), new Date());
 * plan.vpcs.filter((vpc) => vpc.status === "non-compliant");
 */
export function planRemediation(
  inventory: AccountInventory,
  policy: Policy,
  now: Date,
  options: { ensureRole?: boolean } = {},
): Plan {
  const { accountId, partition, role } = inventory;
  const roleArn = role.arn ?? deliveryRoleArn(partition, accountId, policy.roleName);
  const regions = inventory.regions.map((region) =>
    planRegion(evaluateRegion(accountId, region, policy, now), policy, roleArn),
  );
  // An IAM event repairs the role even when no VPC of this run needs it, unless flow logs go to S3.
  const roleWanted = options.ensureRole && policy.destinationType !== "s3";
  const roleNeeded = regions.some((region) => region.roleNeeded) || roleWanted;
  const roleActions = roleNeeded ? planRoleActions(inventory, policy, roleArn) : [];
  const actions = [...regions.flatMap((region) => region.actions), ...roleActions];
  return {
    account: accountId,
    partition,
    generatedAt: now.toISOString(),
    vpcs: regions.flatMap((region) => region.vpcs),
    actions: actions.sort((a, b) => ACTION_ORDER[a.kind] - ACTION_ORDER[b.kind]),
  };
}

/** A VPC with its evaluation and evidence, in the region's work order. */
interface EvaluatedVpc {
  base: Pick<VpcPlan, "account" | "region" | "vpcId" | "isDefault" | "internetFacing" | "production">;
  evaluation: VpcEvaluation;
  evidence: VpcEvidence;
  /** Subnet mode: Name tags of the VPC's subnets, by subnet id. */
  subnetNames: ReadonlyMap<string, string>;
}

interface EvaluatedRegion {
  region: string;
  vpcs: EvaluatedVpc[];
}

function evaluateRegion(
  accountId: string,
  inventory: RegionInventory,
  policy: Policy,
  now: Date,
): EvaluatedRegion {
  const facts = indexRegionFacts(accountId, inventory);
  const vpcs = [...inventory.vpcs].sort(compareVpcWorkOrder).map((vpc): EvaluatedVpc => {
    const evaluation = evaluateVpc(vpc, facts, policy, now);
    return {
      base: {
        account: accountId,
        region: inventory.region,
        vpcId: vpc.vpcId,
        isDefault: vpc.isDefault,
        internetFacing: vpc.internetFacing,
        production: isProductionTagged(vpc.tags),
      },
      evaluation,
      evidence: evidenceOf(vpc, facts, evaluation, policy),
      subnetNames: new Map(
        (facts.subnetsByVpc.get(vpc.vpcId) ?? []).flatMap((subnet) =>
          subnet.tags.Name ? [[subnet.subnetId, subnet.tags.Name] as const] : [],
        ),
      ),
    };
  });
  return { region: inventory.region, vpcs };
}

/** The plan for one region: each VPC with the keys of its actions, and the region's unique actions. */
function planRegion(
  evaluated: EvaluatedRegion,
  policy: Policy,
  roleArn: string,
): { vpcs: VpcPlan[]; actions: Action[]; roleNeeded: boolean } {
  const logGroups = planLogGroupActions(evaluated, policy);
  const flowLogs = planFlowLogActions(evaluated, policy, roleArn);
  const keysOf = (needs: readonly VpcNeed[], vpcId: string): string[] => {
    const keys = needs.flatMap((need) => {
      if (need.kind === "delivery-role") return [];
      if (need.kind === "flow-log") return [flowLogs.keyByResource.get(need.subnetId ?? vpcId)!];
      return logGroupActionsFor(need, evaluated.region, policy).map((action) => action.key);
    });
    return [...new Set(keys)];
  };
  const subnetPlan = (subnet: SubnetEvaluation, vpc: EvaluatedVpc): SubnetPlan => {
    const name = vpc.subnetNames.get(subnet.subnetId);
    const { subnetId, status, reason, exception, flowLogIds, needs } = subnet;
    const actionKeys = keysOf(needs, vpc.base.vpcId);
    return { subnetId, ...(name ? { name } : {}), status, reason, exception, flowLogIds, actionKeys };
  };
  const vpcs = evaluated.vpcs.map(
    (vpc): VpcPlan => ({
      ...vpc.base,
      exception: vpc.evaluation.exception,
      flowLogIds: vpc.evaluation.flowLogIds,
      actionKeys: keysOf(vpc.evaluation.needs, vpc.base.vpcId),
      status: vpc.evaluation.status,
      reason: vpc.evaluation.reason,
      ...vpc.evidence,
      ...(vpc.evaluation.subnets
        ? { subnets: vpc.evaluation.subnets.map((subnet) => subnetPlan(subnet, vpc)) }
        : {}),
    }),
  );
  const roleNeeded = evaluated.vpcs.some(({ evaluation }) =>
    evaluation.needs.some((need) => need.kind === "delivery-role"),
  );
  return { vpcs, actions: [...logGroups, ...flowLogs.actions], roleNeeded };
}

type LogGroupNeed = Extract<VpcNeed, { kind: "log-group" | "retention" | "kms-key" }>;
type LogGroupAction = Extract<
  Action,
  { kind: "create-log-group" | "put-retention-policy" | "associate-kms-key" }
>;

/** Actions that make a log group exist with enough retention (never lowered), before `vpcIds` are known. */
function logGroupActionsFor(need: LogGroupNeed, region: string, policy: Policy): LogGroupAction[] {
  const name = need.logGroupName;
  if (need.kind === "kms-key") return [kmsKeyAction(need, region)];
  const { retentionDays } = policy;
  const kmsKeyArn = kmsKeyForRegion(policy.kmsKeyArn, region);
  const retention = (reason: string, before: number | null, newGroup: boolean): LogGroupAction => ({
    kind: "put-retention-policy",
    key: `retention:${region}:${name}`,
    reason,
    region,
    logGroupName: name,
    retentionDays,
    before,
    newGroup,
    vpcIds: [],
  });
  if (need.kind === "retention" && need.retentionInDays === null) {
    const why = `managed log group ${name} never expires its events (a run was interrupted before setting its retention) and is younger than ${retentionDays} days: it gets ${retentionDays}-day retention, which loses no event`;
    return [retention(why, null, false)];
  }
  if (need.kind === "retention") {
    const why = `log group ${name} keeps events ${need.retentionInDays} days, less than ${retentionDays}`;
    return [retention(why, need.retentionInDays, false)];
  }
  return [
    {
      kind: "create-log-group",
      key: `log-group:${region}:${name}`,
      reason: `log group ${name} does not exist`,
      region,
      logGroupName: name,
      ...(kmsKeyArn ? { kmsKeyArn } : {}),
      vpcIds: [],
    },
    retention(`new log group ${name} gets ${retentionDays}-day retention`, null, true),
  ];
}

/** AssociateKmsKey for a managed log group that lost its region's key (its before and after recorded). */
function kmsKeyAction(need: Extract<VpcNeed, { kind: "kms-key" }>, region: string): LogGroupAction {
  const { logGroupName, kmsKeyArn, kmsKeyId } = need;
  return {
    kind: "associate-kms-key",
    key: kmsKeyActionKey(region, logGroupName),
    reason: `managed log group ${logGroupName} ${kmsKeyId ? `is on key ${kmsKeyId}` : "has no KMS key"}; it gets ${kmsKeyArn} back`,
    region,
    logGroupName,
    kmsKeyArn,
    before: kmsKeyId,
    vpcIds: [],
  };
}

/** One action per log group need of the region, shared by (and listing) every VPC that needs it. */
function planLogGroupActions(evaluated: EvaluatedRegion, policy: Policy): LogGroupAction[] {
  const byKey = new Map<string, { action: LogGroupAction; vpcIds: string[] }>();
  for (const { base, evaluation } of evaluated.vpcs) {
    for (const need of evaluation.needs) {
      if (need.kind !== "log-group" && need.kind !== "retention" && need.kind !== "kms-key") continue;
      for (const action of logGroupActionsFor(need, evaluated.region, policy)) {
        const entry = byKey.get(action.key) ?? { action, vpcIds: [] };
        byKey.set(action.key, entry);
        if (!entry.vpcIds.includes(base.vpcId)) entry.vpcIds.push(base.vpcId);
      }
    }
  }
  return [...byKey.values()].map(({ action, vpcIds }) => ({ ...action, vpcIds }));
}

/** What a new flow log is attached to: a VPC, or (Subnet mode) a subnet of a VPC. */
interface FlowLogResource {
  resourceId: string;
  vpcId: string;
  subnetId?: string | undefined;
}

/**
 * The VPCs (or, in Subnet mode, subnets) waiting for a flow log, as CreateFlowLogs actions: one per
 * destination and 300 resources (resources share a destination when the template has no `{vpcId}`,
 * always with S3, and in Subnet mode the subnets of one VPC share the VPC's log group).
 */
function planFlowLogActions(
  evaluated: EvaluatedRegion,
  policy: Policy,
  roleArn: string,
): { actions: Action[]; keyByResource: Map<string, string> } {
  const pending = new Map<string, { destination: FlowLogDestination; resources: FlowLogResource[] }>();
  for (const { base, evaluation } of evaluated.vpcs) {
    for (const need of evaluation.needs) {
      if (need.kind !== "flow-log") continue;
      const { destination, subnetId } = need;
      const where = destination.type === "s3" ? `s3:${destination.logDestination}` : destination.logGroupName;
      const id = `${subnetId ? "subnet" : "vpc"}:${where}`;
      const entry = pending.get(id) ?? { destination, resources: [] };
      entry.resources.push({ resourceId: subnetId ?? base.vpcId, vpcId: base.vpcId, subnetId });
      pending.set(id, entry);
    }
  }
  const actions: Action[] = [];
  const keyByResource = new Map<string, string>();
  for (const { destination, resources } of pending.values()) {
    for (let start = 0; start < resources.length; start += MAX_FLOW_LOG_BATCH) {
      const batch = resources.slice(start, start + MAX_FLOW_LOG_BATCH);
      const batchIndex = start / MAX_FLOW_LOG_BATCH;
      const action = flowLogAction(destination, batch, batchIndex, evaluated.region, policy, roleArn);
      actions.push(action);
      for (const resource of batch) keyByResource.set(resource.resourceId, action.key);
    }
  }
  return { actions, keyByResource };
}

/** One CreateFlowLogs call for a batch of VPCs (or subnets) that share a destination. */
function flowLogAction(
  destination: FlowLogDestination,
  batch: FlowLogResource[],
  batchIndex: number,
  region: string,
  policy: Policy,
  roleArn: string,
): Action {
  const { trafficType, maxAggregationInterval, logFormat } = policy;
  const target = batchTarget(batch);
  const first = batch[0]!.resourceId;
  const common = { reason: target.reason, region, vpcIds: target.vpcIds, ...target.subnets };
  const options = { trafficType, maxAggregationInterval, ...(logFormat ? { logFormat } : {}) };
  if (destination.type === "s3") {
    const { fileFormat, hiveCompatiblePartitions, perHourPartition } = policy;
    return {
      kind: "create-s3-flow-log",
      key: `${target.keyPrefix}s3-flow-log:${region}:${first}`,
      ...common,
      logDestination: destination.logDestination,
      fileFormat,
      hiveCompatiblePartitions,
      perHourPartition,
      ...options,
    };
  }
  const { logGroupName } = destination;
  return {
    kind: "create-flow-log",
    key: isSharedLogGroupTemplate(policy.logGroupName)
      ? `${target.keyPrefix}flow-log:${region}:${logGroupName}:${batchIndex}`
      : `${target.keyPrefix}flow-log:${region}:${first}`,
    ...common,
    logGroupName,
    roleArn,
    ...options,
  };
}

/** How a batch is named in its action: its VPCs, its subnets (Subnet mode), and why. */
function batchTarget(batch: readonly FlowLogResource[]): {
  vpcIds: string[];
  subnets: { subnets?: SubnetTarget[] };
  keyPrefix: string;
  reason: string;
} {
  const vpcIds = [...new Set(batch.map((resource) => resource.vpcId))];
  const subnets = batch.flatMap(({ subnetId, vpcId }) => (subnetId ? [{ subnetId, vpcId }] : []));
  if (subnets.length === 0) {
    const reason =
      batch.length === 1
        ? `VPC ${vpcIds[0]} has no qualifying flow log`
        : `${batch.length} VPCs have no qualifying flow log`;
    return { vpcIds, subnets: {}, keyPrefix: "", reason };
  }
  const reason =
    subnets.length === 1
      ? `subnet ${subnets[0]!.subnetId} of VPC ${subnets[0]!.vpcId} has no qualifying flow log, nor has its VPC`
      : `${subnets.length} subnets of ${vpcIds.length} VPC(s) have no qualifying flow log, nor have their VPCs`;
  return { vpcIds, subnets: { subnets }, keyPrefix: "subnet-", reason };
}

/**
 * Actions that make the delivery role exist with the expected trust and inline policy, with no
 * managed policy attached (one can deny delivery), and with exactly the configured permissions
 * boundary (`rolePermissionsBoundary`), or none when it is not set.
 */
function planRoleActions(inventory: AccountInventory, policy: Policy, roleArn: string): Action[] {
  return [
    ...planRoleDocumentActions(inventory, policy, roleArn),
    ...planRoleAttachmentActions(inventory.role, policy.roleName, roleArn),
    ...planRoleBoundaryActions(
      inventory.role,
      policy.roleName,
      roleBoundaryFor(policy, inventory.accountId),
      roleArn,
    ),
  ];
}

/**
 * Detaches every managed policy from the delivery role: flowlog-guard's own role, so this deletes
 * nothing of the customer's (the policies themselves are left as they are).
 */
function planRoleAttachmentActions(role: RoleFacts, roleName: string, roleArn: string): Action[] {
  return (role.attachedPolicyArns ?? []).map((policyArn) => ({
    kind: "detach-role-policy",
    key: `role-attached-policy:${roleName}:${policyArn}`,
    reason: `managed policy ${policyArn} is attached to delivery role ${roleName}; flowlog-guard declares none (one can deny delivery). Detaching it leaves the policy itself as it is`,
    roleName,
    roleArn,
    policyArn,
  }));
}

/**
 * The boundary of an existing delivery role. Without `rolePermissionsBoundary` it has none (a boundary
 * can deny delivery): one found is removed. With it, the role carries exactly that one: a role with no
 * boundary or another gets it put back, and it is never removed (an SCP may require it on every role).
 * A new role gets it from CreateRole.
 */
function planRoleBoundaryActions(
  role: RoleFacts,
  roleName: string,
  wanted: string | undefined,
  roleArn: string,
): Action[] {
  const current = role.permissionsBoundaryArn;
  if (!role.exists || current === wanted) return [];
  if (wanted) {
    return [
      {
        kind: "put-role-permissions-boundary",
        key: `role-boundary:${roleName}`,
        reason: `delivery role ${roleName} ${current ? `has permissions boundary ${current}` : "has no permissions boundary"}; rolePermissionsBoundary requires ${wanted}`,
        roleName,
        roleArn,
        before: current ?? null,
        after: wanted,
      },
    ];
  }
  return [
    {
      kind: "delete-role-permissions-boundary",
      key: `role-boundary:${roleName}`,
      reason: `permissions boundary ${current} is set on delivery role ${roleName}; flowlog-guard declares none (it can deny delivery). Removing it leaves the policy itself as it is`,
      roleName,
      roleArn,
      boundaryArn: current!,
    },
  ];
}

/** Actions that make the delivery role exist with the expected trust and inline policy. */
function planRoleDocumentActions(inventory: AccountInventory, policy: Policy, roleArn: string): Action[] {
  const actions: Action[] = [];
  const { accountId, partition, role } = inventory;
  const trust = deliveryRoleTrustPolicy(partition, accountId);
  const permissions = deliveryRolePermissionsPolicy(policy.logGroupName, partition, accountId);
  const roleName = policy.roleName;
  const boundary = roleBoundaryFor(policy, accountId);
  if (!role.exists) {
    actions.push({
      kind: "create-role",
      key: `role:${roleName}`,
      reason: `delivery role ${roleName} does not exist; flow logs need it to write to CloudWatch Logs`,
      roleName,
      path: DELIVERY_ROLE_PATH,
      roleArn,
      trustPolicy: trust,
      ...(boundary ? { permissionsBoundaryArn: boundary } : {}),
    });
  } else if (!policyDocumentsEqual(role.trustPolicy, trust)) {
    actions.push({
      kind: "update-role-trust",
      key: `role-trust:${roleName}`,
      reason: `trust policy of ${roleName} drifted from the expected one (vpc-flow-logs.amazonaws.com for this account only)`,
      roleName,
      roleArn,
      before: role.trustPolicy ?? null,
      after: trust,
    });
  }
  if (!role.exists || !policyDocumentsEqual(role.permissionsPolicy, permissions)) {
    actions.push({
      kind: "put-role-policy",
      key: `role-policy:${roleName}`,
      reason: !role.exists
        ? `new delivery role ${roleName} needs its permissions`
        : role.permissionsPolicy
          ? `inline policy ${DELIVERY_POLICY_NAME} on ${roleName} drifted`
          : `inline policy ${DELIVERY_POLICY_NAME} on ${roleName} is missing`,
      roleName,
      roleArn,
      policyName: DELIVERY_POLICY_NAME,
      before: role.permissionsPolicy ?? null,
      after: permissions,
    });
  }
  return actions;
}
