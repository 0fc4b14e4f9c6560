import type { Policy } from "./config.ts";
import { type ExceptionVerdict, evaluateException } from "./exceptions.ts";
import { capturesPolicyTraffic, flowLogQualifies } from "./flow-log-qualification.ts";
import { kmsKeyForRegion } from "./kms-keys.ts";
import { renderLogGroupName } from "./log-group-template.ts";
import type { FlowLogFacts, LogGroupFacts, RegionInventory, SubnetFacts, VpcFacts } from "./model.ts";
import type { VpcPlan } from "./plan.ts";
import { describeMissingCoverage, evaluateS3Coverage } from "./s3-coverage.ts";

/** Where a flow log flowlog-guard creates sends its records. */
export type FlowLogDestination =
  | { type: "cloud-watch-logs"; logGroupName: string }
  /** `arn:aws:s3:::BUCKET[/PREFIX]`, shared by every VPC: no role and no log group. */
  | { type: "s3"; logDestination: string };

/**
 * Something that must be true for flowlog-guard to make a VPC covered, or keep it covered. The
 * evaluation states needs; the planner turns them into actions (and shares actions between VPCs).
 */
export type VpcNeed =
  /** The VPC's flow log delivers (or will deliver) through flowlog-guard's role: keep the role right. */
  | { kind: "delivery-role" }
  /** The log group does not exist: create it, with the policy's retention. */
  | { kind: "log-group"; logGroupName: string }
  /**
   * The log group keeps events for less than the policy asks: raise its retention. `null`: a group
   * flowlog-guard manages never expires its events (an interrupted run left it without retention) and
   * is younger than the policy's retention, so giving it that retention loses no event.
   */
  | { kind: "retention"; logGroupName: string; retentionInDays: number | null }
  /**
   * A log group flowlog-guard manages is not on its region's KMS key (`kmsKeyArn`), e.g. after a
   * DisassociateKmsKey: associate the key again. `kmsKeyId` is the group's key now, if any.
   */
  | { kind: "kms-key"; logGroupName: string; kmsKeyArn: string; kmsKeyId: string | null }
  /**
   * The VPC has no qualifying flow log: create one. With `subnetId` (Subnet mode): the subnet has none,
   * nor has its VPC: create a subnet-level flow log.
   */
  | { kind: "flow-log"; destination: FlowLogDestination; subnetId?: string };

/** What the evaluation decides for one VPC, without deciding how to fix it. */
export interface VpcEvaluation {
  status: VpcPlan["status"];
  /** Why the VPC has this status, in words an operator can act on. */
  reason: string;
  exception: ExceptionVerdict | null;
  /** Flow logs that already make (or, once repaired, will make) the VPC compliant. */
  flowLogIds: string[];
  needs: VpcNeed[];
  /** Subnet mode only: each subnet of the VPC, judged on its own (see {@link evaluateVpc}). */
  subnets?: SubnetEvaluation[];
}

/** What the evaluation decides for one subnet in Subnet mode; its needs are also in its VPC's. */
export interface SubnetEvaluation {
  subnetId: string;
  status: VpcEvaluation["status"];
  reason: string;
  exception: ExceptionVerdict | null;
  /** Flow logs that cover the subnet: its own, or its VPC's. */
  flowLogIds: string[];
  needs: VpcNeed[];
}

/** The facts of one region of one account that a VPC is evaluated against, indexed for lookups. */
export interface RegionFacts {
  account: string;
  region: string;
  /** Flow logs by the resource they are attached to: a VPC id (or, in Subnet mode, a subnet id). */
  flowLogsByVpc: ReadonlyMap<string, readonly FlowLogFacts[]>;
  logGroups: ReadonlyMap<string, LogGroupFacts>;
  /** Subnet mode: the subnets of each VPC, by subnet id. */
  subnetsByVpc: ReadonlyMap<string, readonly SubnetFacts[]>;
}

/** Indexes a region's inventory by VPC and by log group name. */
export function indexRegionFacts(account: string, inventory: RegionInventory): RegionFacts {
  const flowLogsByVpc = new Map<string, FlowLogFacts[]>();
  for (const flowLog of inventory.flowLogs) {
    const list = flowLogsByVpc.get(flowLog.resourceId) ?? [];
    list.push(flowLog);
    flowLogsByVpc.set(flowLog.resourceId, list);
  }
  const logGroups = new Map(inventory.logGroups.map((group) => [group.name, group]));
  const subnetsByVpc = new Map<string, SubnetFacts[]>();
  for (const subnet of inventory.subnets ?? []) {
    const list = subnetsByVpc.get(subnet.vpcId) ?? [];
    list.push(subnet);
    subnetsByVpc.set(subnet.vpcId, list);
  }
  return { account, region: inventory.region, flowLogsByVpc, logGroups, subnetsByVpc };
}

export { flowLogQualifies } from "./flow-log-qualification.ts";

/** What an auditor reads next to a VPC's status. */
export interface VpcEvidence {
  /** The VPC's Name tag. */
  name: string | undefined;
  /** Log group (or destination ARN) of the flow log that makes the VPC compliant, or of the planned one. */
  destination: string | undefined;
  /** That log group's retention; undefined when it never expires events or is not a log group. */
  retentionDays: number | undefined;
}

/**
 * The evidence for an evaluated VPC: its Name tag, and the destination and retention of the flow
 * log that makes it compliant (for one still to be created: the planned one, with the policy's
 * retention).
 */
export function evidenceOf(
  vpc: VpcFacts,
  facts: RegionFacts,
  evaluation: VpcEvaluation,
  policy: Policy,
): VpcEvidence {
  const flowLog = (facts.flowLogsByVpc.get(vpc.vpcId) ?? []).find((candidate) =>
    evaluation.flowLogIds.includes(candidate.flowLogId),
  );
  const name = vpc.tags.Name || undefined;
  if (flowLog) {
    const group = flowLog.logGroupName ? facts.logGroups.get(flowLog.logGroupName) : undefined;
    const destination = flowLog.logGroupName ?? flowLog.logDestination;
    return { name, destination, retentionDays: group?.retentionInDays };
  }
  const planned = evaluation.needs.find((need) => need.kind === "flow-log")?.destination;
  if (!planned) return { name, destination: undefined, retentionDays: undefined };
  if (planned.type === "s3") return { name, destination: planned.logDestination, retentionDays: undefined };
  return { name, destination: planned.logGroupName, retentionDays: policy.retentionDays };
}

/** Everything one rule of the evaluation looks at. */
interface VpcContext {
  vpc: VpcFacts;
  /** Subnet mode: the subnet being judged (its own flow logs and tags); `vpc` is its VPC. */
  subnet?: SubnetFacts;
  facts: RegionFacts;
  policy: Policy;
  flowLogs: readonly FlowLogFacts[];
  qualifying: readonly FlowLogFacts[];
  exception: ExceptionVerdict | undefined;
  /** Added to the reason of a VPC that is not exempt: an expired or invalid exception. */
  note: string;
  now: Date;
}

/** A rule decides a VPC's evaluation, or passes (undefined) to the next rule. */
type EvaluationRule = (context: VpcContext) => VpcEvaluation | undefined;

/**
 * The rules, in order; the first that decides wins. New checks (a VPC shared from another account,
 * a traffic type the policy requires) are new rules here, not new branches in the planner.
 */
const RULES: readonly EvaluationRule[] = [
  notOwned,
  exemptDefaultVpc,
  exemptByException,
  s3Coverage,
  foreignFlowLog,
  ownFlowLog,
];

/**
 * Decides, without any I/O, whether a VPC is compliant, exempt or non-compliant, why, and what it
 * needs. Pure: the same facts give the same evaluation.
 *
 * - compliant: a qualifying flow log exists (see {@link flowLogQualifies}: it captures the policy's
 *   `trafficType`, so a REJECT-only flow log does not count when the policy asks ALL); for one flowlog-guard
 *   created, its log group must also exist with enough retention.
 * - exempt: a valid, unexpired exception, or a default VPC when `includeDefaultVpcs` is false.
 * - not-owned: the VPC belongs to another account (shared through AWS RAM); that account's run covers
 *   it, so it needs nothing here and is neither compliant nor non-compliant for this account.
 * - non-compliant: everything else, with the needs that fix it.
 *
 * @example
 * const evaluation = evaluateVpc(vpc, indexRegionFacts(account, inventory), policy, new Date());
 * evaluation.needs; // [{ kind: "delivery-role" }, { kind: "log-group", ... }, { kind: "flow-log", ... }]
 */
export function evaluateVpc(vpc: VpcFacts, facts: RegionFacts, policy: Policy, now: Date): VpcEvaluation {
  const evaluation = applyRules(RULES, contextOf(vpc, undefined, facts, policy, now));
  return policy.resourceType === "Subnet" ? evaluateSubnets(vpc, evaluation, facts, policy, now) : evaluation;
}

function contextOf(
  vpc: VpcFacts,
  subnet: SubnetFacts | undefined,
  facts: RegionFacts,
  policy: Policy,
  now: Date,
): VpcContext {
  const exception = evaluateException((subnet ?? vpc).tags, now, policy.maxExceptionDays);
  const flowLogs = facts.flowLogsByVpc.get(subnet?.subnetId ?? vpc.vpcId) ?? [];
  return {
    vpc,
    ...(subnet ? { subnet } : {}),
    facts,
    policy,
    flowLogs,
    qualifying: flowLogs.filter((flowLog) => flowLogQualifies(flowLog, policy.trafficType)),
    exception,
    note: exceptionNote(exception),
    now,
  };
}

function applyRules(rules: readonly EvaluationRule[], context: VpcContext): VpcEvaluation {
  for (const rule of rules) {
    const evaluation = rule(context);
    if (evaluation) return evaluation;
  }
  return missingCoverage(context);
}

/**
 * The rules a subnet is judged by (Subnet mode, when its VPC has no qualifying flow log): the VPC's,
 * except the default-VPC one (that is the VPC's decision).
 */
const SUBNET_RULES: readonly EvaluationRule[] = RULES.filter((rule) => rule !== exemptDefaultVpc);

/**
 * Subnet mode. A VPC whose own evaluation needs no new flow log (exempt, covered by a qualifying VPC
 * flow log, or flowlog-guard's VPC flow log under repair) keeps that evaluation, and each subnet
 * follows it: no subnet flow log is ever planned where the VPC has one. Otherwise each subnet is judged
 * by its own flow logs and exception tags; the VPC is compliant when every subnet is covered or
 * exempt (an exempt subnet does not make it non-compliant), and needs what its subnets need.
 */
function evaluateSubnets(
  vpc: VpcFacts,
  vpcLevel: VpcEvaluation,
  facts: RegionFacts,
  policy: Policy,
  now: Date,
): VpcEvaluation {
  const subnets = facts.subnetsByVpc.get(vpc.vpcId) ?? [];
  if (!vpcLevel.needs.some((need) => need.kind === "flow-log")) {
    const subnetReason = `VPC ${vpc.vpcId} is ${vpcLevel.status}: ${vpcLevel.reason}`;
    const followVpc = (subnet: SubnetFacts): SubnetEvaluation => ({
      subnetId: subnet.subnetId,
      status: vpcLevel.status,
      reason:
        vpcLevel.status === "compliant" ? `covered by the VPC's flow log: ${vpcLevel.reason}` : subnetReason,
      exception: null,
      flowLogIds: vpcLevel.status === "exempt" ? [] : [...vpcLevel.flowLogIds],
      needs: [],
    });
    return { ...vpcLevel, subnets: subnets.map(followVpc) };
  }
  const judged = subnets.map((subnet) =>
    evaluateSubnet(contextOf(vpc, subnet, facts, policy, now), vpcLevel),
  );
  return rollUpSubnets(vpcLevel, judged);
}

/** One subnet of a VPC without a qualifying flow log: the VPC's rules, applied to the subnet's facts. */
function evaluateSubnet(context: VpcContext, vpcLevel: VpcEvaluation): SubnetEvaluation {
  const subnetId = context.subnet?.subnetId ?? "";
  const evaluation = applyRules(SUBNET_RULES, context);
  const needs = evaluation.needs.map(
    (need): VpcNeed => (need.kind === "flow-log" ? { ...need, subnetId } : need),
  );
  const uncovered = needs.some((need) => need.kind === "flow-log");
  const reason = uncovered
    ? `subnet: ${evaluation.reason}; VPC ${context.vpc.vpcId}: ${vpcLevel.reason}`
    : evaluation.reason;
  const { status, exception, flowLogIds } = evaluation;
  return { subnetId, status, reason, exception, flowLogIds, needs };
}

/** A VPC judged by its subnets: its status, reason and flow logs, and the union of their needs. */
function rollUpSubnets(vpcLevel: VpcEvaluation, subnets: SubnetEvaluation[]): VpcEvaluation {
  const open = subnets.filter((subnet) => subnet.status === "non-compliant");
  const exempt = subnets.filter((subnet) => subnet.status === "exempt");
  const needs = new Map<string, VpcNeed>();
  for (const need of subnets.flatMap((subnet) => subnet.needs)) {
    const key = need.kind === "flow-log" ? `flow-log:${need.subnetId}` : JSON.stringify(need);
    if (!needs.has(key)) needs.set(key, need);
  }
  const exemptNote =
    exempt.length > 0 ? `; ${exempt.length} exempt (${ids(exempt)}), not counted against the VPC` : "";
  let reason: string;
  if (subnets.length === 0) {
    reason =
      "no VPC flow log and no subnets, so nothing to log yet (Subnet mode: a new subnet is covered when it is created)";
  } else if (open.length === 0) {
    reason = `every subnet is covered by its own flow log (${subnets.length - exempt.length} of ${subnets.length})${exemptNote}`;
  } else {
    reason = `${open.length} of ${subnets.length} subnets have no qualifying flow log, nor has the VPC (${vpcLevel.reason}): ${ids(open)}${exemptNote}`;
  }
  return {
    status: open.length > 0 ? "non-compliant" : "compliant",
    reason,
    exception: vpcLevel.exception,
    flowLogIds: [...new Set(subnets.flatMap((subnet) => subnet.flowLogIds))],
    needs: [...needs.values()],
    subnets,
  };
}

function ids(subnets: readonly SubnetEvaluation[]): string {
  return subnets.map((subnet) => subnet.subnetId).join(", ");
}

function decided(
  context: VpcContext,
  status: VpcEvaluation["status"],
  reason: string,
  needs: VpcNeed[] = [],
  flowLogIds = context.qualifying.map((flowLog) => flowLog.flowLogId),
): VpcEvaluation {
  return { status, reason, exception: context.exception ?? null, flowLogIds, needs };
}

/**
 * A VPC another account owns and shares through AWS RAM: the participant sees it in DescribeVpcs but
 * can neither see nor create its flow logs, so it is never acted on. Decided first: no exception,
 * default-VPC setting or missing flow log can make flowlog-guard act on another account's VPC.
 */
function notOwned(context: VpcContext): VpcEvaluation | undefined {
  const { ownerId } = context.vpc;
  if (!ownerId || ownerId === context.facts.account) return undefined;
  const reason = `shared by account ${ownerId} through AWS RAM; the owner's run covers it`;
  return { status: "not-owned", reason, exception: null, flowLogIds: [], needs: [] };
}

function exemptDefaultVpc(context: VpcContext): VpcEvaluation | undefined {
  if (!context.vpc.isDefault || context.policy.includeDefaultVpcs) return undefined;
  return decided(context, "exempt", "default VPC, and the policy sets includeDefaultVpcs=false");
}

function exemptByException(context: VpcContext): VpcEvaluation | undefined {
  const { exception } = context;
  if (exception?.state !== "valid") return undefined;
  const why = exception.reason ? `: ${exception.reason}` : "";
  return decided(context, "exempt", `exception by ${exception.owner} until ${exception.expires}${why}`);
}

/** S3 destination: judged by {@link evaluateS3Coverage}; no role and no log group are ever needed. */
function s3Coverage(context: VpcContext): VpcEvaluation | undefined {
  const { policy, facts } = context;
  if (policy.destinationType !== "s3") return undefined;
  const coverage = evaluateS3Coverage(context.flowLogs, policy, facts.account);
  const needs: VpcNeed[] =
    coverage.needsFlowLog && policy.logDestination
      ? [{ kind: "flow-log", destination: { type: "s3", logDestination: policy.logDestination } }]
      : [];
  return decided(context, coverage.status, `${coverage.reason}${context.note}`, needs, coverage.flowLogIds);
}

/** A qualifying flow log flowlog-guard did not create: compliant, and none of flowlog-guard's business. */
function foreignFlowLog(context: VpcContext): VpcEvaluation | undefined {
  const foreign = context.qualifying.find((flowLog) => !flowLog.managed);
  if (!foreign) return undefined;
  return decided(context, "compliant", `flow log ${describeFlowLog(foreign)} is active${context.note}`);
}

/** flowlog-guard's own flow log: compliant while it delivers and its log group is right; else repaired. */
function ownFlowLog(context: VpcContext): VpcEvaluation | undefined {
  const ours =
    context.qualifying.find((flowLog) => flowLog.managed) ??
    context.flowLogs.find(
      (flowLog) =>
        flowLog.managed &&
        flowLog.flowLogStatus === "ACTIVE" &&
        flowLog.deliverLogsStatus === "FAILED" &&
        capturesPolicyTraffic(flowLog, context.policy.trafficType),
    );
  if (!ours) return undefined;
  const group = ours.logGroupName
    ? logGroupNeeds(ours.logGroupName, context)
    : { needs: [], why: "", note: "" };
  const needs: VpcNeed[] = [{ kind: "delivery-role" }, ...group.needs];
  const failing = !flowLogQualifies(ours, context.policy.trafficType);
  if (group.needs.length === 0 && !failing) {
    const reason = `flow log ${describeFlowLog(ours)} is active${group.note}${context.note}`;
    return decided(context, "compliant", reason, needs);
  }
  const problem = failing
    ? `flowlog-guard's flow log ${ours.flowLogId} fails delivery (${ours.deliverLogsErrorMessage ?? "no message"}); repairing its role and log group`
    : `flowlog-guard's flow log ${ours.flowLogId} needs its log group repaired: ${group.why}`;
  return decided(context, "non-compliant", `${problem}${context.note}`, needs, [ours.flowLogId]);
}

/** No qualifying flow log: flowlog-guard creates one, into the log group the policy's template names. */
function missingCoverage(context: VpcContext): VpcEvaluation {
  const { vpc, facts } = context;
  const logGroupName = renderLogGroupName(context.policy.logGroupName, {
    vpcId: vpc.vpcId,
    region: facts.region,
    accountId: facts.account,
  });
  const group = logGroupNeeds(logGroupName, context);
  const needs: VpcNeed[] = [
    { kind: "delivery-role" },
    ...group.needs,
    { kind: "flow-log", destination: { type: "cloud-watch-logs", logGroupName } },
  ];
  const reason = describeMissingCoverage(context.flowLogs, context.policy, facts.account);
  return decided(context, "non-compliant", `${reason}${group.note}${context.note}`, needs);
}

/** A log group's needs, why it has them, and what an operator should know about one left as it is. */
interface LogGroupVerdict {
  needs: VpcNeed[];
  why: string;
  /** Added to the VPC's reason: a managed group left without retention that is too old to repair. */
  note: string;
}

const DAY_MS = 86_400_000;

/**
 * What a log group needs: to exist, to keep events at least as long as the policy (never lowered),
 * and, for one flowlog-guard manages, to be on its region's KMS key.
 */
function logGroupNeeds(name: string, context: VpcContext): LogGroupVerdict {
  const existing = context.facts.logGroups.get(name);
  if (!existing)
    return {
      needs: [{ kind: "log-group", logGroupName: name }],
      why: `log group ${name} is missing`,
      note: "",
    };
  const retention = retentionNeeds(existing, context);
  const key = kmsKeyNeeds(existing, context);
  return {
    needs: [...retention.needs, ...key.needs],
    why: [retention.why, key.why].filter(Boolean).join("; "),
    note: retention.note,
  };
}

/** An existing group's retention: raised to the policy's when shorter (never lowered). */
function retentionNeeds(existing: LogGroupFacts, context: VpcContext): LogGroupVerdict {
  const { retentionDays } = context.policy;
  const name = existing.name;
  if (existing.retentionInDays === undefined) return neverExpiringGroupNeeds(existing, context);
  if (existing.retentionInDays >= retentionDays) return { needs: [], why: "", note: "" };
  return {
    needs: [{ kind: "retention", logGroupName: name, retentionInDays: existing.retentionInDays }],
    why: `log group ${name} keeps events ${existing.retentionInDays} days, less than ${retentionDays}`,
    note: "",
  };
}

/**
 * A group that never expires its events keeps them long enough. A customer's is left alone. One
 * flowlog-guard manages was left so by an interrupted run (CreateLogGroup done, PutRetentionPolicy
 * not): giving it the policy's retention is not lowering it while the group is younger than that
 * retention, since no event can be lost; an older one is left as it is, and the reason says why.
 */
function neverExpiringGroupNeeds(group: LogGroupFacts, context: VpcContext): LogGroupVerdict {
  const { retentionDays } = context.policy;
  if (group.managed !== true || group.creationTime === undefined) return { needs: [], why: "", note: "" };
  const ageDays = Math.floor((context.now.getTime() - group.creationTime) / DAY_MS);
  if (context.now.getTime() - group.creationTime < retentionDays * DAY_MS) {
    return {
      needs: [{ kind: "retention", logGroupName: group.name, retentionInDays: null }],
      why: `managed log group ${group.name} never expires its events (a run was interrupted before setting its retention); it is ${ageDays} days old, so ${retentionDays}-day retention loses no event`,
      note: "",
    };
  }
  return {
    needs: [],
    why: "",
    note: `; managed log group ${group.name} never expires its events and is ${ageDays} days old: left as it is, since ${retentionDays}-day retention would delete its events older than ${retentionDays} days (set it by hand if that is wanted)`,
  };
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

/**
 * A log group flowlog-guard manages (tagged `flowlog-guard:managed=true`) must be on its region's key
 * when `kmsKeyArn` gives one; a customer's group, or a group whose tags were not read, is left alone.
 */
function kmsKeyNeeds(group: LogGroupFacts, context: VpcContext): { needs: VpcNeed[]; why: string } {
  const wanted = kmsKeyForRegion(context.policy.kmsKeyArn, context.facts.region);
  if (!wanted || group.kmsKeyId === wanted || group.managed !== true) return { needs: [], why: "" };
  const now = group.kmsKeyId ? `is on key ${group.kmsKeyId}` : "has no KMS key";
  return {
    needs: [
      { kind: "kms-key", logGroupName: group.name, kmsKeyArn: wanted, kmsKeyId: group.kmsKeyId ?? null },
    ],
    why: `managed log group ${group.name} ${now}, not ${wanted}`,
  };
}
