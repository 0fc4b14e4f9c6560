import { describe, expect, it } from "vitest";
import { logGroupNamePattern } from "../src/log-group-template.ts";
import {
  deliveryRolePermissionsPolicy,
  deliveryRoleTrustPolicy,
  parsePolicyDocument,
  policyDocumentsEqual,
} from "../src/policy-documents.ts";

describe("delivery role documents", () => {
  it("trusts only the flow logs service, for this account's flow logs (confused deputy)", () => {
    const [statement] = deliveryRoleTrustPolicy("aws-cn", "111122223333").Statement;
    expect(statement).toMatchObject({
      Principal: { Service: "vpc-flow-logs.amazonaws.com" },
      Action: "sts:AssumeRole",
      Condition: {
        StringEquals: { "aws:SourceAccount": "111122223333" },
        ArnLike: { "aws:SourceArn": "arn:aws-cn:ec2:*:111122223333:vpc-flow-log/*" },
      },
    });
  });

  it("scopes log writes to the groups the template can produce, with no * action or resource", () => {
    const policy = deliveryRolePermissionsPolicy("/flow/{region}/{vpcId}", "aws", "111122223333");
    const actions = policy.Statement.flatMap((s) => [s.Action].flat());
    const resources = policy.Statement.flatMap((s) => [s.Resource ?? []].flat());
    expect(actions.every((action) => action.startsWith("logs:") && !action.includes("*"))).toBe(true);
    expect(actions).not.toContain("logs:CreateLogGroup");
    expect(resources).toContain("arn:aws:logs:*:111122223333:log-group:/flow/*/vpc-*:*");
    expect(resources).not.toContain("*");
  });

  it.each([
    ["/aws/vpc-flow-logs/{vpcId}", "/aws/vpc-flow-logs/vpc-*"],
    ["/flow/{accountId}/{region}", "/flow/111122223333/*"],
  ])("pattern of %s is %s", (template, pattern) => {
    expect(logGroupNamePattern(template, "111122223333")).toBe(pattern);
  });
});

describe("policyDocumentsEqual", () => {
  const document = deliveryRoleTrustPolicy("aws", "111122223333");

  it("ignores key order, URL encoding and single-value lists", () => {
    const reordered = JSON.parse(
      JSON.stringify(document).replace('"Action":"sts:AssumeRole"', '"Action":["sts:AssumeRole"]'),
    );
    expect(policyDocumentsEqual(document, reordered)).toBe(true);
    expect(
      policyDocumentsEqual(document, parsePolicyDocument(encodeURIComponent(JSON.stringify(document)))),
    ).toBe(true);
  });

  it("sees a changed principal or condition", () => {
    const other = deliveryRoleTrustPolicy("aws", "444455556666");
    expect(policyDocumentsEqual(document, other)).toBe(false);
    expect(policyDocumentsEqual(document, undefined)).toBe(false);
  });
});
