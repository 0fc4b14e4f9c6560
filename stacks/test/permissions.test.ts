import { parsePolicy, servicePolicyDocument } from "@flowlog-guard/core/data";
import { describe, expect, it } from "vitest";
import { permissionsFromDocument } from "../permissions.ts";

describe("permissionsFromDocument (core's policy data -> SST function permissions)", () => {
  const document = servicePolicyDocument({
    partition: "aws",
    accountId: "111122223333",
    policy: { ...parsePolicy({}), ledgerBus: "arn:aws:events:eu-west-1:111122223333:event-bus/ledger" },
  });
  const permissions = permissionsFromDocument(document);

  it("keeps every statement's actions and resources", () => {
    expect(permissions).toHaveLength(document.Statement.length);
    expect(permissions.flatMap((p) => p.actions).sort()).toEqual(
      document.Statement.flatMap((s) => [s.Action].flat()).sort(),
    );
  });

  it("carries conditions across (tagging only at CreateFlowLogs)", () => {
    expect(permissions.find((p) => p.actions.includes("ec2:CreateTags"))?.conditions).toEqual([
      { test: "StringEquals", variable: "ec2:CreateAction", values: ["CreateFlowLogs"] },
    ]);
  });

  it("grants no '*' action, PassRole only on the delivery role, PutEvents only on the ledger", () => {
    expect(permissions.flatMap((p) => p.actions).some((action) => action.includes("*"))).toBe(false);
    expect(permissions.find((p) => p.actions.includes("iam:PassRole"))?.resources).toEqual([
      "arn:aws:iam::111122223333:role/flowlog-guard/flowlog-guard-delivery",
    ]);
    expect(permissions.find((p) => p.actions.includes("events:PutEvents"))?.resources).toEqual([
      "arn:aws:events:eu-west-1:111122223333:event-bus/ledger",
    ]);
  });
});

describe("permissions follow the destination setting", () => {
  it("an S3 deployment's functions get no IAM or log-group action, only log delivery", () => {
    const permissions = permissionsFromDocument(
      servicePolicyDocument({
        partition: "aws",
        accountId: "111122223333",
        policy: parsePolicy({ destinationType: "s3", logDestination: "arn:aws:s3:::org-log-archive/vpc" }),
      }),
    );
    const actions = permissions.flatMap((p) => p.actions);
    expect(actions.filter((action) => action.startsWith("iam:") || action.startsWith("s3:"))).toEqual([]);
    expect(actions).not.toContain("logs:CreateLogGroup");
    expect(permissions.find((p) => p.actions.includes("logs:CreateLogDelivery"))?.resources).toEqual(["*"]);
  });
});

describe("permissions follow rolePermissionsBoundary (an SCP that requires a boundary on every role)", () => {
  it("the functions may create the delivery role and set its boundary only with that boundary, never remove it", () => {
    const boundary = "arn:aws:iam::111122223333:policy/OrgBoundary";
    const permissions = permissionsFromDocument(
      servicePolicyDocument({
        partition: "aws",
        accountId: "111122223333",
        policy: parsePolicy({ rolePermissionsBoundary: boundary }),
      }),
    );
    const bound = permissions.filter((p) => p.actions.includes("iam:CreateRole"));
    expect(bound).toEqual([
      {
        effect: "allow",
        actions: ["iam:CreateRole", "iam:PutRolePermissionsBoundary"],
        resources: ["arn:aws:iam::111122223333:role/flowlog-guard/flowlog-guard-delivery"],
        conditions: [{ test: "StringEquals", variable: "iam:PermissionsBoundary", values: [boundary] }],
      },
    ]);
    expect(permissions.flatMap((p) => p.actions)).not.toContain("iam:DeleteRolePermissionsBoundary");
  });
});
