import {
  buildExceptionRegister,
  DEFAULT_EXPIRING_WITHIN_DAYS,
  type ExceptionRegister,
  registerNeedsAttention,
} from "@flowlog-guard/core";
import type { RegisterCommand } from "../command.ts";
import { UsageError } from "../errors.ts";
import type { Io } from "../io.ts";
import { addReadOnlyRunOptions } from "../options.ts";
import { emitReport } from "../output.ts";
import { readOnlyScan } from "../read-only-scan.ts";

function windowDays(raw: unknown): number {
  if (raw === undefined) return DEFAULT_EXPIRING_WITHIN_DAYS;
  if (typeof raw !== "string" || !/^\d+$/.test(raw) || Number(raw) > 3650)
    throw new UsageError(
      `--expiring-within takes a whole number of days from 0 to 3650, not ${JSON.stringify(raw)}`,
    );
  return Number(raw);
}

/**
 * `exceptions`: the exception register. Reads every VPC (a scan: nothing changes) and lists each one
 * carrying exception tags with its verdict. Exit 3 when any is invalid, expired or expiring.
 */
async function exceptionsCommand(options: Record<string, unknown>, io: Io): Promise<number> {
  const within = windowDays(options.expiringWithin);
  const { settings, report } = await readOnlyScan(options, io);
  const register = buildExceptionRegister(report, new Date(), within);
  await emitReport({ ...register, errors: report.errors }, settings, io, renderRegister, settings.policy);
  return registerNeedsAttention(register) || report.errors.length > 0 ? 3 : 0;
}

const VERDICT_LABEL = {
  invalid: "INVALID",
  expired: "EXPIRED",
  expiring: "EXPIRING",
  valid: "valid",
} as const;

/** The register as a table, worst first, with what to do about it. */
export function renderRegister(register: ExceptionRegister & { errors: { message: string }[] }): string {
  const { summary } = register;
  const lines = [
    `Exception register (${summary.exceptions} exceptions; expiring = within ${register.expiringWithinDays} days)`,
    "",
  ];
  if (register.exceptions.length === 0) lines.push("  No VPC carries flowlog-guard:exception-* tags.");
  const header = ["VERDICT", "ACCOUNT", "REGION", "VPC", "OWNER", "EXPIRES", "DAYS LEFT", "REASON"];
  const rows = register.exceptions.map((e) => [
    VERDICT_LABEL[e.verdict],
    e.account,
    e.region,
    e.vpcId,
    e.owner ?? "-",
    e.expires ?? "-",
    e.daysLeft === null ? "-" : String(e.daysLeft),
    e.verdict === "invalid" ? e.problems.join("; ") : (e.reason ?? ""),
  ]);
  if (rows.length > 0) {
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    for (const row of [header, ...rows])
      lines.push(
        `  ${row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ")}`.trimEnd(),
      );
  }
  lines.push(
    "",
    `${summary.invalid} invalid, ${summary.expired} expired, ${summary.expiring} expiring, ${summary.valid} valid.`,
  );
  if (summary.invalid + summary.expired > 0)
    lines.push(
      "Invalid and expired exceptions exempt nothing: flowlog-guard remediates those VPCs. Fix or remove the tags.",
    );
  if (summary.expiring > 0)
    lines.push(
      "Expiring: renew flowlog-guard:exception-expires (approver), or let the VPC be remediated on expiry.",
    );
  for (const error of register.errors) lines.push(`error: ${error.message}`);
  return `${lines.join("\n")}\n`;
}

export const registerExceptions: RegisterCommand = (program, wire) => {
  const command = program
    .command("exceptions")
    .description(
      "The exception register: every VPC's flowlog-guard:exception-* tags, with owner, expiry and verdict",
    )
    .option(
      "--expiring-within <days>",
      `an exception expiring within this many days needs attention (default: ${DEFAULT_EXPIRING_WITHIN_DAYS})`,
    )
    .addHelpText(
      "after",
      `
Reads every VPC (changes nothing) and lists each exception: account, region, VPC, owner, expiry, days
left, reason, and a verdict: valid, EXPIRING (within the window), EXPIRED or INVALID (missing owner or
expiry, malformed date, expiry further than --max-exception-days). Expired and invalid exceptions
exempt nothing. The deployed daily sweep publishes an "Exception Expiring" event to the ledger bus for
each exception in the window (see docs/exceptions.md).

Exit codes:
  0  every exception is valid beyond the window (or there are none)
  3  an exception is invalid, expired or expires within the window, or a region could not be read
  2  bad usage or configuration

Examples:
  flowlog-guard exceptions                            every region, 14-day window
  flowlog-guard exceptions --expiring-within 30 --regions eu-west-1
  flowlog-guard exceptions --json | jq '.exceptions[] | select(.verdict != "valid")'`,
    );
  addReadOnlyRunOptions(command);
  wire(command, ({ io, options }) => exceptionsCommand(options, io));
};
