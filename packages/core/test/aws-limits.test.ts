import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { MAX_FLOW_LOG_BATCH } from "../src/planner.ts";
import { servicePolicyDocument } from "../src/service-policy.ts";

/** The API documentation the AWS SDK we ship was generated from (its TSDoc), for the operations we call. */
function sdkModelText(): string {
  const require = createRequire(import.meta.url);
  const models = join(dirname(require.resolve("@aws-sdk/client-ec2")), "..", "dist-types", "models");
  return readdirSync(models)
    .filter((file) => file.endsWith(".d.ts"))
    .map((file) => readFileSync(join(models, file), "utf8"))
    .join("\n");
}

describe("AWS limits, checked against the API model of the SDK we ship", () => {
  it("batches CreateFlowLogs at the documented maximum of resource ids for VPCs (300 since the 2026-08 model, not 1,000)", () => {
    const text = sdkModelText().replace(/\s*\*\s*/g, " ");
    const documented =
      /Maximum of 25 for transit gateway resource types\. Maximum of (\d+) for the other resource types/.exec(
        text,
      );
    expect(documented, "the EC2 model no longer states CreateFlowLogs' limit").not.toBeNull();
    expect(MAX_FLOW_LOG_BATCH).toBe(Number(documented![1]));
  });

  it("passes the delivery role on its ARN only, with no iam:PassedToService condition (AWS documents none for flow logs)", () => {
    const document = servicePolicyDocument({
      partition: "aws",
      accountId: "111122223333",
      policy: { roleName: "flowlog-guard-delivery", logGroupName: "/aws/vpc-flow-logs/{vpcId}" },
    });
    const passRole = document.Statement.filter((statement) =>
      [statement.Action].flat().includes("iam:PassRole"),
    );
    expect(passRole).toEqual([
      expect.objectContaining({
        Resource: "arn:aws:iam::111122223333:role/flowlog-guard/flowlog-guard-delivery",
      }),
    ]);
    expect(passRole[0]!.Condition).toBeUndefined();
  });
});
