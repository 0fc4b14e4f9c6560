import type { ChangeRecord, PublishResult } from "./change-records.ts";
import type { ExecutionResult } from "./executor/index.ts";
import type { Plan, VpcPlan } from "./plan.ts";

export type RunMode = "scan" | "dry-run" | "fix";

/** A VPC's status in a report. A public contract (reports are scripted against). */
export type VpcStatus =
  | "compliant"
  | "non-compliant"
  | "exempt"
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
}

export interface ReportError {
  scope: "account" | "region" | "vpc" | "ledger";
  region?: string;
  vpcId?: string;
  message: string;
}

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
    failed: number;
    changes: number;
    regionsFailed: number;
    /** Regions not started because the run's time limit came first. */
    regionsRemaining: number;
    recordsPublished: number;
    recordsUndelivered: number;
    apiCalls: number;
    apiRetries: number;
    durationMs: number;
  };
  vpcs: VpcReport[];
  /** Changes not tied to one VPC: the delivery role, log groups that VPCs share. */
  sharedChanges: ChangeRecord[];
  errors: ReportError[];
}

function targetOf(action: Plan["actions"][number]): string {
  if (action.kind === "create-flow-log") return `flow log -> ${action.logGroupName}`;
  if (action.kind === "create-s3-flow-log") return `flow log -> ${action.logDestination}`;
  return "logGroupName" in action ? action.logGroupName : action.roleName;
}

/** Turns a plan, and what executing it did, into the report operators and scripts read. */
export function buildReport(input: {
  mode: RunMode;
  plan: Plan;
  regions: string[];
  execution?: ExecutionResult;
  publish?: PublishResult;
  errors: ReportError[];
  regionsRemaining: number;
  apiCalls: number;
  apiRetries: number;
  durationMs: number;
}): RunReport {
  const { plan, execution, mode } = input;
  const actionsByKey = new Map(plan.actions.map((action) => [action.key, action]));
  const records = execution?.records ?? [];
  const errors = [...input.errors];

  const vpcs: VpcReport[] = plan.vpcs.map((vpc) => {
    const actions = vpc.actionKeys.flatMap((key) => {
      const action = actionsByKey.get(key);
      return action ? [{ kind: action.kind, target: targetOf(action), reason: action.reason }] : [];
    });
    const report: VpcReport = {
      account: vpc.account,
      region: vpc.region,
      vpcId: vpc.vpcId,
      isDefault: vpc.isDefault,
      ...(vpc.name ? { name: vpc.name } : {}),
      status: vpc.status,
      reason: vpc.reason,
      flowLogIds: [...vpc.flowLogIds],
      exception: vpc.exception,
      ...(vpc.destination ? { destination: vpc.destination } : {}),
      ...(vpc.retentionDays !== undefined ? { retentionDays: vpc.retentionDays } : {}),
      changes: records.filter((record) => record.vpcId === vpc.vpcId && record.region === vpc.region),
      actions,
    };
    if (vpc.status !== "non-compliant") return report;
    if (mode === "dry-run") return { ...report, status: "would-remediate" };
    // Nothing flowlog-guard can do (e.g. its own flow log still reports FAILED delivery): say so.
    if (mode === "scan" || !execution || vpc.actionKeys.length === 0) return report;

    const problems: string[] = [];
    for (const key of vpc.actionKeys) {
      const outcome = execution.outcomes.get(key);
      const own = outcome?.perVpc?.get(vpc.vpcId);
      const status = own?.status ?? outcome?.status;
      if (own?.flowLogId && !report.flowLogIds.includes(own.flowLogId)) report.flowLogIds.push(own.flowLogId);
      if (!outcome || status === "failed" || status === "skipped") {
        problems.push(`${key}: ${own?.error ?? outcome?.error ?? "not executed"}`);
      }
    }
    if (problems.length > 0) {
      for (const message of problems)
        errors.push({ scope: "vpc", region: vpc.region, vpcId: vpc.vpcId, message });
      return {
        ...report,
        status: "failed",
        reason: `${vpc.reason}; remediation failed: ${problems.join("; ")}`,
      };
    }
    return { ...report, status: "remediated" };
  });

  for (const undelivered of input.publish?.undelivered ?? []) {
    errors.push({
      scope: "ledger",
      message: `change record ${undelivered.recordId} not delivered to ${input.publish?.bus ?? "(no bus)"}: ${undelivered.error}`,
    });
  }
  const count = (status: VpcStatus) => vpcs.filter((vpc) => vpc.status === status).length;
  return {
    mode,
    account: plan.account,
    regions: input.regions,
    summary: {
      vpcs: vpcs.length,
      compliant: count("compliant"),
      remediated: count("remediated"),
      wouldRemediate: count("would-remediate"),
      nonCompliant: count("non-compliant"),
      exempt: count("exempt"),
      failed: count("failed"),
      changes: records.filter((record) => record.outcome === "applied").length,
      regionsFailed: input.errors.filter((error) => error.scope === "region").length,
      regionsRemaining: input.regionsRemaining,
      recordsPublished: input.publish?.published ?? 0,
      recordsUndelivered: input.publish?.undelivered.length ?? 0,
      apiCalls: input.apiCalls,
      apiRetries: input.apiRetries,
      durationMs: input.durationMs,
    },
    vpcs,
    sharedChanges: records.filter((record) => record.vpcId === null),
    errors,
  };
}
