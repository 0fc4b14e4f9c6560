import type { OrganizationReport, RegionOutcomeKind, RunReport, VpcReport } from "@flowlog-guard/core";

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

/** How the region table marks a region not read in full (in any account). */
const REGION_NOTES: Partial<Record<RegionOutcomeKind, string>> = {
  "read-failed": " (not read)",
  "not-started": " (not started)",
};

/** The human report: a per-region summary table, then the VPCs that need attention, then errors. */
export function renderReport(
  report: RunReport | OrganizationReport,
  title: string = TITLES[report.mode],
): string {
  const { summary } = report;
  const org = organizationSummary(report);
  const lines: string[] = [];
  lines.push(
    `flowlog-guard ${title} · ${org ? `${org.accounts} account(s) from ` : ""}account ${report.account} · ` +
      `${report.regions.length} region(s) · ${summary.vpcs} VPC(s) · ${summary.apiCalls} API calls · ` +
      `${(summary.durationMs / 1000).toFixed(1)} s`,
  );
  if (org)
    lines.push(
      `accounts: ${org.accounts} selected, ${org.accountsFailed} failed, ${org.accountsSkipped} skipped` +
        ((report as OrganizationReport).skippedAccounts.length > 0
          ? ` (${(report as OrganizationReport).skippedAccounts.map((skip) => `${skip.accountId} ${skip.kind}`).join(", ")})`
          : ""),
    );
  lines.push("");
  const statuses = [
    "compliant",
    "remediated",
    "would-remediate",
    "non-compliant",
    "exempt",
    "failed",
  ] as const;
  const rows = report.regions.map((region) => {
    const vpcs = report.vpcs.filter((vpc) => vpc.region === region);
    const kinds = report.regionOutcomes.filter((outcome) => outcome.region === region).map((o) => o.kind);
    const note = kinds.includes("read-failed")
      ? "read-failed"
      : kinds.includes("not-started")
        ? "not-started"
        : "done";
    return [
      region + (REGION_NOTES[note] ?? ""),
      vpcs.length,
      ...statuses.map((status) => vpcs.filter((vpc) => vpc.status === status).length),
    ];
  });
  lines.push(
    table(
      ["REGION", "VPCS", "COMPLIANT", "REMEDIATED", "WOULD-FIX", "NON-COMPLIANT", "EXEMPT", "FAILED"],
      rows,
    ),
  );

  const attention = report.vpcs.filter(needsAttention);
  if (attention.length > 0) {
    lines.push("", `Needs attention (${attention.length}):`);
    for (const vpc of attention) {
      lines.push(
        `  ${org ? `${vpc.account}  ` : ""}${vpc.region}  ${vpc.vpcId}${vpc.isDefault ? " (default)" : ""}  ${vpc.status.toUpperCase()}`,
      );
      lines.push(`      why: ${vpc.reason}`);
      if (vpc.status === "non-compliant" || vpc.status === "would-remediate") {
        for (const action of vpc.actions)
          lines.push(
            `      ${report.mode === "scan" ? "fix-all would" : "would"}: ${action.kind} ${action.target}`,
          );
      }
    }
  }
  const changes = summary.changes;
  if (report.mode === "fix") {
    lines.push(
      "",
      `Changes made: ${changes}` +
        (summary.recordsPublished > 0 ? ` (${summary.recordsPublished} change records published)` : ""),
    );
  }
  if (report.errors.length > 0) {
    lines.push("", `Errors (${report.errors.length}):`);
    for (const error of report.errors) {
      const where = "account" in error ? ` ${error.account} ${error.kind}` : "";
      lines.push(
        `  [${error.scope}${where}]${error.region ? ` ${error.region}` : ""}${error.vpcId ? ` ${error.vpcId}` : ""}: ${error.message}`,
      );
    }
  }
  lines.push("", verdict(report));
  return `${lines.join("\n")}\n`;
}

/** The organization counters of a report, when it covers accounts of an organization. */
function organizationSummary(
  report: RunReport | OrganizationReport,
): OrganizationReport["summary"] | undefined {
  return "accounts" in report.summary ? report.summary : undefined;
}

export function verdict(report: RunReport | OrganizationReport): string {
  const { summary } = report;
  const open = summary.nonCompliant + summary.wouldRemediate + summary.failed;
  const unread = summary.regionsFailed;
  const accountsFailed = organizationSummary(report)?.accountsFailed ?? 0;
  const notStarted = summary.regionsRemaining;
  if (open === 0 && unread === 0 && notStarted === 0 && accountsFailed === 0)
    return `OK: every VPC is compliant or exempt (${summary.compliant + summary.remediated} covered, ${summary.exempt} exempt).`;
  const parts = [];
  if (summary.wouldRemediate)
    parts.push(`${summary.wouldRemediate} VPC(s) would be remediated: run fix-all without --dry-run`);
  if (summary.nonCompliant)
    parts.push(`${summary.nonCompliant} VPC(s) are non-compliant: run fix-all to remediate`);
  if (summary.failed) parts.push(`${summary.failed} VPC(s) failed: see errors, then run again`);
  if (unread) parts.push(`${unread} region(s) could not be read: see errors`);
  if (notStarted) parts.push(`${notStarted} region(s) not started before the time limit: run again`);
  if (accountsFailed) parts.push(`${accountsFailed} account(s) failed: see errors`);
  return `ATTENTION: ${parts.join("; ")}.`;
}

/** Exit code for a report: 0 when every region was read and every VPC is compliant or exempt, 3 otherwise. */
export function exitCodeOf(report: RunReport | OrganizationReport): 0 | 3 {
  const { summary } = report;
  const accountsFailed = organizationSummary(report)?.accountsFailed ?? 0;
  const open = summary.nonCompliant + summary.wouldRemediate + summary.failed;
  return open + summary.regionsFailed + summary.regionsRemaining + accountsFailed === 0 ? 0 : 3;
}
