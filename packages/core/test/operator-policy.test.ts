import { describe, expect, it } from "vitest";
import { operatorStatements, queueArnOfUrl } from "../src/operator-policy.ts";

const base = { partition: "aws", accountId: "111122223333", policy: {} };
const actionsOf = (statements: ReturnType<typeof operatorStatements>) =>
  statements.flatMap((statement) => [statement.Action].flat());

describe("operatorStatements: what iam-policy adds for the operator's commands", () => {
  it("adds nothing without a flag (the deployed functions never get it)", () => {
    expect(operatorStatements(base)).toEqual([]);
  });

  it("--cost with an S3 destination lists that bucket's objects, and only that bucket", () => {
    const statements = operatorStatements({
      ...base,
      cost: true,
      policy: { destinationType: "s3", logDestination: "arn:aws:s3:::org-log-archive/vpc" },
    });
    expect(actionsOf(statements)).toEqual(["cloudwatch:GetMetricData", "s3:ListBucket"]);
    expect(statements[1]!.Resource).toBe("arn:aws:s3:::org-log-archive");
    expect(actionsOf(operatorStatements({ ...base, cost: true }))).toEqual(["cloudwatch:GetMetricData"]);
  });

  it("--organization assumes only the named member role, in any account", () => {
    const statements = operatorStatements({ ...base, memberRoleName: "audit-member" });
    expect(statements.find((s) => s.Sid === "AssumeMemberRoles")!.Resource).toBe(
      "arn:aws:iam::*:role/flowlog-guard/audit-member",
    );
  });
});

describe("queueArnOfUrl", () => {
  it.each([
    ["https://sqs.eu-west-1.amazonaws.com/111122223333/Dlq", "aws", "arn:aws:sqs:eu-west-1:111122223333:Dlq"],
    [
      "https://sqs.cn-north-1.amazonaws.com.cn/111122223333/Dlq",
      "aws-cn",
      "arn:aws-cn:sqs:cn-north-1:111122223333:Dlq",
    ],
    ["http://127.0.0.1:5000/123456789012/RemediationDlq", "aws", "arn:aws:sqs:*:123456789012:RemediationDlq"],
    ["RemediationDlq", "aws", undefined],
    ["https://sqs.eu-west-1.amazonaws.com/Dlq", "aws", undefined],
  ])("%s -> %s", (url, partition, arn) => {
    expect(queueArnOfUrl(url, partition)).toBe(arn);
  });
});
