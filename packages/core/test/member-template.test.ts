import { describe, expect, it } from "vitest";
import {
  buildMemberTemplate,
  CENTRAL_ROLE_PATH,
  type CloudFormationTemplate,
  DELIVERY_POLICY_NAME,
  DELIVERY_ROLE_DESCRIPTION,
  deliveryRolePermissionsPolicy,
  deliveryRoleTrustPolicy,
  type PolicyDocument,
  parsePolicy,
  policyDocumentsEqual,
  servicePolicyDocument,
} from "../src/index.ts";

/** Resolves Fn::Sub with the given values, the way CloudFormation would, for assertions. */
function resolved(value: unknown, values: Record<string, string>): unknown {
  if (Array.isArray(value)) return value.map((item) => resolved(item, values));
  if (value && typeof value === "object") {
    const entries = Object.entries(value);
    if (entries.length === 1 && entries[0]![0] === "Fn::Sub")
      return (entries[0]![1] as string).replace(
        /\$\{([^}]+)\}/g,
        (_match, name: string) => values[name] ?? `<${name}>`,
      );
    if (entries.length === 1 && entries[0]![0] === "Ref") return values[entries[0]![1] as string] ?? value;
    return Object.fromEntries(entries.map(([key, item]) => [key, resolved(item, values)]));
  }
  return value;
}

const VALUES = {
  "AWS::Partition": "aws",
  "AWS::AccountId": "444455556666",
  "AWS::Region": "eu-west-1",
  CentralAccountId: "111122223333",
  OrganizationId: "o-abcdef1234",
};

describe("member template (what `flowlog-guard member-template` prints and the StackSet deploys)", () => {
  const policy = parsePolicy({ logGroupName: "/org/flow-logs/{accountId}/{vpcId}" });
  const template: CloudFormationTemplate = buildMemberTemplate({ policy });
  const role = template.Resources.MemberRole!;

  it("creates role flowlog-guard-member under /flowlog-guard/, only in RoleRegion (IAM is global)", () => {
    expect(role).toMatchObject({
      Type: "AWS::IAM::Role",
      Condition: "CreateRoles",
      Properties: { RoleName: "flowlog-guard-member", Path: "/flowlog-guard/", MaxSessionDuration: 3600 },
    });
    expect(template.Conditions.CreateRoles).toEqual({
      "Fn::Equals": [{ Ref: "AWS::Region" }, { Ref: "RoleRegion" }],
    });
    expect(template.Resources.ForwardRole?.Condition).toBe("CreateForwardRole");
  });

  it("grants exactly the service policy (iam-policy) scoped to the account the stack runs in", () => {
    const policies = role.Properties.Policies as { PolicyDocument: unknown }[];
    expect(policies).toHaveLength(1);
    const document = resolved(policies[0]!.PolicyDocument, VALUES) as PolicyDocument;
    const expected = servicePolicyDocument({ partition: "aws", accountId: "444455556666", policy });
    expect(policyDocumentsEqual(document, expected)).toBe(true);
    expect(JSON.stringify(document)).not.toContain("111122223333");
  });

  it("creates the delivery role exactly as a run would (so a run finds nothing to change), none for S3", () => {
    const delivery = template.Resources.DeliveryRole!;
    expect(delivery).toMatchObject({
      Type: "AWS::IAM::Role",
      Condition: "CreateRoles",
      Properties: {
        RoleName: "flowlog-guard-delivery",
        Path: "/flowlog-guard/",
        Description: DELIVERY_ROLE_DESCRIPTION,
      },
    });
    const account = VALUES["AWS::AccountId"];
    const trust = resolved(delivery.Properties.AssumeRolePolicyDocument, VALUES) as PolicyDocument;
    expect(trust).toEqual(deliveryRoleTrustPolicy("aws", account));
    const policies = resolved(delivery.Properties.Policies, VALUES) as {
      PolicyName: string;
      PolicyDocument: PolicyDocument;
    }[];
    expect(policies).toEqual([
      {
        PolicyName: DELIVERY_POLICY_NAME,
        PolicyDocument: deliveryRolePermissionsPolicy(policy.logGroupName, "aws", account),
      },
    ]);
    expect(JSON.stringify(policies)).toContain(`/org/flow-logs/${account}/vpc-*`);
    const s3 = parsePolicy({ destinationType: "s3", logDestination: "arn:aws:s3:::central-log-archive" });
    expect(buildMemberTemplate({ policy: s3 }).Resources.DeliveryRole).toBeUndefined();
  });

  it("with rolePermissionsBoundary, both roles carry each account's own boundary, and the service policy sets only that one", () => {
    const bounded = parsePolicy({ rolePermissionsBoundary: "arn:aws:iam::{accountId}:policy/OrgBoundary" });
    const withBoundary = buildMemberTemplate({ policy: bounded });
    const expected = `arn:aws:iam::${VALUES["AWS::AccountId"]}:policy/OrgBoundary`;
    for (const name of ["DeliveryRole", "MemberRole"]) {
      const properties = withBoundary.Resources[name]!.Properties;
      expect(resolved(properties.PermissionsBoundary, VALUES), name).toBe(expected);
      expect(template.Resources[name]!.Properties, name).not.toHaveProperty("PermissionsBoundary");
    }
    const policies = withBoundary.Resources.MemberRole!.Properties.Policies as { PolicyDocument: unknown }[];
    const document = resolved(policies[0]!.PolicyDocument, VALUES) as PolicyDocument;
    const service = servicePolicyDocument({ partition: "aws", accountId: "444455556666", policy: bounded });
    expect(policyDocumentsEqual(document, service)).toBe(true);
    expect(document.Statement.find((s) => s.Sid === "BoundDeliveryRole")?.Condition).toEqual({
      StringEquals: { "iam:PermissionsBoundary": expected },
    });
  });

  it("follows the policy's destination: an S3 log-archive bucket gets the same statements as iam-policy", () => {
    const s3 = parsePolicy({ destinationType: "s3", logDestination: "arn:aws:s3:::central-log-archive" });
    const document = resolved(
      (
        buildMemberTemplate({ policy: s3 }).Resources.MemberRole!.Properties.Policies as {
          PolicyDocument: unknown;
        }[]
      )[0]!.PolicyDocument,
      VALUES,
    ) as PolicyDocument;
    const expected = servicePolicyDocument({ partition: "aws", accountId: "444455556666", policy: s3 });
    expect(policyDocumentsEqual(document, expected)).toBe(true);
    const cloudWatch = servicePolicyDocument({ partition: "aws", accountId: "444455556666", policy });
    expect(policyDocumentsEqual(document, cloudWatch)).toBe(false);
  });

  it("is trusted only by the central function roles (and operator roles), from inside the organization", () => {
    const trust = role.Properties.AssumeRolePolicyDocument as {
      Statement: { "Fn::If": [string, unknown[], unknown[]] };
    };
    const [condition, withOperators, centralOnly] = trust.Statement["Fn::If"];
    expect(condition).toBe("HasOperatorRoles");
    expect(resolved(centralOnly, VALUES)).toEqual([
      {
        Sid: "CentralFunctions",
        Effect: "Allow",
        Principal: { AWS: "arn:aws:iam::111122223333:root" },
        Action: "sts:AssumeRole",
        Condition: {
          StringEquals: { "aws:PrincipalOrgID": "o-abcdef1234" },
          ArnLike: { "aws:PrincipalArn": `arn:aws:iam::111122223333:role${CENTRAL_ROLE_PATH}*` },
        },
      },
    ]);
    for (const statement of withOperators as { Condition: unknown }[])
      expect(resolved(statement.Condition, VALUES)).toMatchObject({
        StringEquals: { "aws:PrincipalOrgID": "o-abcdef1234" },
      });
  });

  it("takes CentralAccountId (required) and CentralEventBusArn (optional, empty = no forwarders)", () => {
    expect(template.Parameters.CentralAccountId).not.toHaveProperty("Default");
    expect(template.Parameters.CentralEventBusArn).toMatchObject({ Default: "" });
    const patterns = (key: string) => new RegExp(template.Parameters[key]!.AllowedPattern as string);
    expect(patterns("CentralAccountId").test("111122223333")).toBe(true);
    expect(patterns("CentralAccountId").test("1111")).toBe(false);
    expect(patterns("CentralEventBusArn").test("")).toBe(true);
    expect(
      patterns("CentralEventBusArn").test("arn:aws:events:eu-west-1:111122223333:event-bus/default"),
    ).toBe(true);
    expect(patterns("CentralEventBusArn").test("arn:aws:sqs:eu-west-1:111122223333:queue")).toBe(false);
    for (const name of ["ForwardEc2Rule", "ForwardLogsRule"])
      expect(template.Resources[name]?.Condition).toBe("Forward");
    expect(template.Resources.ForwardIamRule?.Condition).toBe("ForwardIam");
    expect(template.Conditions.Forward).toEqual({
      "Fn::Not": [{ "Fn::Equals": [{ Ref: "CentralEventBusArn" }, ""] }],
    });
  });

  it("forwarders use core's event patterns and target the central bus through the member's forward role", () => {
    const rule = template.Resources.ForwardLogsRule!.Properties;
    expect(
      (rule.EventPattern as { detail: { requestParameters: unknown } }).detail.requestParameters,
    ).toEqual({
      logGroupName: [{ prefix: "/org/flow-logs/" }],
    });
    expect(resolved(rule.Targets, VALUES)).toEqual([
      {
        Id: "central-bus",
        Arn: { Ref: "CentralEventBusArn" },
        RoleArn: "arn:aws:iam::444455556666:role/flowlog-guard/flowlog-guard-forward",
      },
    ]);
  });

  it("bakes given defaults into the parameters and fits a StackSet's TemplateBody (51,200 bytes)", () => {
    const withDefaults = buildMemberTemplate({
      policy,
      memberRoleName: "custom-member",
      defaults: {
        organizationId: "o-abcdef1234",
        centralAccountId: "111122223333",
        operatorRoleArns: ["arn:aws:iam::111122223333:role/ops"],
      },
    });
    expect(withDefaults.Parameters.OrganizationId?.Default).toBe("o-abcdef1234");
    expect(withDefaults.Parameters.CentralAccountId?.Default).toBe("111122223333");
    expect(withDefaults.Parameters.OperatorRoleArns?.Default).toBe("arn:aws:iam::111122223333:role/ops");
    expect(withDefaults.Resources.MemberRole?.Properties.RoleName).toBe("custom-member");
    expect(JSON.stringify(withDefaults).length).toBeLessThan(51_200);
  });
});
