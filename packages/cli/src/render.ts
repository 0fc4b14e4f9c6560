import {
  EXCEPTION_TAGS,
  type OrganizationError,
  type OrganizationReport,
  type ReportError,
  type RunReport,
  type VpcReport,
} from "@flowlog-guard/core";

/** One account's report, or an organization's (accounts, skipped accounts, errors keyed by account). */
export type AnyReport = RunReport | OrganizationReport;

/** A plain text table: columns padded to their widest cell, numbers right-aligned. */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((row) => row.map(String))];
  const widths = header.map((_, column) => Math.max(...cells.map((row) => row[column]!.length)));
  return cells
    .map((row, index) =>
      row
        .map((cell, column) =>
          index > 0 && typeof rows[index - 1]![column] === "number"
            ? cell.padStart(widths[column]!)
            : cell.padEnd(widths[column]!),
        )
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** A VPC needs a person's attention: not fixed, or fixed but with an exception that needs a look. */
export function needsAttention(vpc: VpcReport): boolean {
  if (["non-compliant", "would-remediate", "failed"].includes(vpc.status)) return true;
  return vpc.exception?.state === "expired" || vpc.exception?.state === "invalid";
}

const TITLES = {
  scan: "scan (read-only)",
  "dry-run": "fix-all --dry-run (nothing changed)",
  fix: "fix-all",
} as const;

const STATUSES = [
  "compliant",
  "remediated",
  "would-remediate",
  "non-compliant",
  "exempt",
  "not-owned",
  "failed",
] as const;

export interface RenderOptions {
  title?: string;
  /** Summary and problems only. */
  quiet?: boolean;
  now?: Date;
}

/** `vpc-0abc (web-prod)`: the id with the Name tag people know the VPC by. */
function vpcLabel(vpc: VpcReport): string {
  return `${vpc.vpcId}${vpc.name ? ` (${vpc.name})` : ""}${vpc.isDefault ? " [default]" : ""}`;
}

/** What a person does about a VPC that needs attention. */
export function whatToDo(vpc: VpcReport, mode: AnyReport["mode"]): string {
  if (vpc.status === "failed") return "see the errors below, fix the cause, then run fix-all again";
  if (vpc.status === "would-remediate") return "run fix-all without --dry-run";
  if (vpc.status === "non-compliant") {
    return vpc.actions.length > 0 || mode === "scan"
      ? "run flowlog-guard fix-all"
      : "look at the VPC's flow logs in the console: flowlog-guard cannot fix this on its own";
  }
  if (vpc.exception?.state === "expired")
    return `renew the exception (tag ${EXCEPTION_TAGS.expires}) or remove its tags so fix-all covers the VPC`;
  return `fix the exception tags (${EXCEPTION_TAGS.owner}, ${EXCEPTION_TAGS.expires})`;
}

function regionTable(report: AnyReport): string {
  const rows = report.regions.map((region) => {
    const vpcs = report.vpcs.filter((vpc) => vpc.region === region);
    const failed = report.errors.some((error) => error.scope === "region" && error.region === region);
    const notStarted = (report.regionOutcomes ?? []).some(
      (outcome) => outcome.region === region && outcome.kind === "not-started",
    );
    return [
      failed ? `${region} (not read)` : notStarted ? `${region} (not started)` : region,
      vpcs.length,
      ...STATUSES.map((status) => vpcs.filter((vpc) => vpc.status === status).length),
    ];
  });
  return table(
    [
      "REGION",
      "VPCS",
      "COMPLIANT",
      "REMEDIATED",
      "WOULD-FIX",
      "NON-COMPLIANT",
      "EXEMPT",
      "NOT-OWNED",
      "FAILED",
    ],
    rows,
  );
}

function attentionLines(report: AnyReport): string[] {
  const attention = report.vpcs.filter(needsAttention);
  if (attention.length === 0) return [];
  const lines = ["", `Needs attention (${attention.length}):`];
  for (const vpc of attention) {
    const account = organizationSummary(report) ? `${vpc.account}  ` : "";
    lines.push(
      `  ${account}${vpc.region}  ${vpcLabel(vpc)}  ${vpc.status.toUpperCase()}`,
      `      why: ${vpc.reason}`,
      ...subnetLines(vpc),
    );
    if (vpc.status === "non-compliant" || vpc.status === "would-remediate") {
      const verb = report.mode === "scan" ? "fix-all would" : "would";
      for (const action of vpc.actions) lines.push(`      ${verb}: ${action.kind} ${action.target}`);
    }
    lines.push(`      do: ${whatToDo(vpc, report.mode)}`);
  }
  return lines;
}

/** Subnet mode: a VPC's subnets that are not covered (or are exempt), one line each, under the VPC. */
function subnetLines(vpc: VpcReport): string[] {
  return (vpc.subnets ?? [])
    .filter((subnet) => subnet.status !== "compliant")
    .map((subnet) => {
      const name = subnet.name ? ` (${subnet.name})` : "";
      const flowLogs = subnet.flowLogIds.length > 0 ? ` [${subnet.flowLogIds.join(", ")}]` : "";
      return `      subnet ${subnet.subnetId}${name}: ${subnet.status.toUpperCase()}${flowLogs}`;
    });
}

function exemptLines(report: AnyReport, now: Date): string[] {
  // Exempt VPCs, and in Subnet mode exempt subnets (shown as `vpc / subnet`) of VPCs that are not.
  const exempt = report.vpcs
    .flatMap((vpc) => [
      ...(vpc.status === "exempt" ? [{ label: vpcLabel(vpc), vpc, exception: vpc.exception }] : []),
      ...(vpc.status === "exempt" ? [] : (vpc.subnets ?? []))
        .filter((subnet) => subnet.status === "exempt")
        .map((subnet) => ({
          label: `${vpcLabel(vpc)} / ${subnet.subnetId}`,
          vpc,
          exception: subnet.exception,
        })),
    ])
    .filter((entry) => entry.exception?.state === "valid");
  if (exempt.length === 0) return [];
  const rows = exempt.map(({ label, vpc, exception: verdict }) => {
    const exception = verdict as { owner: string; expires: string };
    const daysLeft = Math.ceil((Date.parse(exception.expires) - now.getTime()) / 86_400_000);
    return [vpc.region, label, exception.owner, exception.expires.slice(0, 10), daysLeft];
  });
  return [
    "",
    `Exempt (${exempt.length}):`,
    indent(table(["REGION", "VPC", "OWNER", "EXPIRES", "DAYS LEFT"], rows)),
  ];
}

/** VPCs other accounts share with this one (AWS RAM): never acted on, and who covers them. */
function notOwnedLines(report: AnyReport): string[] {
  const shared = report.vpcs.filter((vpc) => vpc.status === "not-owned");
  if (shared.length === 0) return [];
  const rows = shared.map((vpc) => [vpc.region, vpcLabel(vpc), vpc.reason]);
  return [
    "",
    `Not owned (${shared.length}), left to their owners' runs:`,
    indent(table(["REGION", "VPC", "WHY"], rows)),
  ];
}

function remediatedLines(report: AnyReport): string[] {
  const fixed = report.vpcs.filter((vpc) => vpc.status === "remediated");
  if (fixed.length === 0) return [];
  const rows = fixed.map((vpc) => [vpc.region, vpcLabel(vpc), vpc.flowLogIds.join(", ")]);
  return ["", `Remediated (${fixed.length}):`, indent(table(["REGION", "VPC", "FLOW LOGS"], rows))];
}

/** Scan and dry-run: the shared actions (delivery role, trust, inline policy) fix-all would take. */
function plannedSharedLines(report: AnyReport): string[] {
  const planned = sharedPlanned(report);
  if (planned.length === 0) return [];
  return [
    "",
    `Shared changes fix-all would make (${planned.length}):`,
    ...planned.map((action) => `  ${action.kind} ${action.target}\n      why: ${action.reason}`),
  ];
}

const sharedPlanned = (report: AnyReport) =>
  report.mode === "fix" ? [] : (report.plannedSharedActions ?? []);
const sharedFailed = (report: AnyReport) =>
  report.sharedChanges.filter((record) => record.outcome === "failed");

function sharedChangeLines(report: AnyReport): string[] {
  if (report.sharedChanges.length === 0) return [];
  return [
    "",
    `Shared changes (${report.sharedChanges.length}):`,
    ...report.sharedChanges.map(
      (record) => `  ${record.outcome === "applied" ? "" : "FAILED "}${record.action} ${record.target.id}`,
    ),
  ];
}

/** Errors, one line each, except undelivered change records: one line for all of them. */
function errorLines(report: AnyReport): string[] {
  if (report.errors.length === 0) return [];
  const errors: (ReportError | OrganizationError)[] = report.errors;
  const ledger = errors.filter((error) => error.scope === "ledger");
  const others = errors.filter((error) => error.scope !== "ledger");
  const lines = others.map((error) => {
    const where = "account" in error ? ` ${error.account} ${error.kind}` : "";
    return `  [${error.scope}${where}]${error.region ? ` ${error.region}` : ""}${error.vpcId ? ` ${error.vpcId}` : ""}: ${error.message}`;
  });
  if (ledger.length === 1) lines.push(`  [ledger] ${ledger[0]!.message}`);
  if (ledger.length > 1) {
    lines.push(
      `  [ledger] ${ledger.length} change records were not delivered (all are in the JSON report); first: ${ledger[0]!.message}`,
    );
  }
  return ["", `Errors (${lines.length}):`, ...lines];
}

const indent = (text: string) => text.replace(/^/gm, "  ");

/**
 * The human report: a per-region summary table, the VPCs that need attention (with what to do), the
 * exempt and remediated VPCs, shared changes, errors, and a verdict. `quiet` keeps the summary and
 * the problems only.
 */
export function renderReport(report: AnyReport, options: RenderOptions = {}): string {
  const { summary } = report;
  const title = options.title ?? TITLES[report.mode];
  const org = organizationSummary(report);
  const lines: string[] = [
    `flowlog-guard ${title} · ${org ? `${org.accounts} account(s) from ` : ""}account ${report.account} · ` +
      `${report.regions.length} region(s) · ${summary.vpcs} VPC(s) · ${summary.apiCalls} API calls · ` +
      `${(summary.durationMs / 1000).toFixed(1)} s`,
  ];
  if (org) lines.push(accountsLine(report as OrganizationReport));
  if (summary.vpcs > 0 || summary.regionsFailed > 0) lines.push("", regionTable(report));
  lines.push(...attentionLines(report));
  if (!options.quiet) {
    lines.push(
      ...exemptLines(report, options.now ?? new Date()),
      ...notOwnedLines(report),
      ...remediatedLines(report),
    );
  }
  lines.push(...plannedSharedLines(report), ...sharedChangeLines(report));
  if (report.mode === "fix") {
    lines.push(
      "",
      `Changes made: ${summary.changes}` +
        (summary.recordsPublished > 0 ? ` (${summary.recordsPublished} change records published)` : ""),
    );
  }
  lines.push(...errorLines(report), "", verdict(report));
  return `${lines.join("\n")}\n`;
}

/** The organization counters of a report, when it covers accounts of an organization. */
function organizationSummary(report: AnyReport): OrganizationReport["summary"] | undefined {
  return "accounts" in report.summary ? report.summary : undefined;
}

function accountsLine(report: OrganizationReport): string {
  const { accounts, accountsFailed, accountsSkipped } = report.summary;
  const skipped = report.skippedAccounts.map((skip) => `${skip.accountId} ${skip.kind}`).join(", ");
  return `accounts: ${accounts} selected, ${accountsFailed} failed, ${accountsSkipped} skipped${skipped ? ` (${skipped})` : ""}`;
}

export function verdict(report: AnyReport): string {
  const { summary } = report;
  const open = summary.nonCompliant + summary.wouldRemediate + summary.failed;
  const unread = summary.regionsFailed;
  const accountsFailed = organizationSummary(report)?.accountsFailed ?? 0;
  const otherErrors = report.errors.filter((error) => error.scope === "account" || error.scope === "ledger");
  const shared = sharedPlanned(report).length + sharedFailed(report).length;
  if (open === 0 && unread === 0 && accountsFailed === 0 && otherErrors.length === 0 && shared === 0) {
    if (summary.vpcs === 0) return "OK: nothing left to fix (no VPC in scope).";
    const notOwned = summary.notOwned
      ? `, ${summary.notOwned} owned by other accounts, whose runs cover them`
      : "";
    return `OK: every VPC is compliant or exempt (${summary.compliant + summary.remediated} covered, ${summary.exempt} exempt${notOwned}).`;
  }
  const parts = [];
  if (summary.wouldRemediate)
    parts.push(`${summary.wouldRemediate} VPC(s) would be remediated: run fix-all without --dry-run`);
  if (summary.nonCompliant)
    parts.push(`${summary.nonCompliant} VPC(s) are non-compliant: run fix-all to remediate`);
  if (summary.failed) parts.push(`${summary.failed} VPC(s) failed: see errors, then run again`);
  if (unread) parts.push(`${unread} region(s) could not be read: see errors`);
  if (accountsFailed) parts.push(`${accountsFailed} account(s) failed: see errors`);
  if (sharedPlanned(report).length)
    parts.push(`the delivery role needs ${sharedPlanned(report).length} change(s): run fix-all`);
  if (sharedFailed(report).length)
    parts.push(`${sharedFailed(report).length} shared change(s) failed: see errors`);
  if (summary.recordsUndelivered)
    parts.push(`${summary.recordsUndelivered} change record(s) were not delivered: see errors`);
  return `ATTENTION: ${parts.join("; ") || "see errors"}.`;
}

/** Exit code for a report: 0 when everything is compliant or exempt and nothing went wrong, 3 otherwise. */
export function exitCodeOf(report: AnyReport): 0 | 3 {
  const { summary } = report;
  const accountsFailed = organizationSummary(report)?.accountsFailed ?? 0;
  const open =
    summary.nonCompliant + summary.wouldRemediate + summary.failed + summary.regionsFailed + accountsFailed;
  const shared = sharedPlanned(report).length + sharedFailed(report).length;
  return open === 0 && shared === 0 && summary.recordsUndelivered === 0 && report.errors.length === 0 ? 0 : 3;
}
