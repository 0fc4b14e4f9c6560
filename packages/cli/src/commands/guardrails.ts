import { guardrailsPolicyDocument, renderPolicyDocument } from "@flowlog-guard/core";
import { Option } from "commander";
import type { RegisterCommand } from "../command.ts";
import type { Io } from "../io.ts";
import { addPolicyOptions, resolvePolicy } from "../options.ts";

const list = (value: unknown) =>
  typeof value === "string"
    ? value
        .split(",")
        .map((item) => item.trim())
        .filter(Boolean)
    : undefined;

/** `guardrails`: the service control policy that protects what flowlog-guard manages, as JSON. */
async function guardrailsCommand(options: Record<string, unknown>, io: Io): Promise<number> {
  const policy = resolvePolicy(options, io.env);
  const approvers = list(options.exceptionApprovers);
  const guardRoles = list(options.guardRoles);
  const document = guardrailsPolicyDocument({
    partition: (options.partition as string | undefined) ?? "aws",
    policy,
    ...(approvers ? { exceptionApprovers: approvers } : {}),
    ...(guardRoles ? { guardRoles } : {}),
  });
  io.stdout.write(`${renderPolicyDocument(document)}\n`);
  return 0;
}

export const registerGuardrails: RegisterCommand = (program, wire) => {
  const command = program
    .command("guardrails")
    .description("Print a service control policy that stops anyone but flowlog-guard undoing its work")
    .option(
      "--exception-approvers <arns>",
      "comma-separated principal ARNs (wildcards allowed) that alone may set or remove flowlog-guard:exception-* tags",
    )
    .option(
      "--guard-roles <arns>",
      "principal ARN patterns of flowlog-guard itself, exempt from the policy " +
        "(default: arn:<partition>:iam::*:role/flowlog-guard/* and arn:<partition>:iam::*:role/flowlog-guard-*)",
    )
    .addOption(
      new Option("--partition <name>", "ARN partition (default: aws)").choices([
        "aws",
        "aws-cn",
        "aws-us-gov",
      ]),
    )
    .addHelpText(
      "after",
      `
Denies, to every principal but flowlog-guard's roles: deleting flow logs tagged flowlog-guard:managed=true
(or moving that tag), deleting log groups the --log-group-name template produces or their streams,
changing their retention or deletion protection, and changing the delivery role. With
--exception-approvers, only those principals may set or remove flowlog-guard:exception-* tags (also at
creation). The printed document fits AWS Organizations' 5,120-character SCP limit (checked). SCPs do not
apply to the management account or to service principals. Attach it to the OUs flowlog-guard covers.

Examples:
  flowlog-guard guardrails > scp.json
  flowlog-guard guardrails --exception-approvers arn:aws:iam::*:role/SecurityApprover > scp.json
  aws organizations create-policy --type SERVICE_CONTROL_POLICY --name flowlog-guard-guardrails \\
    --description "Protects VPC flow logs" --content file://scp.json`,
    );
  addPolicyOptions(command);
  wire(command, ({ io, options }) => guardrailsCommand(options, io));
};
