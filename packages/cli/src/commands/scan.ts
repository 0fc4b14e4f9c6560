import { addAccountOptions } from "../account-options.ts";
import type { RegisterCommand } from "../command.ts";
import { EXIT_CODES_HELP } from "../command.ts";
import { addFormatOptions } from "../formats.ts";
import { addAwsOptions, addPolicyOptions, addReportOptions, addScopeOptions } from "../options.ts";
import { runScanOrFix } from "./run.ts";

/** `scan`: read-only compliance report. */
export const registerScan: RegisterCommand = (program, wire) => {
  const command = program
    .command("scan")
    .description("Read-only compliance report: every VPC with its status and what fix-all would do")
    .addHelpText(
      "after",
      `
Statuses: compliant, non-compliant (with the actions fix-all would take), exempt, not-owned (a VPC
another account shares through AWS RAM: its owner's run covers it; never acted on). Shared changes
(delivery role, its trust and policy, shared log groups) are listed as planned actions too; a
drifted delivery role makes the VPCs that use it non-compliant.

Examples:
  flowlog-guard scan                                  every region enabled for the account
  flowlog-guard scan --regions eu-west-1,us-east-1 --json | jq '.summary'
  flowlog-guard scan --tag env=prod --exclude-vpc-ids vpc-0a1b2c3d4e5f60789
  flowlog-guard scan --include-default-vpcs false     treat default VPCs as exempt
  flowlog-guard scan --resource-type Subnet           judge subnets: each covered by its own or its VPC's flow log
  flowlog-guard scan --output scan.json               human report on screen, JSON in a file
  flowlog-guard scan --profile audit --role-arn arn:aws:iam::111122223333:role/flowlog-guard-audit
${EXIT_CODES_HELP}`,
    );
  addPolicyOptions(
    addAccountOptions(addAwsOptions(addFormatOptions(addReportOptions(addScopeOptions(command))))),
  );
  wire(command, ({ io, options }) => runScanOrFix("scan", options, io));
};
