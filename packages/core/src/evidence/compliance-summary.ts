import type { ChangeRecord } from "../change-records.ts";
import type { Policy } from "../config.ts";
import type { RunReport, VpcReport, VpcStatus } from "../report.ts";

/** What every report format needs besides the run itself: when, and under which policy. */
export interface EvidenceContext {
  generatedAt: string;
  policy: Policy;
  tool: { name: string; version: string };
}

/** What the report formats read: a single-account run report or an organization report. */
export type EvidenceReport = Pick<RunReport, "mode" | "account" | "regions" | "vpcs" | "sharedChanges"> & {
  /** Organization mode: every account selected. */
  accounts?: string[];
  errors: readonly { account?: string; region?: string; vpcId?: string; message: string }[];
};

export interface Totals {
  vpcs: number;
  compliant: number;
  remediated: number;
  nonCompliant: number;
  exempt: number;
  /** VPCs another account owns and shares (AWS RAM): neither compliant nor not, for this account. */
  notOwned: number;
  failed: number;
}

/** Columns of the totals tables in the Markdown and HTML reports, and one row's cells. */
export const TOTAL_HEADER = [
  "VPCs",
  "Compliant",
  "Remediated",
  "Non-compliant",
  "Exempt",
  "Not owned",
  "Failed",
];
export const totalCells = (t: Totals) => [
  t.vpcs,
  t.compliant,
  t.remediated,
  t.nonCompliant,
  t.exempt,
  t.notOwned,
  t.failed,
];

/** A VPC an auditor must read about: not compliant, failed, exempt or not owned, with the reason. */
export interface Finding {
  account: string;
  region: string;
  vpcId: string;
  /** Subnet mode: a subnet of the VPC (shown under it as `vpc-… / subnet-…`). */
  subnetId?: string;
  name: string | undefined;
  status: VpcStatus;
  reason: string;
  exceptionOwner: string | undefined;
  exceptionExpires: string | undefined;
}

export interface ComplianceSummary {
  scope: { accounts: string[]; regions: string[]; mode: RunReport["mode"] };
  totals: Totals;
  byAccount: (Totals & { account: string })[];
  byRegion: (Totals & { account: string; region: string })[];
  findings: Finding[];
  changes: ChangeRecord[];
  errors: EvidenceReport["errors"];
}

/** Non-compliant in the report sense: would-remediate (dry run) counts as non-compliant. */
export const NEEDS_ATTENTION: readonly VpcStatus[] = ["non-compliant", "would-remediate", "failed"];

/**
 * Listed with their reason although nothing is wrong for this account: exempt VPCs (an exception or
 * the default-VPC setting) and not-owned ones (the owner account's run covers them).
 */
const ACCOUNTED_APART: readonly VpcStatus[] = ["exempt", "not-owned"];

function totalsOf(vpcs: readonly VpcReport[]): Totals {
  const count = (...statuses: VpcStatus[]) => vpcs.filter((vpc) => statuses.includes(vpc.status)).length;
  return {
    vpcs: vpcs.length,
    compliant: count("compliant"),
    remediated: count("remediated"),
    nonCompliant: count("non-compliant", "would-remediate"),
    exempt: count("exempt"),
    notOwned: count("not-owned"),
    failed: count("failed"),
  };
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return new Map([...groups.entries()].sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * The facts a compliance report states, in the order an auditor reads them: scope, totals per account
 * and per region, then every VPC that is not compliant, exempt or not owned (with why), then the
 * change records.
 */
export function summarizeCompliance(report: EvidenceReport): ComplianceSummary {
  const vpcs = report.vpcs;
  const accounts = [...new Set([...(report.accounts ?? [report.account]), ...vpcs.map((vpc) => vpc.account)])]
    .filter(Boolean)
    .sort();
  const listed = (status: VpcStatus) => NEEDS_ATTENTION.includes(status) || ACCOUNTED_APART.includes(status);
  const findings = vpcs
    .flatMap((vpc): Finding[] => [
      ...(listed(vpc.status) ? [findingOf(vpc, vpc)] : []),
      // Subnet mode: subnets that are not covered, failed or exempt, under their VPC.
      ...(vpc.subnets ?? [])
        .filter((subnet) => listed(subnet.status) && subnet.status !== vpc.status)
        .map((subnet) => ({ ...findingOf(vpc, subnet), subnetId: subnet.subnetId })),
    ])
    .sort((a, b) =>
      `${a.status}/${a.account}/${a.region}/${a.vpcId}/${a.subnetId ?? ""}`.localeCompare(
        `${b.status}/${b.account}/${b.region}/${b.vpcId}/${b.subnetId ?? ""}`,
      ),
    );
  return {
    scope: { accounts, regions: [...report.regions].sort(), mode: report.mode },
    totals: totalsOf(vpcs),
    byAccount: [...groupBy(vpcs, (vpc) => vpc.account)].map(([account, list]) => ({
      account,
      ...totalsOf(list),
    })),
    byRegion: [...groupBy(vpcs, (vpc) => `${vpc.account}/${vpc.region}`)].map(([, list]) => ({
      account: list[0]!.account,
      region: list[0]!.region,
      ...totalsOf(list),
    })),
    findings,
    changes: [...vpcs.flatMap((vpc) => vpc.changes), ...report.sharedChanges].sort((a, b) =>
      a.time.localeCompare(b.time),
    ),
    errors: report.errors,
  };
}

function findingOf(
  vpc: VpcReport,
  subject: Pick<VpcReport, "name" | "status" | "reason" | "exception">,
): Finding {
  return {
    account: vpc.account,
    region: vpc.region,
    vpcId: vpc.vpcId,
    name: subject.name,
    status: subject.status,
    reason: subject.reason,
    exceptionOwner: subject.exception?.owner,
    exceptionExpires: subject.exception?.expires,
  };
}

/** The policy settings a report states as "in force" (the ones that decide compliance). */
export function policyInForce(policy: Policy): [string, string][] {
  return [
    ["Traffic type", policy.trafficType],
    ["Minimum retention", `${policy.retentionDays} days`],
    ["Log group name", policy.logGroupName],
    ["Delivery role", policy.roleName],
    ...(policy.rolePermissionsBoundary
      ? [["Delivery role boundary", policy.rolePermissionsBoundary] as [string, string]]
      : []),
    ["Default VPCs", policy.includeDefaultVpcs ? "remediated" : "exempt"],
    ["Aggregation interval", `${policy.maxAggregationInterval} s`],
    ["Longest exception", `${policy.maxExceptionDays} days`],
    ["KMS key", policy.kmsKeyArn ?? "none"],
    ...(policy.resourceType === "Subnet"
      ? [["Flow logs on", "subnets (Subnet mode)"] as [string, string]]
      : []),
    ["Change-record ledger", policy.ledgerBus ?? "none"],
  ];
}

/** Columns of the findings table in the Markdown and HTML reports, and one finding's cells. */
export const FINDING_COLUMNS = [
  "Status",
  "Account",
  "Region",
  "VPC",
  "Name",
  "Reason",
  "Exception owner",
  "Expires",
] as const;

export function findingCells(f: Finding): (string | undefined)[] {
  const where = f.subnetId ? `${f.vpcId} / ${f.subnetId}` : f.vpcId;
  return [f.status, f.account, f.region, where, f.name, f.reason, f.exceptionOwner, f.exceptionExpires];
}

/** Columns of the change-record table in the Markdown and HTML reports, and one record's cells. */
export const CHANGE_COLUMNS = [
  "Time",
  "Account",
  "Region",
  "VPC",
  "Action",
  "Target",
  "Outcome",
  "Reason",
] as const;

export function changeCells(c: ChangeRecord): string[] {
  const where = c.subnetId ? `${c.vpcId} / ${c.subnetId}` : (c.vpcId ?? "(shared)");
  return [c.time, c.account, c.region, where, c.action, c.target.id, c.outcome, c.reason];
}
