import { describe, expect, it } from "vitest";
import { runCli } from "./support/cli.ts";
import { decide } from "./support/iam-evaluator.ts";

const ACCOUNT = "111122223333";

describe("flowlog-guard guardrails", () => {
  it("prints an SCP within AWS's size limit that the evaluator enforces for the given approvers", async () => {
    const approver = `arn:aws:iam::${ACCOUNT}:role/SecurityApprover`;
    const result = await runCli([
      "guardrails",
      "--exception-approvers",
      `${approver}, arn:aws:iam::*:role/CloudOps*`,
      "--log-group-name",
      "/org/flow-logs/{accountId}/{vpcId}",
    ]);

    expect(result.code).toBe(0);
    expect(result.stdout.trimEnd().length).toBeLessThanOrEqual(5120);
    const scp = JSON.parse(result.stdout);
    const tagException = {
      action: "ec2:CreateTags",
      resource: `arn:aws:ec2:eu-west-1:${ACCOUNT}:vpc/vpc-0abc`,
      context: { "aws:TagKeys": ["flowlog-guard:exception-expires"] },
    };
    const deleteGroup = {
      action: "logs:DeleteLogGroup",
      resource: `arn:aws:logs:eu-west-1:${ACCOUNT}:log-group:/org/flow-logs/${ACCOUNT}/vpc-0abc`,
    };
    const as = (principalArn: string) => ({ principalArn, accountId: ACCOUNT, scp });
    expect(await decide(tagException, as(approver))).toBe("Allowed");
    expect(await decide(tagException, as(`arn:aws:iam::${ACCOUNT}:role/CloudOpsAdmin`))).toBe("Allowed");
    expect(await decide(tagException, as(`arn:aws:iam::${ACCOUNT}:role/Developer`))).toBe("ExplicitlyDenied");
    expect(await decide(deleteGroup, as(approver))).toBe("ExplicitlyDenied");
  });

  it("refuses an approver that is not a principal ARN, printing nothing on stdout (exit 2)", async () => {
    const result = await runCli(["guardrails", "--exception-approvers", "alice@example.com"]);

    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain("--exception-approvers takes IAM principal ARNs");
  });
});
