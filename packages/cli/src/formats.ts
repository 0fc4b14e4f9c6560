import {
  type EvidenceReport,
  importToSecurityHub,
  type Policy,
  PRODUCT_NAME,
  PRODUCT_VERSION,
  partitionOf,
  REPORT_FORMATS,
  type ReportFormat,
  renderEvidence,
} from "@flowlog-guard/core";
import { type Command, Option } from "commander";
import type { AccountSettings } from "./account-options.ts";
import { type AwsAccess, memberPoolsFor } from "./context.ts";
import { UsageError } from "./errors.ts";
import type { Io } from "./io.ts";

/** `--format` and `--security-hub` on scan and fix-all. */
export function addFormatOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        "--format <format>",
        "report on stdout: text (default), json (= --json), csv (one row per VPC), asff (Security Hub " +
          "findings), markdown or html (a compliance report to file)",
      ).choices(REPORT_FORMATS),
    )
    .option(
      "--security-hub",
      "also import one finding per VPC (control EC2.6; PASSED, FAILED, or WARNING when exempt) into each " +
        "account's and region's Security Hub; re-runs update the same findings, vanished VPCs are archived",
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

/**
 * `--security-hub`: imports the report's findings, each into its own account's and region's Security
 * Hub (member accounts through their member role). Prints a summary on stderr; 3 when any failed.
 */
export async function sendToSecurityHub(
  report: EvidenceReport,
  context: AwsAccess & {
    homeRegion: string;
    runId: string;
    accounts: AccountSettings | undefined;
    apiRate: number | undefined;
  },
  io: Io,
): Promise<number> {
  const members = context.accounts
    ? memberPoolsFor(context, {
        partition: partitionOf(context.homeRegion),
        memberRoleName: context.accounts.memberRoleName,
        sessionName: `flowlog-guard-${context.runId}`,
      })
    : undefined;
  const result = await importToSecurityHub(report, {
    now: new Date().toISOString(),
    clientsFor: (account, region) =>
      members && account !== report.account
        ? members.poolFor(account).clientsFor(region)
        : context.pool.clientsFor(region),
  });
  io.stderr.write(
    `Security Hub: ${result.imported} findings imported or updated, ${result.archived} archived (VPC gone), ` +
      `${result.failed.length} failed\n`,
  );
  for (const failure of result.failed)
    io.stderr.write(
      `  ${failure.account} ${failure.region}${failure.id ? ` ${failure.id}` : ""}: ${failure.error}\n`,
    );
  return result.failed.length > 0 ? 3 : 0;
}
