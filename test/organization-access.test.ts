import { DescribeVpcsCommand } from "@aws-sdk/client-ec2";
import { ListRulesCommand, ListTargetsByRuleCommand } from "@aws-sdk/client-eventbridge";
import { GetRoleCommand, GetRolePolicyCommand } from "@aws-sdk/client-iam";
import { CloseAccountCommand } from "@aws-sdk/client-organizations";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import {
  ApiCallCounter,
  CREDENTIAL_REFRESH_MARGIN_MS,
  createAccountPools,
  MEMBER_POLICY_NAME,
  memberCredentials,
  parsePolicy,
  parsePolicyDocument,
  policyDocumentsEqual,
  resolveAccounts,
  servicePolicyDocument,
} from "@flowlog-guard/core";
import { describe, expect, it } from "vitest";
import {
  adminPool,
  createOrganization,
  createOu,
  deployMemberTemplate,
  organizations,
} from "./support/organization.ts";

const CENTRAL_BUS = "arn:aws:events:us-east-1:123456789012:event-bus/default";

describe("member template on moto (CloudFormation CreateStack in a member account)", () => {
  it("creates flowlog-guard-member with exactly the service policy for that account, assumable from the central account", async () => {
    const org = await createOrganization(1);
    const member = org.members[0]!;
    await deployMemberTemplate(member, ["us-east-1", "eu-west-1"], {
      CentralAccountId: org.managementAccountId,
      OrganizationId: org.organizationId,
    });

    const iam = (await adminPool(member)).clientsFor("us-east-1").iam;
    const role = (await iam.send(new GetRoleCommand({ RoleName: "flowlog-guard-member" }))).Role!;
    expect(role.Arn).toBe(`arn:aws:iam::${member}:role/flowlog-guard/flowlog-guard-member`);
    const trust = parsePolicyDocument(role.AssumeRolePolicyDocument!);
    expect(trust.Statement).toHaveLength(1); // no operator roles given: that statement is left out
    expect(trust.Statement[0]).toMatchObject({
      Principal: { AWS: `arn:aws:iam::${org.managementAccountId}:root` },
      Condition: {
        StringEquals: { "aws:PrincipalOrgID": org.organizationId },
        ArnLike: {
          "aws:PrincipalArn": `arn:aws:iam::${org.managementAccountId}:role/flowlog-guard/central/*`,
        },
      },
    });
    const inline = await iam.send(
      new GetRolePolicyCommand({ RoleName: "flowlog-guard-member", PolicyName: MEMBER_POLICY_NAME }),
    );
    const expected = servicePolicyDocument({ partition: "aws", accountId: member, policy: parsePolicy({}) });
    // JSON as AWS returns it (moto 5.2.1 needs the emulator's fidelity fix 3 for that).
    expect(policyDocumentsEqual(parsePolicyDocument(inline.PolicyDocument!), expected)).toBe(true);

    const pools = createAccountPools({
      partition: "aws",
      homeRegion: "us-east-1",
      sessionName: "test-run",
      apiRate: 0,
    });
    const identity = await pools
      .poolFor(member)
      .clientsFor("eu-west-1")
      .sts.send(new GetCallerIdentityCommand({}));
    expect(identity.Account).toBe(member);
    expect(identity.Arn).toBe(`arn:aws:sts::${member}:assumed-role/flowlog-guard-member/test-run`);
  });

  it("with a central bus: forwarding rules per region (IAM only in us-east-1) targeting the central bus through the forward role", async () => {
    const org = await createOrganization(1);
    const member = org.members[0]!;
    await deployMemberTemplate(member, ["us-east-1", "eu-west-1"], {
      CentralAccountId: org.managementAccountId,
      OrganizationId: org.organizationId,
      CentralEventBusArn: CENTRAL_BUS,
    });
    const admin = await adminPool(member);
    const rulesIn = async (region: string) =>
      ((await admin.clientsFor(region).events.send(new ListRulesCommand({}))).Rules ?? [])
        .map((rule) => JSON.parse(rule.EventPattern!).source[0] as string)
        .sort();
    expect(await rulesIn("us-east-1")).toEqual(["aws.ec2", "aws.iam", "aws.logs"]);
    expect(await rulesIn("eu-west-1")).toEqual(["aws.ec2", "aws.logs"]);
    const [rule] = (await admin.clientsFor("eu-west-1").events.send(new ListRulesCommand({}))).Rules!;
    const targets = await admin
      .clientsFor("eu-west-1")
      .events.send(new ListTargetsByRuleCommand({ Rule: rule!.Name! }));
    expect(targets.Targets).toEqual([
      expect.objectContaining({
        Arn: CENTRAL_BUS,
        RoleArn: `arn:aws:iam::${member}:role/flowlog-guard/flowlog-guard-forward`,
      }),
    ]);
  });
});

describe("member credentials", () => {
  it("are assumed once per account for every region and service, and refreshed only when < 5 minutes are left", async () => {
    const org = await createOrganization(1);
    const member = org.members[0]!;
    let clock = Date.now();
    const counter = new ApiCallCounter();
    const provider = memberCredentials(
      member,
      { partition: "aws", homeRegion: "us-east-1", sessionName: "run-1", now: () => clock },
      counter,
    );
    const first = await provider();
    await provider();
    expect(counter.count("STS", "AssumeRole")).toBe(1);
    clock = first.expiration!.getTime() - CREDENTIAL_REFRESH_MARGIN_MS - 1_000;
    await provider();
    expect(counter.count("STS", "AssumeRole")).toBe(1);
    clock = first.expiration!.getTime() - CREDENTIAL_REFRESH_MARGIN_MS + 1_000;
    await provider();
    expect(counter.count("STS", "AssumeRole")).toBe(2);

    const pools = createAccountPools({
      partition: "aws",
      homeRegion: "us-east-1",
      sessionName: "run-2",
      apiRate: 0,
    });
    await Promise.all(
      ["us-east-1", "eu-west-1", "us-west-2"].map((region) =>
        pools.poolFor(member).clientsFor(region).ec2.send(new DescribeVpcsCommand({})),
      ),
    );
    expect(pools.counter.count("STS", "AssumeRole")).toBe(1);
  });

  it("operator roles given: the trust policy also admits exactly those, still only inside the organization", async () => {
    const org = await createOrganization(1);
    const member = org.members[0]!;
    const operator = `arn:aws:iam::${org.managementAccountId}:role/platform-operator`;
    await deployMemberTemplate(member, ["us-east-1"], {
      CentralAccountId: org.managementAccountId,
      OrganizationId: org.organizationId,
      OperatorRoleArns: operator,
    });
    const iam = (await adminPool(member)).clientsFor("us-east-1").iam;
    const role = (await iam.send(new GetRoleCommand({ RoleName: "flowlog-guard-member" }))).Role!;
    const trust = parsePolicyDocument(role.AssumeRolePolicyDocument!);
    expect(trust.Statement.map((statement) => statement.Sid)).toEqual(["CentralFunctions", "OperatorRoles"]);
    expect(trust.Statement[1]).toMatchObject({
      Principal: { AWS: [operator] },
      Condition: { StringEquals: { "aws:PrincipalOrgID": org.organizationId } },
    });
  });
});

describe("resolveAccounts on moto Organizations", () => {
  it("all = every ACTIVE account; suspended and excluded accounts are skipped with their kind", async () => {
    const org = await createOrganization(3);
    const [a, b, c] = org.members as [string, string, string];
    await organizations().send(new CloseAccountCommand({ AccountId: c }));

    const resolved = await resolveAccounts(organizations(), { accounts: "all", exclude: [b] });

    expect(resolved.organizationId).toBe(org.organizationId);
    expect(resolved.managementAccountId).toBe(org.managementAccountId);
    expect(resolved.targets.map((target) => target.accountId).sort()).toEqual(
      [a, org.managementAccountId].sort(),
    );
    expect(resolved.skipped).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ accountId: b, kind: "excluded" }),
        expect.objectContaining({ accountId: c, kind: "not-active" }),
      ]),
    );
  });

  it("--ou includes accounts of nested OUs; a listed account outside the organization is reported", async () => {
    const org = await createOrganization(3);
    const [a, b, c] = org.members as [string, string, string];
    const parent = await createOu(org.rootId, "workloads", [a], org.rootId);
    await createOu(parent, "prod", [b], org.rootId);
    await createOu(org.rootId, "sandbox", [c], org.rootId);

    const underOu = await resolveAccounts(organizations(), { ous: [parent] });
    expect(underOu.targets.map((target) => target.accountId).sort()).toEqual([a, b].sort());

    const listed = await resolveAccounts(organizations(), { accounts: [a, "999999999999"] });
    expect(listed.targets.map((target) => target.accountId)).toEqual([a]);
    expect(listed.skipped).toEqual([
      expect.objectContaining({ accountId: "999999999999", kind: "not-in-organization" }),
    ]);
  });
});
