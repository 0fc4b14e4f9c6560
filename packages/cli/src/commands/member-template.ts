import { buildMemberTemplate, MEMBER_ROLE_NAME, REGION_NAME_PATTERN } from "@flowlog-guard/core";
import type { RegisterCommand } from "../command.ts";
import { UsageError } from "../errors.ts";
import type { Io } from "../io.ts";
import { addPolicyOptions, resolvePolicy } from "../options.ts";

const CHECKS: Record<string, [RegExp, string]> = {
  centralAccountId: [/^\d{12}$/, "--central-account-id must be a 12-digit AWS account id"],
  organizationId: [/^o-[a-z0-9]{10,32}$/, "--organization-id must be an AWS Organizations id (o-...)"],
  centralEventBusArn: [
    /^arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus\/[A-Za-z0-9._/-]+$/,
    "--central-event-bus-arn must be an event bus ARN (arn:aws:events:REGION:ACCOUNT:event-bus/NAME)",
  ],
  roleRegion: [REGION_NAME_PATTERN, "--role-region must be a region name like us-east-1"],
  memberRoleName: [
    /^[\w+=,.@-]{1,64}$/,
    "--member-role-name must be an IAM role name (1-64 of A-Za-z0-9+=,.@_-)",
  ],
};

/** Each given flag checked; every problem in one message. */
function checkedFlags(options: Record<string, unknown>): Record<string, string | undefined> {
  const values: Record<string, string | undefined> = {};
  const problems: string[] = [];
  for (const [key, [pattern, message]] of Object.entries(CHECKS)) {
    const value = options[key] as string | undefined;
    if (value !== undefined && !pattern.test(value))
      problems.push(`${message}, not ${JSON.stringify(value)}`);
    values[key] = value;
  }
  const operators = ((options.operatorRoleArns as string | undefined) ?? "").split(",").filter(Boolean);
  for (const arn of operators)
    if (!/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/.test(arn))
      problems.push(
        `--operator-role-arns takes role ARNs (arn:aws:iam::ACCOUNT:role/NAME), not ${JSON.stringify(arn)}`,
      );
  if (problems.length > 0) throw new UsageError(problems.join("\n"));
  values.operatorRoleArns = operators.join(",");
  return values;
}

/** `member-template`: the CloudFormation template (JSON) for member accounts; no AWS call. */
async function memberTemplateCommand(options: Record<string, unknown>, io: Io): Promise<number> {
  const policy = resolvePolicy(options, io.env);
  const flags = checkedFlags(options);
  const template = buildMemberTemplate({
    policy,
    memberRoleName: flags.memberRoleName ?? MEMBER_ROLE_NAME,
    defaults: {
      ...(flags.organizationId ? { organizationId: flags.organizationId } : {}),
      ...(flags.centralAccountId ? { centralAccountId: flags.centralAccountId } : {}),
      ...(flags.centralEventBusArn ? { centralEventBusArn: flags.centralEventBusArn } : {}),
      ...(flags.operatorRoleArns ? { operatorRoleArns: flags.operatorRoleArns.split(",") } : {}),
      ...(flags.roleRegion ? { roleRegion: flags.roleRegion } : {}),
    },
  });
  io.stdout.write(`${JSON.stringify(template, null, 2)}\n`);
  return 0;
}

export const registerMemberTemplate: RegisterCommand = (program, wire) => {
  const command = program
    .command("member-template")
    .description(
      "Print the CloudFormation template (JSON) for member accounts of an organization: role and forwarders",
    )
    .option("--central-account-id <id>", "default for the CentralAccountId parameter")
    .option("--organization-id <id>", "default for the OrganizationId parameter (o-...)")
    .option("--central-event-bus-arn <arn>", "default for CentralEventBusArn (empty: no forwarders)")
    .option(
      "--operator-role-arns <list>",
      "default for OperatorRoleArns: roles that may run the CLI across accounts",
    )
    .option("--member-role-name <name>", `name of the member role (default: ${MEMBER_ROLE_NAME})`)
    .option(
      "--role-region <region>",
      "default for RoleRegion: the one region that creates IAM roles (us-east-1)",
    )
    .addHelpText(
      "after",
      `
The template creates role /flowlog-guard/${MEMBER_ROLE_NAME} with exactly the service policy (iam-policy)
for the account it is deployed in, trusted only by the central deployment's function roles (and the
operator roles you name) from inside your organization; with CentralEventBusArn, EventBridge rules in
each region forward the CloudTrail events flowlog-guard handles to the central bus. The stacks deploy it
to every account with a service-managed StackSet; this command is for the accounts StackSets skip (the
management account) and for review. Parameters: CentralAccountId (required), CentralEventBusArn,
OrganizationId, OperatorRoleArns, RoleRegion. Makes no AWS call. See docs/organizations.md.

Examples:
  flowlog-guard member-template --organization-id o-abc123def4 > member.json
  aws cloudformation deploy --template-file member.json --stack-name flowlog-guard-member \\
    --capabilities CAPABILITY_NAMED_IAM --parameter-overrides CentralAccountId=111122223333`,
    );
  addPolicyOptions(command);
  wire(command, ({ io, options }) => memberTemplateCommand(options, io));
};
