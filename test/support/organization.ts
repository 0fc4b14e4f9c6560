import { CloudFormationClient, CreateStackCommand } from "@aws-sdk/client-cloudformation";
import {
  CreateOrganizationalUnitCommand,
  CreateOrganizationCommand,
  ListRootsCommand,
  MoveAccountCommand,
  OrganizationsClient,
} from "@aws-sdk/client-organizations";
import {
  buildMemberTemplate,
  type ClientPool,
  createClientPool,
  type MemberTemplateOptions,
  parsePolicy,
} from "@flowlog-guard/core";
import { createMember, memberAdmin } from "../../packages/cli/src/demo/organization.ts";
import { type FaultRule, serviceError } from "./fault-proxy.ts";

/**
 * An AWS Organization on moto: the default moto account is the management (and central) account;
 * members are created with CreateAccount, which also gives each the OrganizationAccountAccessRole
 * that tests use to act as the member's own administrator.
 */
export const organizations = () => new OrganizationsClient({ region: "us-east-1" });

export interface TestOrganization {
  organizationId: string;
  managementAccountId: string;
  rootId: string;
  members: string[];
}

export async function createOrganization(memberCount: number): Promise<TestOrganization> {
  const client = organizations();
  const organization = (await client.send(new CreateOrganizationCommand({ FeatureSet: "ALL" })))
    .Organization!;
  const rootId = (await client.send(new ListRootsCommand({}))).Roots![0]!.Id!;
  const members: string[] = [];
  for (let index = 0; index < memberCount; index++)
    members.push(await createMemberAccount(client, `member-${index}`));
  return {
    organizationId: organization.Id!,
    managementAccountId: organization.MasterAccountId!,
    rootId,
    members,
  };
}

/** A member account, created as AWS Organizations does (the demo's helper). */
export const createMemberAccount = createMember;

/** An OU under `parent` holding `accounts`. */
export async function createOu(
  parent: string,
  name: string,
  accounts: string[],
  from: string,
): Promise<string> {
  const client = organizations();
  const ou = (await client.send(new CreateOrganizationalUnitCommand({ ParentId: parent, Name: name })))
    .OrganizationalUnit!.Id!;
  for (const account of accounts)
    await client.send(
      new MoveAccountCommand({ AccountId: account, SourceParentId: from, DestinationParentId: ou }),
    );
  return ou;
}

/** The member's own administrator (OrganizationAccountAccessRole): how a test arranges state in it. */
export function adminPool(accountId: string): Promise<ClientPool> {
  return memberAdmin(createClientPool({ apiRate: 0 }), "us-east-1", accountId);
}

/** Creates the member stack from `member-template` in `regions` of the member, as the member's administrator. */
export async function deployMemberTemplate(
  accountId: string,
  regions: string[],
  parameters: Record<string, string>,
  options: Partial<MemberTemplateOptions> = {},
): Promise<void> {
  const admin = await adminPool(accountId);
  const template = buildMemberTemplate({ policy: parsePolicy({}), ...options });
  for (const region of regions) {
    const clients = admin.clientsFor(region);
    const cfn = new CloudFormationClient({ region, credentials: clients.ec2.config.credentials });
    await cfn.send(
      new CreateStackCommand({
        StackName: "flowlog-guard-member",
        TemplateBody: JSON.stringify(template),
        Capabilities: ["CAPABILITY_NAMED_IAM"],
        Parameters: Object.entries(parameters).map(([ParameterKey, ParameterValue]) => ({
          ParameterKey,
          ParameterValue,
        })),
      }),
    );
  }
}

/**
 * What STS answers when a member role does not exist (or does not trust the caller): AccessDenied.
 * moto assumes any role, existing or not; this rule, in the fault proxy, restores AWS's answer for
 * every account not in `accountsWithRole`.
 */
export function memberRoleOnlyIn(accountsWithRole: Iterable<string>): FaultRule {
  const allowed = new Set(accountsWithRole);
  return (call) => {
    if (call.service !== "sts" || call.operation !== "AssumeRole") return undefined;
    const roleArn = new URLSearchParams(call.body).get("RoleArn") ?? "";
    const account = roleArn.split(":")[4] ?? "";
    if (!roleArn.includes(":role/flowlog-guard/") || allowed.has(account)) return undefined;
    return serviceError(
      "sts",
      403,
      "AccessDenied",
      `User: arn:aws:sts::123456789012:assumed-role/operator/cli is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
    );
  };
}
