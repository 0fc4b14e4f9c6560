import { randomUUID } from "node:crypto";
import { CloudFormationClient, CreateStackCommand } from "@aws-sdk/client-cloudformation";
import { CreateVpcCommand } from "@aws-sdk/client-ec2";
import {
  CreateAccountCommand,
  CreateOrganizationCommand,
  DescribeCreateAccountStatusCommand,
  type OrganizationsClient,
} from "@aws-sdk/client-organizations";
import { AssumeRoleCommand } from "@aws-sdk/client-sts";
import {
  buildMemberTemplate,
  type ClientPool,
  createAccountPools,
  createClientPool,
  createOrganizationsClient,
  type Policy,
  resolveAccounts,
  runOrganization,
} from "@flowlog-guard/core";
import { renderReport } from "../render.ts";

/** A member account of the demo organization, created the way AWS Organizations does it. */
export async function createMember(organizations: OrganizationsClient, name: string): Promise<string> {
  const { CreateAccountStatus } = await organizations.send(
    new CreateAccountCommand({ AccountName: name, Email: `${name}@example.com` }),
  );
  const described = await organizations.send(
    new DescribeCreateAccountStatusCommand({ CreateAccountRequestId: CreateAccountStatus!.Id! }),
  );
  return described.CreateAccountStatus!.AccountId!;
}

/** The member account's own administrator (OrganizationAccountAccessRole), as a platform team would act there. */
export async function memberAdmin(
  central: ClientPool,
  region: string,
  accountId: string,
): Promise<ClientPool> {
  const { Credentials } = await central.clientsFor(region).sts.send(
    new AssumeRoleCommand({
      RoleArn: `arn:aws:iam::${accountId}:role/OrganizationAccountAccessRole`,
      RoleSessionName: "demo-admin",
    }),
  );
  return createClientPool({
    apiRate: 0,
    credentials: {
      accessKeyId: Credentials!.AccessKeyId!,
      secretAccessKey: Credentials!.SecretAccessKey!,
      sessionToken: Credentials!.SessionToken!,
    },
  });
}

/**
 * Demo step: an organization of two members; the member template (as `member-template` prints it) is
 * created with CloudFormation in one, the other is excluded; fix-all --accounts all covers the rest.
 */
export async function showOrganization(
  central: ClientPool,
  policy: Policy,
  regions: string[],
  say: (text?: string) => void,
): Promise<void> {
  const home = regions[0]!;
  const organizations = createOrganizationsClient(home);
  const organization = (await organizations.send(new CreateOrganizationCommand({ FeatureSet: "ALL" })))
    .Organization!;
  const [member, excluded] = [
    await createMember(organizations, "workloads"),
    await createMember(organizations, "sandbox"),
  ];
  const template = buildMemberTemplate({ policy });
  for (const accountId of [member, excluded]) {
    const admin = await memberAdmin(central, home, accountId);
    await admin.clientsFor(home).ec2.send(new CreateVpcCommand({ CidrBlock: "10.20.0.0/16" }));
    if (accountId !== member) continue;
    const cfn = new CloudFormationClient({
      region: "us-east-1",
      credentials: admin.clientsFor(home).ec2.config.credentials,
    });
    await cfn.send(
      new CreateStackCommand({
        StackName: "flowlog-guard-member",
        TemplateBody: JSON.stringify(template),
        Capabilities: ["CAPABILITY_NAMED_IAM"],
        Parameters: [
          { ParameterKey: "CentralAccountId", ParameterValue: organization.MasterAccountId! },
          { ParameterKey: "OrganizationId", ParameterValue: organization.Id! },
        ],
      }),
    );
  }
  say(
    `   organization ${organization.Id}: this account (management, central), member ${member} with role ` +
      `/flowlog-guard/flowlog-guard-member from \`flowlog-guard member-template\` (CloudFormation), ` +
      `member ${excluded} excluded; one new VPC in each member`,
  );
  say(
    `   $ flowlog-guard fix-all --accounts all --exclude-accounts ${excluded} --regions ${regions.join(",")}`,
  );
  const resolved = await resolveAccounts(organizations, { accounts: "all", exclude: [excluded] });
  const runId = randomUUID();
  const report = await runOrganization({
    policy,
    regions,
    homeRegion: home,
    mode: "fix",
    trigger: { kind: "cli", runId },
    centralAccountId: organization.MasterAccountId!,
    partition: "aws",
    targets: resolved.targets,
    skipped: resolved.skipped,
    pools: createAccountPools({
      partition: "aws",
      homeRegion: home,
      sessionName: `flowlog-guard-${runId}`,
      apiRate: 0,
    }),
    central,
  });
  say(`${renderReport(report)}`.replace(/^/gm, "   "));
}
