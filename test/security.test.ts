import { GetRoleCommand, GetRolePolicyCommand } from "@aws-sdk/client-iam";
import {
  deliveryRolePermissionsPolicy,
  EventValidationError,
  EXCEPTION_TAGS,
  handleCloudTrailEvent,
  type PolicyDocument,
  parsePolicy,
  parsePolicyDocument,
  servicePolicyDocument,
} from "@flowlog-guard/core";
import { describe, expect, it } from "vitest";
import { createVpc, flowLogsOf, noSleep, run, testPool } from "./support/aws.ts";
import { FIXTURE_VPC, fixture } from "./support/events.ts";

const ACCOUNT = "123456789012";
const actionsOf = (document: PolicyDocument) =>
  document.Statement.flatMap((statement) => [statement.Action].flat());

describe("security: what flowlog-guard creates and needs", () => {
  it("creates a delivery role only the flow logs service can assume, for this account's flow logs only", async () => {
    const pool = testPool();
    await createVpc(pool, "eu-west-1");
    await run(pool, { regions: ["eu-west-1"] });

    const role = (
      await pool.clientsFor("eu-west-1").iam.send(new GetRoleCommand({ RoleName: "flowlog-guard-delivery" }))
    ).Role!;
    const [statement, ...others] = parsePolicyDocument(role.AssumeRolePolicyDocument!).Statement;
    expect(others).toEqual([]);
    expect(statement).toMatchObject({
      Effect: "Allow",
      Principal: { Service: "vpc-flow-logs.amazonaws.com" },
      Action: "sts:AssumeRole",
      Condition: {
        StringEquals: { "aws:SourceAccount": ACCOUNT },
        ArnLike: { "aws:SourceArn": `arn:aws:ec2:*:${ACCOUNT}:vpc-flow-log/*` },
      },
    });
    const inline = await pool.clientsFor("eu-west-1").iam.send(
      new GetRolePolicyCommand({
        RoleName: "flowlog-guard-delivery",
        PolicyName: "flowlog-guard-delivery",
      }),
    );
    const created = parsePolicyDocument(inline.PolicyDocument!);
    expect(actionsOf(created).some((action) => action.includes("*"))).toBe(false);
    expect(created.Statement.flatMap((s) => [s.Resource ?? []].flat())).not.toContain("*");
  });

  it.each([
    [
      "the delivery role's policy, default template",
      deliveryRolePermissionsPolicy("/aws/vpc-flow-logs/{vpcId}", "aws", ACCOUNT),
    ],
    [
      "the delivery role's policy, shared template",
      deliveryRolePermissionsPolicy("/flow/{region}", "aws", ACCOUNT),
    ],
    [
      "the service's own policy (iam-policy, the stacks)",
      servicePolicyDocument({
        partition: "aws",
        accountId: ACCOUNT,
        policy: { ...parsePolicy({}), ledgerBus: "ledger" },
      }),
    ],
  ])("%s has no '*' action", (_name, document) => {
    expect(actionsOf(document).length).toBeGreaterThan(0);
    expect(actionsOf(document).filter((action) => action.includes("*"))).toEqual([]);
  });
});

describe("security: an event can only cause a re-check of its own account and region", () => {
  it("an event from eu-west-1 naming a VPC that lives in us-east-1 changes nothing in us-east-1", async () => {
    const pool = testPool();
    const elsewhere = await createVpc(pool, "us-east-1");
    const event = fixture("ec2-create-vpc-cloudformation", { [FIXTURE_VPC]: elsewhere });

    const result = await handleCloudTrailEvent(event, { policy: parsePolicy({}), pool, sleep: noSleep });

    expect(result.event.region).toBe("eu-west-1");
    expect(result.report?.vpcs).toEqual([]);
    expect(result.report?.summary.changes).toBe(0);
    expect(await flowLogsOf(pool, "us-east-1", elsewhere)).toHaveLength(0);
  });

  it("an event for another account is refused before any change", async () => {
    const pool = testPool();
    const vpcId = await createVpc(pool, "eu-west-1");
    const event = fixture("ec2-create-vpc-cloudformation", {
      [FIXTURE_VPC]: vpcId,
      [ACCOUNT]: "444455556666",
    });

    await expect(handleCloudTrailEvent(event, { policy: parsePolicy({}), pool })).rejects.toBeInstanceOf(
      EventValidationError,
    );
    expect(Object.keys(pool.counter.byOperation()).filter((op) => /:(Create|Put|Update)/.test(op))).toEqual([
      "EC2:CreateVpc",
    ]);
    expect(await flowLogsOf(pool, "eu-west-1", vpcId)).toHaveLength(0);
  });
});

describe("security: exceptions need an owner and a bounded expiry", () => {
  it.each([
    ["an expiry but no owner", { [EXCEPTION_TAGS.expires]: "2026-12-31" }],
    ["an owner but no expiry", { [EXCEPTION_TAGS.owner]: "mallory" }],
    [
      "an expiry ten years out",
      { [EXCEPTION_TAGS.owner]: "mallory", [EXCEPTION_TAGS.expires]: "2036-01-01" },
    ],
  ])("a VPC tagged with %s is logged anyway", async (_name, tags) => {
    const pool = testPool();
    const vpcId = await createVpc(pool, "eu-west-1", tags);

    const report = await run(pool, { regions: ["eu-west-1"], vpcIds: [vpcId] });

    expect(report.vpcs[0]).toMatchObject({ status: "remediated", exception: { state: "invalid" } });
    expect(await flowLogsOf(pool, "eu-west-1", vpcId)).toHaveLength(1);
  });
});
