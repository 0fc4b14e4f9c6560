import { DELIVERY_ROLE_PATH, type Policy } from "./config.ts";
import { type ExceptionVerdict, evaluateException } from "./exceptions.ts";
import type { AccountInventory, FlowLogFacts, LogGroupFacts, RegionInventory, VpcFacts } from "./model.ts";
import {
  DELIVERY_POLICY_NAME,
  deliveryRoleArn,
  isSharedLogGroupTemplate,
  renderLogGroupName,
} from "./naming.ts";
import type { Action, Plan, VpcPlan } from "./plan.ts";
import {
  deliveryRolePermissionsPolicy,
  deliveryRoleTrustPolicy,
  policyDocumentsEqual,
} from "./policy-documents.ts";
import { describeMissingCoverage, evaluateS3Coverage } from "./s3-coverage.ts";

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

/**
 * True when a flow log makes its VPC compliant on its own: ACTIVE, capturing ALL or REJECT traffic,
 * and not failing delivery. The destination does not matter (a customer's S3 flow log counts).
 */
export function flowLogQualifies(flowLog: FlowLogFacts): boolean {
  return (
    flowLog.flowLogStatus === "ACTIVE" &&
    (flowLog.trafficType === "ALL" || flowLog.trafficType === "REJECT") &&
    flowLog.deliverLogsStatus !== "FAILED"
  );
}

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

/** A log group keeps events long enough: it never expires, or keeps them at least as long as the policy. */
function retentionIsEnough(group: LogGroupFacts, policy: Policy): boolean {
  return group.retentionInDays === undefined || group.retentionInDays >= policy.retentionDays;
}

function describeFlowLog(flowLog: FlowLogFacts): string {
  const destination = flowLog.logGroupName ?? flowLog.logDestination ?? flowLog.destinationType ?? "?";
  return `${flowLog.flowLogId} (${flowLog.trafficType ?? "?"} to ${destination})`;
}

function exceptionNote(verdict: ExceptionVerdict | undefined): string {
  if (!verdict || verdict.state === "valid") return "";
  if (verdict.state === "expired") return `; exception by ${verdict.owner} expired at ${verdict.expiredAt}`;
  return `; exception not honoured: ${verdict.problems.join("; ")}`;
}

/** Collects unique actions by key while the planner walks the VPCs. */
class ActionSet {
  private readonly byKey = new Map<string, Action>();

  add(action: Action, vpcId?: string): string {
    const existing = this.byKey.get(action.key);
    if (!existing) this.byKey.set(action.key, action);
    const target = existing ?? action;
    if (vpcId && "vpcIds" in target && !target.vpcIds.includes(vpcId)) target.vpcIds.push(vpcId);
    return action.key;
  }

  ordered(): Action[] {
    return [...this.byKey.values()].sort((a, b) => ACTION_ORDER[a.kind] - ACTION_ORDER[b.kind]);
  }
}

/**
 * Decides, without any I/O, what each VPC needs: `(inventory, policy, now) -> Plan`.
 *
 * - compliant: a qualifying flow log exists (see {@link flowLogQualifies}); for one flowlog-guard
 *   created, its log group must also exist with enough retention.
 * - exempt: a valid, unexpired exception, or a default VPC when `includeDefaultVpcs` is false.
 * - non-compliant: everything else, with the ordered actions that fix it.
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
  const actions = new ActionSet();
  const vpcs: VpcPlan[] = [];
  let roleNeeded = false;

  for (const region of inventory.regions) {
    const planner = new RegionPlanner(region, inventory, policy, now, roleArn, actions);
    for (const vpc of [...region.vpcs].sort(compareVpcWorkOrder)) {
      const vpcPlan = planner.withEvidence(planner.planVpc(vpc), vpc);
      roleNeeded ||= planner.vpcNeedsRole;
      vpcs.push(vpcPlan);
    }
    planner.addFlowLogBatches(vpcs);
  }

  const roleUsed = policy.destinationType !== "s3";
  if (roleNeeded || (options.ensureRole && roleUsed)) addRoleActions(inventory, policy, roleArn, actions);

  return { account: accountId, partition, generatedAt: now.toISOString(), vpcs, actions: actions.ordered() };
}

function addRoleActions(
  inventory: AccountInventory,
  policy: Policy,
  roleArn: string,
  actions: ActionSet,
): void {
  const { accountId, partition, role } = inventory;
  const trust = deliveryRoleTrustPolicy(partition, accountId);
  const permissions = deliveryRolePermissionsPolicy(policy.logGroupName, partition, accountId);
  const roleName = policy.roleName;
  if (!role.exists) {
    actions.add({
      kind: "create-role",
      key: `role:${roleName}`,
      reason: `delivery role ${roleName} does not exist; flow logs need it to write to CloudWatch Logs`,
      roleName,
      path: DELIVERY_ROLE_PATH,
      roleArn,
      trustPolicy: trust,
    });
  } else if (!policyDocumentsEqual(role.trustPolicy, trust)) {
    actions.add({
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
    actions.add({
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
}

/** Plans the VPCs of one region; collects the flow logs to create so they can be batched per log group. */
class RegionPlanner {
  private readonly logGroups: Map<string, LogGroupFacts>;
  private readonly flowLogsByVpc = new Map<string, FlowLogFacts[]>();
  private readonly pendingFlowLogs = new Map<string, string[]>();
  private readonly pendingS3FlowLogs: string[] = [];
  private readonly region: RegionInventory;
  private readonly inventory: AccountInventory;
  private readonly policy: Policy;
  private readonly now: Date;
  private readonly roleArn: string;
  private readonly actions: ActionSet;
  vpcNeedsRole = false;

  constructor(
    region: RegionInventory,
    inventory: AccountInventory,
    policy: Policy,
    now: Date,
    roleArn: string,
    actions: ActionSet,
  ) {
    this.region = region;
    this.inventory = inventory;
    this.policy = policy;
    this.now = now;
    this.roleArn = roleArn;
    this.actions = actions;
    this.logGroups = new Map(region.logGroups.map((group) => [group.name, group]));
    for (const flowLog of region.flowLogs) {
      const list = this.flowLogsByVpc.get(flowLog.resourceId) ?? [];
      list.push(flowLog);
      this.flowLogsByVpc.set(flowLog.resourceId, list);
    }
  }

  /**
   * Adds what an auditor reads next to the status: the VPC's Name tag, and the destination and
   * retention of the flow log that makes it compliant (for one still to be created: the planned ones).
   */
  withEvidence(plan: VpcPlan, vpc: VpcFacts): VpcPlan {
    const flowLog = (this.flowLogsByVpc.get(vpc.vpcId) ?? []).find((f) =>
      plan.flowLogIds.includes(f.flowLogId),
    );
    const s3 = this.policy.destinationType === "s3";
    const planned =
      !flowLog && plan.status === "non-compliant"
        ? s3
          ? this.policy.logDestination
          : renderLogGroupName(this.policy.logGroupName, {
              vpcId: vpc.vpcId,
              region: this.region.region,
              accountId: this.inventory.accountId,
            })
        : undefined;
    const destination = flowLog ? (flowLog.logGroupName ?? flowLog.logDestination) : planned;
    const group = flowLog?.logGroupName ? this.logGroups.get(flowLog.logGroupName) : undefined;
    const retentionDays = planned && !s3 ? this.policy.retentionDays : group?.retentionInDays;
    return {
      ...plan,
      ...(vpc.tags.Name ? { name: vpc.tags.Name } : {}),
      ...(destination ? { destination } : {}),
      ...(retentionDays !== undefined ? { retentionDays } : {}),
    };
  }

  planVpc(vpc: VpcFacts): VpcPlan {
    this.vpcNeedsRole = false;
    const exception = evaluateException(vpc.tags, this.now, this.policy.maxExceptionDays);
    const flowLogs = this.flowLogsByVpc.get(vpc.vpcId) ?? [];
    const qualifying = flowLogs.filter(flowLogQualifies);
    const base = {
      account: this.inventory.accountId,
      region: this.region.region,
      vpcId: vpc.vpcId,
      isDefault: vpc.isDefault,
      internetFacing: vpc.internetFacing,
      production: isProductionTagged(vpc.tags),
      exception: exception ?? null,
      flowLogIds: qualifying.map((flowLog) => flowLog.flowLogId),
      actionKeys: [] as string[],
    };
    const note = exceptionNote(exception);

    if (vpc.isDefault && !this.policy.includeDefaultVpcs) {
      return {
        ...base,
        status: "exempt",
        reason: "default VPC, and the policy sets includeDefaultVpcs=false",
      };
    }
    if (exception?.state === "valid") {
      const why = exception.reason ? `: ${exception.reason}` : "";
      return {
        ...base,
        status: "exempt",
        reason: `exception by ${exception.owner} until ${exception.expires}${why}`,
      };
    }

    if (this.policy.destinationType === "s3") return this.planS3Vpc(vpc, base, flowLogs, note);

    const foreign = qualifying.find((flowLog) => !flowLog.managed);
    if (foreign) {
      return {
        ...base,
        status: "compliant",
        reason: `flow log ${describeFlowLog(foreign)} is active${note}`,
      };
    }

    const ours =
      qualifying.find((flowLog) => flowLog.managed) ??
      flowLogs.find(
        (flowLog) =>
          flowLog.managed && flowLog.flowLogStatus === "ACTIVE" && flowLog.deliverLogsStatus === "FAILED",
      );
    if (ours) {
      this.vpcNeedsRole = true;
      const repairs = ours.logGroupName
        ? this.ensureLogGroup(ours.logGroupName, vpc.vpcId)
        : { keys: [], why: "" };
      const failing = !flowLogQualifies(ours);
      if (repairs.keys.length === 0 && !failing) {
        return { ...base, status: "compliant", reason: `flow log ${describeFlowLog(ours)} is active${note}` };
      }
      const problem = failing
        ? `flowlog-guard's flow log ${ours.flowLogId} fails delivery (${ours.deliverLogsErrorMessage ?? "no message"}); repairing its role and log group`
        : `flowlog-guard's flow log ${ours.flowLogId} needs its log group repaired: ${repairs.why}`;
      return {
        ...base,
        flowLogIds: [ours.flowLogId],
        status: "non-compliant",
        reason: `${problem}${note}`,
        actionKeys: repairs.keys,
      };
    }

    this.vpcNeedsRole = true;
    const logGroupName = renderLogGroupName(this.policy.logGroupName, {
      vpcId: vpc.vpcId,
      region: this.region.region,
      accountId: this.inventory.accountId,
    });
    const repairs = this.ensureLogGroup(logGroupName, vpc.vpcId);
    const pending = this.pendingFlowLogs.get(logGroupName) ?? [];
    pending.push(vpc.vpcId);
    this.pendingFlowLogs.set(logGroupName, pending);
    return {
      ...base,
      status: "non-compliant",
      reason: `${describeMissingCoverage(flowLogs, this.inventory.accountId)}${note}`,
      actionKeys: repairs.keys,
    };
  }

  /** S3 destination: no role, no log group; one shared destination, so the VPC joins the region's batch. */
  private planS3Vpc(
    vpc: VpcFacts,
    base: Omit<VpcPlan, "status" | "reason">,
    flowLogs: FlowLogFacts[],
    note: string,
  ): VpcPlan {
    const coverage = evaluateS3Coverage(flowLogs, this.policy, this.inventory.accountId);
    if (coverage.needsFlowLog) this.pendingS3FlowLogs.push(vpc.vpcId);
    return {
      ...base,
      flowLogIds: coverage.flowLogIds,
      status: coverage.status,
      reason: `${coverage.reason}${note}`,
    };
  }

  /** Actions that make a log group exist with enough retention; never lowers retention. */
  private ensureLogGroup(name: string, vpcId: string): { keys: string[]; why: string } {
    const { region } = this.region;
    const existing = this.logGroups.get(name);
    if (!existing) {
      const created = this.actions.add(
        {
          kind: "create-log-group",
          key: `log-group:${region}:${name}`,
          reason: `log group ${name} does not exist`,
          region,
          logGroupName: name,
          ...(this.policy.kmsKeyArn ? { kmsKeyArn: this.policy.kmsKeyArn } : {}),
          vpcIds: [],
        },
        vpcId,
      );
      const retention = this.actions.add(
        {
          kind: "put-retention-policy",
          key: `retention:${region}:${name}`,
          reason: `new log group ${name} gets ${this.policy.retentionDays}-day retention`,
          region,
          logGroupName: name,
          retentionDays: this.policy.retentionDays,
          before: null,
          newGroup: true,
          vpcIds: [],
        },
        vpcId,
      );
      return { keys: [created, retention], why: `log group ${name} is missing` };
    }
    if (!retentionIsEnough(existing, this.policy)) {
      const why = `log group ${name} keeps events ${existing.retentionInDays} days, less than ${this.policy.retentionDays}`;
      const key = this.actions.add(
        {
          kind: "put-retention-policy",
          key: `retention:${region}:${name}`,
          reason: why,
          region,
          logGroupName: name,
          retentionDays: this.policy.retentionDays,
          before: existing.retentionInDays ?? null,
          newGroup: false,
          vpcIds: [],
        },
        vpcId,
      );
      return { keys: [key], why };
    }
    return { keys: [], why: "" };
  }

  /** Turns the VPCs waiting for a flow log into CreateFlowLogs actions, one per log group and 300 VPCs. */
  addFlowLogBatches(vpcPlans: VpcPlan[]): void {
    const { region } = this.region;
    const byVpc = new Map(vpcPlans.filter((p) => p.region === region).map((p) => [p.vpcId, p]));
    this.addS3FlowLogBatches(byVpc);
    const shared = isSharedLogGroupTemplate(this.policy.logGroupName);
    for (const [logGroupName, vpcIds] of this.pendingFlowLogs) {
      for (let start = 0; start < vpcIds.length; start += MAX_FLOW_LOG_BATCH) {
        const batch = vpcIds.slice(start, start + MAX_FLOW_LOG_BATCH);
        const key = shared
          ? `flow-log:${region}:${logGroupName}:${start / MAX_FLOW_LOG_BATCH}`
          : `flow-log:${region}:${batch[0]}`;
        const { trafficType, maxAggregationInterval, logFormat } = this.policy;
        this.actions.add({
          kind: "create-flow-log",
          key,
          reason:
            batch.length === 1
              ? `VPC ${batch[0]} has no qualifying flow log`
              : `${batch.length} VPCs have no qualifying flow log`,
          region,
          vpcIds: batch,
          logGroupName,
          roleArn: this.roleArn,
          trafficType,
          maxAggregationInterval,
          ...(logFormat ? { logFormat } : {}),
        });
        for (const vpcId of batch) byVpc.get(vpcId)?.actionKeys.push(key);
      }
    }
  }

  /** All of a region's VPCs share the S3 destination: one CreateFlowLogs per 300 of them. */
  private addS3FlowLogBatches(byVpc: Map<string, VpcPlan>): void {
    const { region } = this.region;
    const { logDestination, fileFormat, hiveCompatiblePartitions, perHourPartition } = this.policy;
    const { trafficType, maxAggregationInterval, logFormat } = this.policy;
    const vpcIds = this.pendingS3FlowLogs;
    for (let start = 0; start < vpcIds.length && logDestination; start += MAX_FLOW_LOG_BATCH) {
      const batch = vpcIds.slice(start, start + MAX_FLOW_LOG_BATCH);
      const key = `s3-flow-log:${region}:${batch[0]}`;
      this.actions.add({
        kind: "create-s3-flow-log",
        key,
        reason:
          batch.length === 1
            ? `VPC ${batch[0]} has no qualifying flow log`
            : `${batch.length} VPCs have no qualifying flow log`,
        region,
        vpcIds: batch,
        logDestination,
        fileFormat,
        hiveCompatiblePartitions,
        perHourPartition,
        trafficType,
        maxAggregationInterval,
        ...(logFormat ? { logFormat } : {}),
      });
      for (const vpcId of batch) byVpc.get(vpcId)?.actionKeys.push(key);
    }
  }
}
