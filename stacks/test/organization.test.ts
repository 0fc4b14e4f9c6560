import { buildMemberTemplate, parsePolicy } from "@flowlog-guard/core/data";
import * as pulumi from "@pulumi/pulumi";
import validator from "asl-validator";
import { beforeAll, describe, expect, it } from "vitest";
import { type OrganizationDeployConfig, organizationConfigProblems } from "../config.ts";

interface Recorded {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

const recorded: Recorded[] = [];
pulumi.runtime.setMocks(
  {
    newResource(args) {
      recorded.push({ type: args.type, name: args.name, inputs: args.inputs });
      return {
        id: `${args.name}-id`,
        state: {
          ...args.inputs,
          arn: `arn:aws:mock:us-east-1:111122223333:${args.name}`,
          name: args.inputs.name ?? args.name,
          bucket: `${args.name}-bucket`,
        },
      };
    },
    call: (args) => args.inputs,
  },
  "flowlog-guard",
  "test",
  false,
);

const CENTRAL = "111122223333";
const BUS = `arn:aws:events:eu-west-1:${CENTRAL}:event-bus/default`;
const config: OrganizationDeployConfig = {
  organizationId: "o-abcdef1234",
  deployedFrom: "delegated-admin",
  managementAccountId: "999999999999",
  managementAccount: "exclude",
  organizationalUnits: ["ou-ab12-cdefgh34"],
  excludedAccounts: ["222233334444"],
  memberRoleName: "flowlog-guard-member",
  operatorRoleArns: [],
  sweep: { maxConcurrency: 25, accountsPerBatch: 10, toleratedFailurePercentage: 5 },
};
const policy = parsePolicy({});
const ofType = (type: string) => recorded.filter((resource) => resource.type === type);
/** Waits until Pulumi has registered every resource (outputs resolve asynchronously; slower under load). */
async function settle(): Promise<void> {
  const expected = [
    "aws:sfn/stateMachine:StateMachine",
    "aws:scheduler/schedule:Schedule",
    "aws:cloudwatch/eventBusPolicy:EventBusPolicy",
  ];
  for (let waited = 0; waited < 20_000; waited += 100) {
    if (expected.every((type) => ofType(type).length > 0)) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await new Promise((resolve) => setTimeout(resolve, 300));
}

beforeAll(async () => {
  const organization = await import("../organization.ts");
  organization.createMemberStackSet({
    config,
    policy,
    homeRegion: "eu-west-1",
    watchedRegions: ["eu-west-1", "us-west-2"],
    centralAccountId: CENTRAL,
    centralBusArn: BUS,
  });
  organization.createCentralBusPolicy({ busArn: BUS, organizationId: config.organizationId });
  organization.createSweep({
    config,
    partition: "aws",
    region: "eu-west-1",
    accountId: CENTRAL,
    listAccountsArn: "arn:aws:lambda:eu-west-1:111122223333:function:list",
    workerArn: "arn:aws:lambda:eu-west-1:111122223333:function:worker",
    schedule: "cron(0 3 * * ? *)",
    retain: true,
  });
  await settle();
});

describe("organization mode: member StackSet", () => {
  it("is service-managed, auto-deployed to new accounts, with the member template from core", () => {
    const [stackSet] = ofType("aws:cloudformation/stackSet:StackSet");
    expect(stackSet?.inputs).toMatchObject({
      permissionModel: "SERVICE_MANAGED",
      autoDeployment: { enabled: true, retainStacksOnAccountRemoval: false },
      capabilities: ["CAPABILITY_NAMED_IAM"],
      callAs: "DELEGATED_ADMIN",
      parameters: {
        CentralAccountId: CENTRAL,
        CentralEventBusArn: BUS,
        OrganizationId: "o-abcdef1234",
        RoleRegion: "us-east-1",
      },
    });
    expect(JSON.parse(stackSet!.inputs.templateBody as string)).toEqual(
      buildMemberTemplate({ policy, memberRoleName: "flowlog-guard-member" }),
    );
  });

  it("has an instance per member region (watched + us-east-1) on the OUs, minus excluded and central accounts", () => {
    const instances = ofType("aws:cloudformation/stackSetInstance:StackSetInstance");
    expect(instances.map((instance) => instance.inputs.stackSetInstanceRegion).sort()).toEqual([
      "eu-west-1",
      "us-east-1",
      "us-west-2",
    ]);
    for (const instance of instances)
      expect(instance.inputs).toMatchObject({
        callAs: "DELEGATED_ADMIN",
        deploymentTargets: {
          organizationalUnitIds: ["ou-ab12-cdefgh34"],
          accountFilterType: "DIFFERENCE",
          accounts: [CENTRAL, "222233334444"],
        },
      });
  });
});

describe("organization mode: central bus and sweep", () => {
  it("the central bus admits PutEvents only from principals of the organization", () => {
    const [busPolicy] = ofType("aws:cloudwatch/eventBusPolicy:EventBusPolicy");
    expect(JSON.parse(busPolicy!.inputs.policy as string).Statement).toEqual([
      expect.objectContaining({
        Action: "events:PutEvents",
        Resource: BUS,
        Condition: { StringEquals: { "aws:PrincipalOrgID": "o-abcdef1234" } },
      }),
    ]);
  });

  it("the state machine is the valid Distributed Map from core with the configured concurrency, scheduled", () => {
    const [machine] = ofType("aws:sfn/stateMachine:StateMachine");
    const definition = JSON.parse(machine!.inputs.definition as string);
    expect(validator(definition).isValid).toBe(true);
    expect(definition.States.SweepAccounts).toMatchObject({
      MaxConcurrency: 25,
      ToleratedFailurePercentage: 5,
    });
    const [schedule] = ofType("aws:scheduler/schedule:Schedule");
    expect(schedule!.inputs).toMatchObject({
      scheduleExpression: "cron(0 3 * * ? *)",
      target: { input: '{"dryRun":false}' },
    });
    const rolePolicy = ofType("aws:iam/rolePolicy:RolePolicy").find(
      (resource) => resource.name === "SweepRolePolicy",
    );
    const actions = JSON.parse(rolePolicy!.inputs.policy as string).Statement.flatMap(
      (statement: { Action: string[] }) => statement.Action,
    );
    expect(actions).toContain("states:StartExecution");
    expect(actions.some((action: string) => action.endsWith("*"))).toBe(false);
  });
});

describe("organization config", () => {
  it("refuses covering the management account from a delegated administrator, and bad ids, with the fix", () => {
    const problems = organizationConfigProblems({
      ...config,
      managementAccount: "central",
      organizationId: "org",
      excludedAccounts: ["12"],
    });
    expect(problems.join("\n")).toContain('use "manual-stack"');
    expect(problems.join("\n")).toContain("organizationId");
    expect(problems.join("\n")).toContain('"12" is not a 12-digit account id');
    expect(organizationConfigProblems(config)).toEqual([]);
  });

  it("an excluded management account is excluded at runtime, explicitly", async () => {
    const { runtimeExclusions, managementAccountCoverage } = await import("../organization.ts");
    expect(runtimeExclusions(config)).toEqual(["222233334444", "999999999999"]);
    expect(runtimeExclusions({ ...config, managementAccount: "manual-stack" })).toEqual(["222233334444"]);
    expect(managementAccountCoverage(config)).toContain("excluded");
  });
});
