import {
  CHANGE_COLUMNS,
  type ComplianceSummary,
  changeCells,
  type EvidenceContext,
  type EvidenceReport,
  FINDING_COLUMNS,
  findingCells,
  policyInForce,
  summarizeCompliance,
  TOTAL_HEADER,
  totalCells,
} from "./compliance-summary.ts";
import { EVIDENCED_CONTROLS } from "./controls.ts";

/** Markdown table cell: pipes and line breaks would break the table. */
function md(value: string | number | undefined): string {
  return String(value ?? "")
    .replaceAll("\\", "\\\\")
    .replaceAll("|", "\\|")
    .replaceAll("<", "&lt;")
    .replace(/[\r\n]+/g, " ");
}

function table(header: string[], rows: (string | number | undefined)[][]): string[] {
  return [
    `| ${header.join(" | ")} |`,
    `|${header.map(() => "---").join("|")}|`,
    ...rows.map((row) => `| ${row.map(md).join(" | ")} |`),
  ];
}

/** The verdict line of a report: what an auditor wants first. */
export function verdictOf(summary: ComplianceSummary): string {
  const open = summary.totals.nonCompliant + summary.totals.failed;
  if (summary.errors.length > 0)
    return `INCOMPLETE: ${summary.errors.length} part(s) of the estate could not be read or fixed`;
  return open === 0
    ? `COMPLIANT: every VPC in scope has flow logs, or a valid, time-limited exception`
    : `NOT COMPLIANT: ${open} VPC(s) without flow logs`;
}

/** `--format markdown`: the compliance report an auditor can file, as Markdown. */
export function renderMarkdown(report: EvidenceReport, context: EvidenceContext): string {
  const summary = summarizeCompliance(report);
  const lines = [
    "# VPC flow logging compliance report",
    "",
    `**${verdictOf(summary)}**`,
    "",
    "## Scope",
    "",
    `- Generated: ${context.generatedAt} by ${context.tool.name} ${context.tool.version} (${summary.scope.mode})`,
    `- Accounts: ${summary.scope.accounts.join(", ")}`,
    `- Regions: ${summary.scope.regions.join(", ")}`,
    "",
    "## Policy in force",
    "",
    ...table(["Setting", "Value"], policyInForce(context.policy)),
    "",
    "## Controls evidenced",
    "",
    ...table(
      ["Framework", "Control", "Title"],
      EVIDENCED_CONTROLS.map((c) => [c.framework, c.id, c.title]),
    ),
    "",
    "## Totals per account",
    "",
    ...table(
      ["Account", ...TOTAL_HEADER],
      summary.byAccount.map((t) => [t.account, ...totalCells(t)]),
    ),
    "",
    "## Totals per region",
    "",
    ...table(
      ["Account", "Region", ...TOTAL_HEADER],
      summary.byRegion.map((t) => [t.account, t.region, ...totalCells(t)]),
    ),
    "",
    "## Non-compliant, exempt and not-owned VPCs",
    "",
    ...(summary.findings.length === 0
      ? ["None."]
      : table([...FINDING_COLUMNS], summary.findings.map(findingCells))),
    "",
    "## Change records of this run",
    "",
    ...(summary.changes.length === 0
      ? ["No changes were made."]
      : table([...CHANGE_COLUMNS], summary.changes.map(changeCells))),
    ...(summary.errors.length === 0
      ? []
      : [
          "",
          "## Errors",
          "",
          ...summary.errors.map(
            (e) => `- ${md([e.account, e.region, e.vpcId].filter(Boolean).join(" "))} ${md(e.message)}`,
          ),
        ]),
    "",
  ];
  return lines.join("\n");
}
