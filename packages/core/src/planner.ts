import { DELIVERY_ROLE_PATH, type Policy } from "./config.ts";
import {
  evaluateVpc,
  evidenceOf,
  type FlowLogDestination,
  indexRegionFacts,
  type VpcEvaluation,
  type VpcEvidence,
  type VpcNeed,
} from "./evaluation.ts";
import { kmsKeyForRegion } from "./kms-keys.ts";
import { isSharedLogGroupTemplate } from "./log-group-template.ts";
import type { AccountInventory, RegionInventory, VpcFacts } from "./model.ts";
import { DELIVERY_POLICY_NAME, deliveryRoleArn } from "./naming.ts";
import type { Action, Plan, VpcPlan } from "./plan.ts";
import {
  deliveryRolePermissionsPolicy,
  deliveryRoleTrustPolicy,
  policyDocumentsEqual,
} from "./policy-documents.ts";

/** CreateFlowLogs takes at most 300 resource ids per call. */
export const MAX_FLOW_LOG_BATCH = 300;

const ACTION_ORDER: Record<Action["kind"], number> = {
  "create-role": 0,
  "update-role-trust": 1,
  "put-role-policy": 2,
  "create-log-group": 3,
  "put-retention-policy": 4,
  "create-flow-log": 5,
  "create-s3-flow-log": 5,
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
  const keysOf = (need: VpcNeed, vpcId: string): string[] => {
    if (need.kind === "delivery-role") return [];
    if (need.kind === "flow-log") return [flowLogs.keyByVpc.get(vpcId)!];

    return logGroupActionsFor(need, evaluated.region, policy).map((action) => action.key);
  };
  const vpcs = evaluated.vpcs.map(
    ({ base, evaluation, evidence }): VpcPlan => ({
      ...base,
      exception: evaluation.exception,
      flowLogIds: evaluation.flowLogIds,
      actionKeys: evaluation.needs.flatMap((need) => keysOf(need, base.vpcId)),
      status: evaluation.status,
      reason: evaluation.reason,
      ...evidence,
    }),
  );
  const roleNeeded = evaluated.vpcs.some(({ evaluation }) =>
    evaluation.needs.some((need) => need.kind === "delivery-role"),
  );
  return { vpcs, actions: [...logGroups, ...flowLogs.actions], roleNeeded };
}

type LogGroupNeed = Extract<VpcNeed, { kind: "log-group" | "retention" }>;
type LogGroupAction = Extract<Action, { kind: "create-log-group" | "put-retention-policy" }>;

/** Actions that make a log group exist with enough retention (never lowered), before `vpcIds` are known. */
function logGroupActionsFor(need: LogGroupNeed, region: string, policy: Policy): LogGroupAction[] {
  const name = need.logGroupName;
  const { retentionDays } = policy;
  const kmsKeyArn = kmsKeyForRegion(policy.kmsKeyArn, region);
  const retention = (reason: string, before: number | null): LogGroupAction => ({
    kind: "put-retention-policy",
    key: `retention:${region}:${name}`,
    reason,
    region,
    logGroupName: name,
    retentionDays,
    before,
    newGroup: before === null,
    vpcIds: [],
  });
  if (need.kind === "retention") {
    const why = `log group ${name} keeps events ${need.retentionInDays} days, less than ${retentionDays}`;
    return [retention(why, need.retentionInDays)];
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
    retention(`new log group ${name} gets ${retentionDays}-day retention`, null),
  ];
}

/** One action per log group need of the region, shared by (and listing) every VPC that needs it. */
function planLogGroupActions(evaluated: EvaluatedRegion, policy: Policy): LogGroupAction[] {
  const byKey = new Map<string, { action: LogGroupAction; vpcIds: string[] }>();
  for (const { base, evaluation } of evaluated.vpcs) {
    for (const need of evaluation.needs) {
      if (need.kind !== "log-group" && need.kind !== "retention") continue;
      for (const action of logGroupActionsFor(need, evaluated.region, policy)) {
        const entry = byKey.get(action.key) ?? { action, vpcIds: [] };
        byKey.set(action.key, entry);
        if (!entry.vpcIds.includes(base.vpcId)) entry.vpcIds.push(base.vpcId);
      }
    }
  }
  return [...byKey.values()].map(({ action, vpcIds }) => ({ ...action, vpcIds }));
}

/**
 * The VPCs waiting for a flow log, as CreateFlowLogs actions: one per destination and 300 VPCs
 * (VPCs share a destination when the template has no `{vpcId}`, and always with S3).
 */
function planFlowLogActions(
  evaluated: EvaluatedRegion,
  policy: Policy,
  roleArn: string,
): { actions: Action[]; keyByVpc: Map<string, string> } {
  const pending = new Map<string, { destination: FlowLogDestination; vpcIds: string[] }>();
  for (const { base, evaluation } of evaluated.vpcs) {
    for (const need of evaluation.needs) {
      if (need.kind !== "flow-log") continue;
      const { destination } = need;
      const id = destination.type === "s3" ? `s3:${destination.logDestination}` : destination.logGroupName;
      const entry = pending.get(id) ?? { destination, vpcIds: [] };
      entry.vpcIds.push(base.vpcId);
      pending.set(id, entry);
    }
  }
  const actions: Action[] = [];
  const keyByVpc = new Map<string, string>();
  for (const { destination, vpcIds } of pending.values()) {
    for (let start = 0; start < vpcIds.length; start += MAX_FLOW_LOG_BATCH) {
      const batch = vpcIds.slice(start, start + MAX_FLOW_LOG_BATCH);
      const batchIndex = start / MAX_FLOW_LOG_BATCH;
      const action = flowLogAction(destination, batch, batchIndex, evaluated.region, policy, roleArn);
      actions.push(action);
      for (const vpcId of batch) keyByVpc.set(vpcId, action.key);
    }
  }
  return { actions, keyByVpc };
}

/** One CreateFlowLogs call for a batch of VPCs that share a destination. */
function flowLogAction(
  destination: FlowLogDestination,
  batch: string[],
  batchIndex: number,
  region: string,
  policy: Policy,
  roleArn: string,
): Action {
  const { trafficType, maxAggregationInterval, logFormat } = policy;
  const reason =
    batch.length === 1
      ? `VPC ${batch[0]} has no qualifying flow log`
      : `${batch.length} VPCs have no qualifying flow log`;
  if (destination.type === "s3") {
    const { fileFormat, hiveCompatiblePartitions, perHourPartition } = policy;
    return {
      kind: "create-s3-flow-log",
      key: `s3-flow-log:${region}:${batch[0]}`,
      reason,
      region,
      vpcIds: batch,
      logDestination: destination.logDestination,
      fileFormat,
      hiveCompatiblePartitions,
      perHourPartition,
      trafficType,
      maxAggregationInterval,
      ...(logFormat ? { logFormat } : {}),
    };
  }
  const { logGroupName } = destination;
  return {
    kind: "create-flow-log",
    key: isSharedLogGroupTemplate(policy.logGroupName)
      ? `flow-log:${region}:${logGroupName}:${batchIndex}`
      : `flow-log:${region}:${batch[0]}`,
    reason,
    region,
    vpcIds: batch,
    logGroupName,
    roleArn,
    trafficType,
    maxAggregationInterval,
    ...(logFormat ? { logFormat } : {}),
  };
}

/** Actions that make the delivery role exist with the expected trust and inline policy. */
function planRoleActions(inventory: AccountInventory, policy: Policy, roleArn: string): Action[] {
  const actions: Action[] = [];
  const { accountId, partition, role } = inventory;
  const trust = deliveryRoleTrustPolicy(partition, accountId);
  const permissions = deliveryRolePermissionsPolicy(policy.logGroupName, partition, accountId);
  const roleName = policy.roleName;
  if (!role.exists) {
    actions.push({
      kind: "create-role",
      key: `role:${roleName}`,
      reason: `delivery role ${roleName} does not exist; flow logs need it to write to CloudWatch Logs`,
      roleName,
      path: DELIVERY_ROLE_PATH,
      roleArn,
      trustPolicy: trust,
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
