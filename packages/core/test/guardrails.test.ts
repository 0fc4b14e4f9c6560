import { describe, expect, it } from "vitest";
import { decide } from "../../../test/support/iam-evaluator.ts";
import { parsePolicy } from "../src/config.ts";
import { guardrailsPolicyDocument, renderPolicyDocument, SCP_MAX_CHARACTERS } from "../src/guardrails.ts";
import { servicePolicyDocument } from "../src/service-policy.ts";

const ACCOUNT = "111122223333";
const policy = parsePolicy({});
const ADMIN = `arn:aws:iam::${ACCOUNT}:role/Admin`;
const APPROVER = `arn:aws:iam::${ACCOUNT}:role/SecurityApprover`;
const GUARD_FUNCTION = `arn:aws:iam::${ACCOUNT}:role/flowlog-guard-prod-RemediateRole-a1b2c3`;
const GUARD_MEMBER = `arn:aws:iam::${ACCOUNT}:role/flowlog-guard/flowlog-guard-member`;
const scp = guardrailsPolicyDocument({ partition: "aws", policy, exceptionApprovers: [APPROVER] });
const scpWithoutApprovers = guardrailsPolicyDocument({ partition: "aws", policy });

const FLOW_LOG = `arn:aws:ec2:eu-west-1:${ACCOUNT}:vpc-flow-log/fl-0123456789abcdef0`;
const MANAGED = { "aws:ResourceTag/flowlog-guard:managed": "true" };
const GROUP = `arn:aws:logs:eu-west-1:${ACCOUNT}:log-group:/aws/vpc-flow-logs/vpc-0abc`;
const ROLE = `arn:aws:iam::${ACCOUNT}:role/flowlog-guard/flowlog-guard-delivery`;
const VPC = `arn:aws:ec2:eu-west-1:${ACCOUNT}:vpc/vpc-0abc`;

const as = (principalArn: string, document = scp) => ({ principalArn, accountId: ACCOUNT, scp: document });

describe("guardrails SCP, judged by a real IAM policy evaluator", () => {
  it("fits AWS Organizations' SCP size limit as printed, even with many approvers", () => {
    const many = Array.from({ length: 20 }, (_, i) => `arn:aws:iam::*:role/approvers/SecurityApprover${i}`);
    const text = renderPolicyDocument(
      guardrailsPolicyDocument({ partition: "aws", policy, exceptionApprovers: many }),
    );
    expect(text.length).toBeLessThanOrEqual(SCP_MAX_CHARACTERS);
    expect(JSON.parse(text).Statement.every((s: { Effect: string }) => s.Effect === "Deny")).toBe(true);
  });

  it("refuses, with the fix, a document over the limit and approvers that are not principal ARNs", () => {
    const tooMany = Array.from({ length: 120 }, (_, i) => `arn:aws:iam::${ACCOUNT}:role/approver-${i}`);
    expect(() => guardrailsPolicyDocument({ partition: "aws", policy, exceptionApprovers: tooMany })).toThrow(
      /would be \d+ characters; AWS Organizations allows 5120\. Give fewer --exception-approvers/,
    );
    expect(() =>
      guardrailsPolicyDocument({ partition: "aws", policy, exceptionApprovers: ["alice"] }),
    ).toThrow(/--exception-approvers takes IAM principal ARNs.*"alice"/);
  });

  it.each([
    ["deleting a managed flow log", { action: "ec2:DeleteFlowLogs", resource: FLOW_LOG, context: MANAGED }],
    [
      "removing the managed tag from a flow log",
      { action: "ec2:DeleteTags", resource: FLOW_LOG, context: { "aws:TagKeys": ["flowlog-guard:managed"] } },
    ],
    ["deleting a managed log group", { action: "logs:DeleteLogGroup", resource: GROUP }],
    ["shortening a managed log group's retention", { action: "logs:PutRetentionPolicy", resource: GROUP }],
    [
      "deleting a managed log stream",
      { action: "logs:DeleteLogStream", resource: `${GROUP}:log-stream:eni-0abc-all` },
    ],
    ["turning off deletion protection", { action: "logs:PutLogGroupDeletionProtection", resource: GROUP }],
    ["rewriting the delivery role's trust", { action: "iam:UpdateAssumeRolePolicy", resource: ROLE }],
    ["changing the delivery role's permissions", { action: "iam:PutRolePolicy", resource: ROLE }],
    ["deleting the delivery role", { action: "iam:DeleteRole", resource: ROLE }],
    [
      "setting an exception tag on a VPC",
      {
        action: "ec2:CreateTags",
        resource: VPC,
        context: { "aws:TagKeys": ["flowlog-guard:exception-expires"] },
      },
    ],
    [
      "setting an exception tag while creating a VPC",
      {
        action: "ec2:CreateTags",
        resource: VPC,
        context: {
          "aws:TagKeys": ["Name", "flowlog-guard:exception-owner"],
          "ec2:CreateAction": "CreateVpc",
        },
      },
    ],
    [
      "removing an exception tag",
      {
        action: "ec2:DeleteTags",
        resource: VPC,
        context: { "aws:TagKeys": ["flowlog-guard:exception-reason"] },
      },
    ],
  ])("denies an administrator %s", async (_name, request) => {
    expect(await decide(request, as(ADMIN))).toBe("ExplicitlyDenied");
    expect(await decide(request, as(ADMIN, { Version: "2012-10-17", Statement: [] }))).toBe("Allowed");
  });

  it.each([
    ["deleting an unmanaged flow log", { action: "ec2:DeleteFlowLogs", resource: FLOW_LOG }],
    [
      "tagging a VPC with other keys",
      { action: "ec2:CreateTags", resource: VPC, context: { "aws:TagKeys": ["Name", "team"] } },
    ],
    [
      "deleting another log group",
      { action: "logs:DeleteLogGroup", resource: GROUP.replace("/aws/vpc-flow-logs/", "/app/") },
    ],
    [
      "changing another role",
      { action: "iam:PutRolePolicy", resource: `arn:aws:iam::${ACCOUNT}:role/app-role` },
    ],
    [
      "running instances",
      { action: "ec2:RunInstances", resource: `arn:aws:ec2:eu-west-1:${ACCOUNT}:instance/*` },
    ],
    ["reading objects", { action: "s3:GetObject", resource: "arn:aws:s3:::app-bucket/key" }],
  ])("allows an administrator unrelated calls: %s", async (_name, request) => {
    expect(await decide(request, as(ADMIN))).toBe("Allowed");
  });

  it("lets only the approvers set and remove exception tags", async () => {
    const request = {
      action: "ec2:CreateTags",
      resource: VPC,
      context: { "aws:TagKeys": ["flowlog-guard:exception-expires"] },
    };
    expect(await decide(request, as(APPROVER))).toBe("Allowed");
    expect(await decide({ ...request, action: "ec2:DeleteTags" }, as(APPROVER))).toBe("Allowed");
    expect(await decide(request, as(GUARD_FUNCTION))).toBe("ExplicitlyDenied");
    // Without --exception-approvers the exception tags are not fenced at all.
    expect(await decide(request, as(ADMIN, scpWithoutApprovers))).toBe("Allowed");
  });

  it("allows every call of flowlog-guard's own roles that its service policy grants", async () => {
    const identityPolicy = servicePolicyDocument({ partition: "aws", accountId: ACCOUNT, policy });
    const calls = [
      { action: "ec2:DeleteFlowLogs", resource: FLOW_LOG, context: MANAGED },
      { action: "logs:PutRetentionPolicy", resource: GROUP },
      { action: "logs:CreateLogGroup", resource: GROUP },
      { action: "iam:PutRolePolicy", resource: ROLE },
      { action: "iam:UpdateAssumeRolePolicy", resource: ROLE },
      {
        action: "ec2:CreateTags",
        resource: FLOW_LOG,
        context: { "aws:TagKeys": ["flowlog-guard:managed"], "ec2:CreateAction": "CreateFlowLogs" },
      },
    ];
    for (const principalArn of [GUARD_FUNCTION, GUARD_MEMBER]) {
      for (const call of calls) {
        // Under the SCP alone (admin identity) and under the service policy the guard actually has.
        expect(await decide(call, as(principalArn)), `${principalArn} ${call.action}`).toBe("Allowed");
        if (call.action !== "ec2:DeleteFlowLogs")
          expect(await decide(call, { ...as(principalArn), identityPolicy }), call.action).toBe("Allowed");
      }
    }
  });
});
