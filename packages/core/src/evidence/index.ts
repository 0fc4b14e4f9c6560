import { buildFindings } from "./asff.ts";
import type { EvidenceContext, EvidenceReport } from "./compliance-summary.ts";
import { renderCsv } from "./csv.ts";
import { renderHtml } from "./html.ts";
import { renderMarkdown } from "./markdown.ts";

export * from "./asff.ts";
export * from "./compliance-summary.ts";
export * from "./controls.ts";
export * from "./cost.ts";
export * from "./csv.ts";
export * from "./html.ts";
export * from "./markdown.ts";
export * from "./security-hub.ts";

/** `--format` values of scan and fix-all. A public contract. */
export const REPORT_FORMATS = ["text", "json", "csv", "asff", "markdown", "html"] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** Renders a report in one of the evidence formats (`text` and `json` stay with the CLI). */
export function renderEvidence(
  format: Exclude<ReportFormat, "text" | "json">,
  report: EvidenceReport,
  context: EvidenceContext,
): string {
  switch (format) {
    case "csv":
      return renderCsv(report);
    case "asff":
      return `${JSON.stringify(buildFindings(report, context.generatedAt), null, 2)}\n`;
    case "markdown":
      return renderMarkdown(report, context);
    case "html":
      return renderHtml(report, context);
  }
}
