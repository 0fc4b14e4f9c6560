import { describe, expect, it } from "vitest";
import { decide } from "../../../test/support/iam-evaluator.ts";
import { parsePolicy } from "../src/config.ts";
import { sampleResourceArn, simulationRequests } from "../src/permission-simulation.ts";
import { servicePolicyDocument } from "../src/service-policy.ts";

const ACCOUNT = "111122223333";
const document = servicePolicyDocument({
  partition: "aws",
  accountId: ACCOUNT,
  policy: { ...parsePolicy({}), ledgerBus: `arn:aws:events:eu-west-1:${ACCOUNT}:event-bus/ledger` },
});
const requests = simulationRequests(document, "eu-west-1");
const requestFor = (action: string) => requests.find((request) => request.ActionNames.includes(action));

describe("doctor's SimulatePrincipalPolicy requests", () => {
  it("tag-on-create is simulated on a flow log ARN with ec2:CreateAction = CreateFlowLogs, as EC2 evaluates it", () => {
    expect(requestFor("ec2:CreateTags")).toEqual({
      statement: "TagFlowLogsAtCreation",
      ActionNames: ["ec2:CreateTags"],
      ResourceArns: [`arn:aws:ec2:eu-west-1:${ACCOUNT}:vpc-flow-log/fl-0123456789abcdef0`],
      ContextEntries: [
        {
          ContextKeyName: "ec2:CreateAction",
          ContextKeyValues: ["CreateFlowLogs"],
          ContextKeyType: "string",
        },
      ],
    });
  });

  it("scoped actions name resources like the real calls: the VPC and flow log, the role, the log group, the bus", () => {
    expect(requestFor("ec2:CreateFlowLogs")!.ResourceArns).toEqual([
      `arn:aws:ec2:eu-west-1:${ACCOUNT}:vpc/vpc-0123456789abcdef0`,
      `arn:aws:ec2:eu-west-1:${ACCOUNT}:vpc-flow-log/fl-0123456789abcdef0`,
    ]);
    expect(requestFor("iam:PassRole")!.ResourceArns).toEqual([
      `arn:aws:iam::${ACCOUNT}:role/flowlog-guard/flowlog-guard-delivery`,
    ]);
    expect(requestFor("logs:CreateLogGroup")!.ResourceArns).toEqual([
      `arn:aws:logs:eu-west-1:${ACCOUNT}:log-group:/aws/vpc-flow-logs/vpc-0123456789abcdef0`,
    ]);
    expect(requestFor("events:PutEvents")!.ResourceArns).toEqual([
      `arn:aws:events:eu-west-1:${ACCOUNT}:event-bus/ledger`,
    ]);
  });

  it("actions AWS authorises on * are simulated on * (no ResourceArns), without context", () => {
    const read = requestFor("ec2:DescribeVpcs")!;
    expect(read.ResourceArns).toBeUndefined();
    expect(read.ContextEntries).toBeUndefined();
  });

  it("with rolePermissionsBoundary, CreateRole and PutRolePermissionsBoundary are simulated with that boundary", () => {
    const boundary = `arn:aws:iam::${ACCOUNT}:policy/OrgBoundary`;
    const bounded = servicePolicyDocument({
      partition: "aws",
      accountId: ACCOUNT,
      policy: parsePolicy({ rolePermissionsBoundary: boundary }),
    });
    const request = simulationRequests(bounded, "eu-west-1").find((r) => r.statement === "BoundDeliveryRole");
    expect(request).toEqual({
      statement: "BoundDeliveryRole",
      ActionNames: ["iam:CreateRole", "iam:PutRolePermissionsBoundary"],
      ResourceArns: [`arn:aws:iam::${ACCOUNT}:role/flowlog-guard/flowlog-guard-delivery`],
      ContextEntries: [
        { ContextKeyName: "iam:PermissionsBoundary", ContextKeyValues: [boundary], ContextKeyType: "string" },
      ],
    });
  });

  it("covers every action of the document exactly once", () => {
    const actions = document.Statement.flatMap((statement) => [statement.Action].flat()).sort();
    expect(requests.flatMap((request) => request.ActionNames).sort()).toEqual(actions);
  });

  it("a real IAM evaluator allows every request as built, and denies tag-on-create asked the old way (on *, no context)", async () => {
    const options = {
      principalArn: `arn:aws:iam::${ACCOUNT}:role/runner`,
      accountId: ACCOUNT,
      identityPolicy: document,
    };
    for (const request of requests) {
      const context = Object.fromEntries(
        (request.ContextEntries ?? []).map((entry) => [entry.ContextKeyName, entry.ContextKeyValues]),
      );
      for (const action of request.ActionNames) {
        for (const resource of request.ResourceArns ?? ["*"]) {
          expect(await decide({ action, resource, context }, options), `${action} on ${resource}`).toBe(
            "Allowed",
          );
        }
      }
    }
    expect(await decide({ action: "ec2:CreateTags", resource: "*" }, options)).toBe("ImplicitlyDenied");
  });

  it.each([
    ["*", undefined],
    [`arn:aws:logs:*:${ACCOUNT}:log-group:/flow/*/vpc-*:*`, undefined],
    [
      `arn:aws:logs:*:${ACCOUNT}:log-group:/flow/*/vpc-*`,
      `arn:aws:logs:us-east-1:${ACCOUNT}:log-group:/flow/flowlog-guard-doctor/vpc-0123456789abcdef0`,
    ],
    [`arn:aws:iam::${ACCOUNT}:role/x`, `arn:aws:iam::${ACCOUNT}:role/x`],
  ])("sample ARN for %s", (pattern, expected) => {
    expect(sampleResourceArn(pattern, "us-east-1")).toBe(expected);
  });
});
