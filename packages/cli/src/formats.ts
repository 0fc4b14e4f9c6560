import {
  type EvidenceReport,
  type Policy,
  PRODUCT_NAME,
  PRODUCT_VERSION,
  REPORT_FORMATS,
  type ReportFormat,
  renderEvidence,
} from "@flowlog-guard/core";
import { type Command, Option } from "commander";
import { UsageError } from "./errors.ts";

/** `--format` on scan and fix-all. */
export function addFormatOptions(command: Command): Command {
  return command.addOption(
    new Option(
      "--format <format>",
      "report on stdout: text (default), json (= --json), csv (one row per VPC), asff (Security Hub " +
        "findings), markdown or html (a compliance report to file)",
    ).choices(REPORT_FORMATS),
  );
}

/** The format asked for; `--json` is `--format json`, and contradicting it is a usage error. */
export function resolveFormat(options: Record<string, unknown>): ReportFormat {
  const format = options.format as ReportFormat | undefined;
  if (options.json && format && format !== "json")
    throw new UsageError(`--json means --format json; drop one of --json and --format ${format}`);
  return format ?? (options.json ? "json" : "text");
}

/** Renders the evidence formats; `text` and `json` are the CLI's own (undefined here). */
export function renderFormat(
  format: ReportFormat,
  report: EvidenceReport,
  policy: Policy,
): string | undefined {
  if (format === "text" || format === "json") return undefined;
  return renderEvidence(format, report, {
    generatedAt: new Date().toISOString(),
    policy,
    tool: { name: PRODUCT_NAME, version: PRODUCT_VERSION },
  });
}
