import { addAccountOptions } from "../account-options.ts";
import type { RegisterCommand } from "../command.ts";
import { EXIT_CODES_HELP } from "../command.ts";
import { addFormatOptions } from "../formats.ts";
import { addAwsOptions, addPolicyOptions, addReportOptions, addScopeOptions } from "../options.ts";
import { runScanOrFix } from "./run.ts";

/** `fix-all`: remediate every non-compliant VPC, or `--dry-run` to only plan. */
export const registerFixAll: RegisterCommand = (program, wire) => {
  const command = program
    .command("fix-all")
    .description(
      "Remediate every non-compliant VPC: role, log group, retention, flow log, only where missing",
    )
    .option("--dry-run", "plan and print every change, change nothing (status would-remediate)")
    .option("-y, --yes", "apply without asking (on a terminal fix-all shows the plan's totals and asks)")
    .option("--concurrency <n>", "changes in flight at once per region (default: 8)")
    .option(
      "--deadline <duration>",
      "keep retrying work AWS throttled or failed for a while (5xx, dropped connections) until this " +
        "long after the start, e.g. 90s, 15m, 1h30m (default: 15m; also FLOWLOG_GUARD_DEADLINE)",
    )
    .addHelpText(
      "after",
      `
Never deletes anything and never lowers a retention. Safe to run twice or at the same time as the
event handler: the second run changes nothing. On a terminal it shows the plan's totals and asks
before the first change (--yes skips the question); without a terminal it never asks.
--output and --ledger-bus are checked before the first change: a path that cannot be written or a
ledger bus that does not exist stops the run (exit 2) with nothing changed.
Ctrl-C stops starting new changes, lets the ones in flight finish (a log group is never left without
its retention), prints and writes the partial report, and exits 130; a second Ctrl-C exits at once.

Examples:
  flowlog-guard fix-all --dry-run                     what would change, everywhere
  flowlog-guard fix-all --regions eu-west-1           fix one region
  flowlog-guard fix-all --yes --quiet --output fix.json   unattended, summary and problems only
  flowlog-guard fix-all --traffic-type ALL --retention-days 731
  flowlog-guard fix-all --resource-type Subnet --dry-run   subnet flow logs where no VPC flow log covers them
  flowlog-guard fix-all --ledger-bus flowlog-guard-ledger   publish change records
  flowlog-guard fix-all --api-rate 2                  go gently: 2 requests/s per API and region
  flowlog-guard fix-all --deadline 1h                 under heavy throttling, keep retrying for an hour
${EXIT_CODES_HELP}`,
    );
  addPolicyOptions(
    addAccountOptions(addAwsOptions(addFormatOptions(addReportOptions(addScopeOptions(command))))),
  );
  wire(command, ({ io, options }) => runScanOrFix(options.dryRun ? "dry-run" : "fix", options, io));
};
