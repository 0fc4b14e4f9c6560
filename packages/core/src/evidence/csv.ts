import type { EvidenceReport } from "./compliance-summary.ts";

/** Columns of `--format csv`, one row per VPC. A public contract. */
export const CSV_COLUMNS = [
  "account",
  "region",
  "vpc_id",
  "vpc_name",
  "status",
  "reason",
  "flow_log_ids",
  "destination",
  "retention_days",
  "exception_owner",
  "exception_expires",
] as const;

/**
 * One RFC 4180 cell. Values that a spreadsheet would run as a formula (tag values anyone can set:
 * `=HYPERLINK(...)`) get a leading apostrophe, as OWASP advises against CSV injection.
 */
function cell(value: string | number | undefined | null): string {
  let text = value === undefined || value === null ? "" : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n']/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** `--format csv`: a header and one row per VPC, CRLF line ends (RFC 4180); flow log ids joined by spaces. */
export function renderCsv(report: EvidenceReport): string {
  const rows = report.vpcs.map((vpc) =>
    [
      vpc.account,
      vpc.region,
      vpc.vpcId,
      vpc.name,
      vpc.status,
      vpc.reason,
      vpc.flowLogIds.join(" "),
      vpc.destination,
      vpc.retentionDays,
      vpc.exception?.owner,
      vpc.exception?.expires,
    ]
      .map(cell)
      .join(","),
  );
  return `${[CSV_COLUMNS.join(","), ...rows].join("\r\n")}\r\n`;
}
