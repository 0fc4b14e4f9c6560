import { describe, expect, it } from "vitest";
import { parsePolicy } from "../src/config.ts";
import { planRemediation } from "../src/planner.ts";
import { deliveryRolePermissionsPolicy, deliveryRoleTrustPolicy } from "../src/policy-documents.ts";
import { ACCOUNT, aFlowLog, aLogGroup, anInventory, aRegion } from "./builders.ts";

const NOW = new Date("2026-06-01T12:00:00Z");
const KEY = `arn:aws:kms:eu-west-1:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const OTHER = `arn:aws:kms:eu-west-1:${ACCOUNT}:key/99999999-12ab-34cd-56ef-1234567890ab`;
const role = {
  exists: true,
  arn: `arn:aws:iam::${ACCOUNT}:role/flowlog-guard/flowlog-guard-delivery`,
  trustPolicy: deliveryRoleTrustPolicy("aws", ACCOUNT),
  permissionsPolicy: deliveryRolePermissionsPolicy("/aws/vpc-flow-logs/{vpcId}", "aws", ACCOUNT),
};

/** A VPC with flowlog-guard's flow log into a group with the given facts. */
function planWith(
  group: Parameters<typeof aLogGroup>[0],
  policy: Record<string, unknown> = { kmsKeyArn: KEY },
) {
  const inventory = anInventory({
    role,
    regions: [aRegion({ flowLogs: [aFlowLog({ managed: true })], logGroups: [aLogGroup(group)] })],
  });
  return planRemediation(inventory, parsePolicy(policy), NOW);
}

describe("planner: a managed log group keeps its region's KMS key", () => {
  it.each([
    [{ managed: true, kmsKeyId: undefined }, null],
    [{ managed: true, kmsKeyId: OTHER }, OTHER],
  ])("plans AssociateKmsKey for a managed group %o, recording the key it had", (group, before) => {
    const plan = planWith(group);
    expect(plan.actions).toEqual([
      expect.objectContaining({
        kind: "associate-kms-key",
        key: "kms-key:eu-west-1:/aws/vpc-flow-logs/vpc-0000000000000000a",
        kmsKeyArn: KEY,
        before,
        vpcIds: ["vpc-0000000000000000a"],
      }),
    ]);
    expect(plan.vpcs[0]).toMatchObject({ status: "non-compliant", actionKeys: [plan.actions[0]!.key] });
  });

  it.each([
    ["a customer's group (no managed tag)", { managed: false }, { kmsKeyArn: KEY }],
    ["a group whose tags were not read", {}, { kmsKeyArn: KEY }],
    ["a managed group already on the key", { managed: true, kmsKeyId: KEY }, { kmsKeyArn: KEY }],
    ["no key configured", { managed: true }, {}],
  ])("plans nothing for %s", (_, group, policy) => {
    const plan = planWith(group, policy);
    expect(plan.actions).toEqual([]);
    expect(plan.vpcs[0]?.status).toBe("compliant");
  });

  it("uses the region's own key: a multi-Region key's replica in another region", () => {
    const mrk = `arn:aws:kms:us-east-1:${ACCOUNT}:key/mrk-1234abcd12ab34cd56ef1234567890ab`;
    const plan = planWith({ managed: true }, { kmsKeyArn: mrk });
    expect(plan.actions[0]).toMatchObject({ kmsKeyArn: mrk.replace("us-east-1", "eu-west-1") });
  });
});
