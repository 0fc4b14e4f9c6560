import type { ChangeRecord, PublishResult } from "./change-records.ts";
import type { ExecutionResult } from "./executor/index.ts";
import type { Plan, SubnetPlan, VpcPlan } from "./plan.ts";

export type RunMode = "scan" | "dry-run" | "fix";

/** A VPC's status in a report. A public contract (reports are scripted against). */
export type VpcStatus =
  | "compliant"
  | "non-compliant"
  | "exempt"
  /** Another account owns the VPC (shared through AWS RAM): its run covers it; never acted on here. */
  | "not-owned"
  | "remediated"
  | "would-remediate"
  | "failed";

export interface PlannedActionSummary {
  kind: string;
  target: string;
  reason: string;
}

export interface VpcReport {
  account: string;
  region: string;
  vpcId: string;
  isDefault: boolean;
  /** The VPC's Name tag, when it has one. */
  name?: string;
  status: VpcStatus;
  reason: string;
  flowLogIds: string[];
  exception: VpcPlan["exception"];
  /** Log group (or destination ARN) of the flow log that makes the VPC compliant, or of the planned one. */
  destination?: string;
  /** That log group's retention in days; absent when it never expires events or is not a log group. */
  retentionDays?: number;
  /** Change records of this VPC (fix mode). */
  changes: ChangeRecord[];
  /** What fix-all does or would do for this VPC. */
  actions: PlannedActionSummary[];
  /**
   * Subnet mode only (absent with `resourceType` VPC): every subnet of the VPC, covered by its own
   * flow log or by its VPC's. The VPC is compliant when each is covered or exempt.
   */
  subnets?: SubnetReport[];
}

/** A subnet in a Subnet-mode report. `subnetId`, `status` and `flowLogIds` are a public contract. */
export interface SubnetReport {
  subnetId: string;
  /** The subnet's Name tag, when it has one. */
  name?: string;
  status: VpcStatus;
  reason: string;
  /** Flow logs that cover the subnet: its own (created by this run too), or its VPC's. */
  flowLogIds: string[];
  exception: SubnetPlan["exception"];
}

export interface ReportError {
  scope: "account" | "region" | "vpc" | "ledger";
  region?: string;
  vpcId?: string;
  message: string;
}

/**
 * What happened to one region of one account in a run, as a kind: read and evaluated (`done`),
 * could not be read (`read-failed`, an error), or not started because the run's time limit came
 * first (`not-started`, not an error: run again to finish it). Reports count kinds, never messages.
 */
export type RegionOutcome =
  | { account: string; region: string; kind: "done" }
  | { account: string; region: string; kind: "read-failed"; error: string }
  | { account: string; region: string; kind: "not-started" };

export type RegionOutcomeKind = RegionOutcome["kind"];

export interface RunReport {
  mode: RunMode;
  account: string;
  regions: string[];
  summary: {
    vpcs: number;
    compliant: number;
    remediated: number;
    wouldRemediate: number;
    nonCompliant: number;
    exempt: number;
    /** VPCs other accounts own and share with this one (AWS RAM): counted apart, never acted on. */
    notOwned: number;
    failed: number;
    changes: number;
    /** Regions that could not be read (each also in `errors`). */
    regionsFailed: number;
    /** Regions not started because the run's time limit came first (not errors; run again). */
    regionsRemaining: number;
    recordsPublished: number;
    recordsUndelivered: number;
    apiCalls: number;
    apiRetries: number;
    /** Passes over the plan: 1, plus one per retry of work that failed for a retryable reason. */
    passes: number;
    /** Actions (per VPC for flow logs) tried again in a later pass. */
    retriedWork: number;
    durationMs: number;
  };
  vpcs: VpcReport[];
  /** One outcome per region of the run, in the order the regions were given. */
  regionOutcomes: RegionOutcome[];
  /** Changes not tied to one VPC: the delivery role, log groups that VPCs share. */
  sharedChanges: ChangeRecord[];
  /**
   * Planned actions no single VPC owns (the delivery role, its trust, its inline policy): what scan
   * and dry-run would change besides the VPCs' own actions. A drifted role shows here.
   */
  plannedSharedActions?: PlannedActionSummary[];
  /** Change records that could not be delivered to the ledger bus, in full (they exist nowhere else). */
  undeliveredRecords?: ChangeRecord[];
  errors: ReportError[];
}

function targetOf(action: Plan["actions"][number]): string {
  const what =
    "subnets" in action && action.subnets ? `subnet flow logs (${action.subnets.length})` : "flow log";
  if (action.kind === "create-flow-log") return `${what} -> ${action.logGroupName}`;
  if (action.kind === "create-s3-flow-log") return `${what} -> ${action.logDestination}`;
  return "logGroupName" in action ? action.logGroupName : action.roleName;
}

export interface ReportInput {
  mode: RunMode;
  plan: Plan;
  regions: string[];
  execution?: ExecutionResult;
  publish?: PublishResult;
  regionOutcomes: RegionOutcome[];
  apiCalls: number;
  apiRetries: number;
  durationMs: number;
}

/** Turns a plan, and what executing it did, into the report operators and scripts read. */
export function buildReport(input: ReportInput): RunReport {
  const { plan, execution, mode } = input;
  const records = execution?.records ?? [];
  const errors: ReportError[] = input.regionOutcomes.flatMap((outcome) =>
    outcome.kind === "read-failed"
      ? [{ scope: "region" as const, region: outcome.region, message: `could not be read: ${outcome.error}` }]
      : [],
  );
  const vpcs = plan.vpcs.map((vpc) => {
    const report = reportVpc(vpc, plan, records);
    const judged = judgeVpc(report, vpc, mode, execution);
    errors.push(...judged.errors);
    return judged.report;
  });
  errors.push(...sharedChangeErrors(records), ...ledgerErrors(input.publish));
  return {
    mode,
    account: plan.account,
    regions: input.regions,
    summary: summarize(input, vpcs, records),
    vpcs,
    regionOutcomes: input.regionOutcomes,
    sharedChanges: records.filter((record) => record.vpcId === null),
    plannedSharedActions: plan.actions
      .filter((action) => !plan.vpcs.some((vpc) => vpc.actionKeys.includes(action.key)))
      .map((action) => ({ kind: action.kind, target: targetOf(action), reason: action.reason })),
    undeliveredRecords: records.filter((record) =>
      (input.publish?.undelivered ?? []).some((item) => item.recordId === record.recordId),
    ),
    errors,
  };
}

/** A VPC as planned, with its change records and the actions fix-all does or would do for it. */
function reportVpc(vpc: VpcPlan, plan: Plan, records: readonly ChangeRecord[]): VpcReport {
  const actionsByKey = new Map(plan.actions.map((action) => [action.key, action]));
  return {
    account: vpc.account,
    region: vpc.region,
    vpcId: vpc.vpcId,
    isDefault: vpc.isDefault,
    name: vpc.name,
    status: vpc.status,
    reason: vpc.reason,
    flowLogIds: [...vpc.flowLogIds],
    exception: vpc.exception,
    destination: vpc.destination,
    retentionDays: vpc.retentionDays,
    changes: records.filter((record) => record.vpcId === vpc.vpcId && record.region === vpc.region),
    actions: vpc.actionKeys.flatMap((key) => {
      const action = actionsByKey.get(key);
      return action ? [{ kind: action.kind, target: targetOf(action), reason: action.reason }] : [];
    }),
    ...(vpc.subnets ? { subnets: vpc.subnets.map(reportSubnet) } : {}),
  };
}

function reportSubnet(subnet: SubnetPlan): SubnetReport {
  const { subnetId, name, status, reason, flowLogIds, exception } = subnet;
  return { subnetId, ...(name ? { name } : {}), status, reason, flowLogIds: [...flowLogIds], exception };
}

/** The status a non-compliant VPC ends with: would-remediate (dry run), remediated, or failed. */
function judgeVpc(
  report: VpcReport,
  vpc: VpcPlan,
  mode: RunMode,
  execution: ExecutionResult | undefined,
): { report: VpcReport; errors: ReportError[] } {
  if (vpc.status !== "non-compliant") return { report, errors: [] };
  const subnets = report.subnets && vpc.subnets ? judgeSubnets(report.subnets, vpc, mode, execution) : {};
  if (mode === "dry-run") return { report: { ...report, ...subnets, status: "would-remediate" }, errors: [] };
  // Nothing flowlog-guard can do (e.g. its own flow log still reports FAILED delivery): say so.
  if (mode === "scan" || !execution || vpc.actionKeys.length === 0) return { report, errors: [] };

  // Outcomes are kept per VPC, or per subnet for subnet flow logs.
  const resources = [vpc.vpcId, ...(vpc.subnets ?? []).map((subnet) => subnet.subnetId)];
  const settled = settledKeys(vpc.actionKeys, resources, execution);
  const flowLogIds = [...new Set([...report.flowLogIds, ...settled.flowLogIds])];
  const problems = settled.problems;
  if (problems.length === 0) {
    return { report: { ...report, ...subnets, flowLogIds, status: "remediated" }, errors: [] };
  }
  return {
    report: {
      ...report,
      ...subnets,
      flowLogIds,
      status: "failed",
      reason: `${vpc.reason}; remediation failed: ${problems.join("; ")}`,
    },
    errors: problems.map((message) => ({ scope: "vpc", region: vpc.region, vpcId: vpc.vpcId, message })),
  };
}

/** What became of a VPC's (or subnet's) actions: flow logs made, and each problem as `key: error`. */
function settledKeys(
  actionKeys: readonly string[],
  resourceIds: readonly string[],
  execution: ExecutionResult,
): { flowLogIds: string[]; problems: string[] } {
  const flowLogIds: string[] = [];
  const problems: string[] = [];
  for (const key of actionKeys) {
    const outcome = execution.outcomes.get(key);
    const own = resourceIds.flatMap((id) => outcome?.perVpc?.get(id) ?? []);
    const entries = own.length > 0 ? own : [outcome];
    for (const entry of entries) {
      if (entry && "flowLogId" in entry && entry.flowLogId) flowLogIds.push(entry.flowLogId);
      if (!entry || entry.status === "failed" || entry.status === "skipped") {
        problems.push(`${key}: ${entry?.error ?? "not executed"}`);
      }
    }
  }
  return { flowLogIds, problems };
}

/** Subnet mode: each non-compliant subnet's final status, judged like its VPC. */
function judgeSubnets(
  reports: readonly SubnetReport[],
  vpc: VpcPlan,
  mode: RunMode,
  execution: ExecutionResult | undefined,
): { subnets: SubnetReport[] } {
  const plans = new Map((vpc.subnets ?? []).map((subnet) => [subnet.subnetId, subnet]));
  const subnets = reports.map((report): SubnetReport => {
    const plan = plans.get(report.subnetId);
    if (report.status !== "non-compliant" || !plan) return report;
    if (mode === "dry-run") return { ...report, status: "would-remediate" };
    if (mode === "scan" || !execution || plan.actionKeys.length === 0) return report;
    const settled = settledKeys(plan.actionKeys, [plan.subnetId], execution);
    const flowLogIds = [...new Set([...report.flowLogIds, ...settled.flowLogIds])];
    if (settled.problems.length === 0) return { ...report, flowLogIds, status: "remediated" };
    const reason = `${report.reason}; remediation failed: ${settled.problems.join("; ")}`;
    return { ...report, flowLogIds, status: "failed", reason };
  });
  return { subnets };
}

/** One error for every record the ledger bus did not take: how many, where, and each cause once. */
/** A shared change (the delivery role, a shared log group) that failed: one error each, with its cause. */
function sharedChangeErrors(records: readonly ChangeRecord[]): ReportError[] {
  return records
    .filter((record) => record.vpcId === null && record.outcome === "failed")
    .map((record) => ({
      scope: "account" as const,
      region: record.region,
      message: `${record.action} on ${record.target.id} failed: ${record.error ?? "no message"}`,
    }));
}

function ledgerErrors(publish: PublishResult | undefined): ReportError[] {
  const undelivered = publish?.undelivered ?? [];
  if (undelivered.length === 0) return [];
  const causes = new Map<string, number>();
  for (const item of undelivered) causes.set(item.error, (causes.get(item.error) ?? 0) + 1);
  const why = [...causes].map(([cause, count]) => `${cause} (${count})`).join("; ");
  return [
    {
      scope: "ledger",
      message:
        `${undelivered.length} change record(s) not delivered to ${publish?.bus ?? "(no bus)"}: ${why}. ` +
        "The records are in this report (undeliveredRecords); fix the bus or --ledger-bus and keep the report.",
    },
  ];
}

function summarize(input: ReportInput, vpcs: VpcReport[], records: ChangeRecord[]): RunReport["summary"] {
  const count = (status: VpcStatus) => vpcs.filter((vpc) => vpc.status === status).length;
  const regions = (kind: RegionOutcomeKind) =>
    input.regionOutcomes.filter((outcome) => outcome.kind === kind).length;
  return {
    vpcs: vpcs.length,
    compliant: count("compliant"),
    remediated: count("remediated"),
    wouldRemediate: count("would-remediate"),
    nonCompliant: count("non-compliant"),
    exempt: count("exempt"),
    notOwned: count("not-owned"),
    failed: count("failed"),
    changes: records.filter((record) => record.outcome === "applied").length,
    regionsFailed: regions("read-failed"),
    regionsRemaining: regions("not-started"),
    recordsPublished: input.publish?.published ?? 0,
    recordsUndelivered: input.publish?.undelivered.length ?? 0,
    apiCalls: input.apiCalls,
    apiRetries: input.apiRetries,
    passes: input.execution?.passes ?? 1,
    retriedWork: input.execution?.retriedWork ?? 0,
    durationMs: input.durationMs,
  };
}
