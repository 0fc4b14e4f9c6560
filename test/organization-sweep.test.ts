import { buildSweepDefinition } from "@flowlog-guard/core";
import { createRuntime } from "@flowlog-guard/functions/runtime";
import {
  createListAccountsHandler,
  createSweepWorkerHandler,
  SWEEP_STOP_MARGIN_MS,
  type SweepBatchResult,
} from "@flowlog-guard/functions/sweep-handler";
import { StateMachine } from "aws-local-stepfunctions";
import { describe, expect, it } from "vitest";
import { createVpc, flowLogsOf } from "./support/aws.ts";
import { adminPool, createOrganization, deployMemberTemplate } from "./support/organization.ts";

const REGIONS = ["us-east-1", "eu-west-1"];

/**
 * aws-local-stepfunctions 3 runs the Map's ItemProcessor but not Distributed mode's extras: it ignores
 * ItemBatcher (each item reaches the worker alone), ResultWriter and ToleratedFailurePercentage (one
 * failed item fails the run). This test runs the real definition and the real handlers on moto;
 * the batching, S3 results and tolerance are checked as data (asl-validator, sweep-state-machine.test.ts).
 */
describe("organization sweep: the state machine run locally (aws-local-stepfunctions) with the real handlers on moto", () => {
  it("lists the accounts, then the Map's worker remediates every member VPC with the member role", async () => {
    const org = await createOrganization(3);
    const [a, b, excluded] = org.members as [string, string, string];
    const vpcs: Record<string, string[]> = {};
    for (const account of [a, b, excluded]) {
      await deployMemberTemplate(account, ["us-east-1"], {
        CentralAccountId: org.managementAccountId,
        OrganizationId: org.organizationId,
      });
      const admin = await adminPool(account);
      vpcs[account] = await Promise.all(REGIONS.map((region) => createVpc(admin, region)));
    }
    process.env.FLOWLOG_GUARD_REGIONS = REGIONS.join(",");
    try {
      const runtime = await createRuntime({
        FLOWLOG_GUARD_ORGANIZATION_ID: org.organizationId,
        FLOWLOG_GUARD_EXCLUDE_ACCOUNTS: `${excluded},${org.managementAccountId}`,
        AWS_REGION: "us-east-1",
      });
      const definition = buildSweepDefinition({
        listAccountsFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:list-accounts",
        workerFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:sweep-worker",
        resultBucket: "sweep-results",
      });
      const machine = new StateMachine(definition as never, {
        validationOptions: { checkArn: true, checkPaths: true },
      });
      const execution = machine.run({} as never, {
        overrides: {
          taskResourceLocalHandlers: {
            ListAccounts: createListAccountsHandler(runtime) as never,
            FixAccounts: createSweepWorkerHandler(runtime) as never,
          },
        },
      });
      const results = (await execution.result) as unknown as SweepBatchResult[];

      expect(results.flatMap((result) => result.accounts).sort()).toEqual([a, b].sort());
      expect(new Set(results.map((result) => result.runId)).size).toBe(1);
      expect(results.every((result) => result.summary.accountsFailed === 0)).toBe(true);
      for (const account of [a, b]) {
        const admin = await adminPool(account);
        for (const [index, region] of REGIONS.entries())
          expect(await flowLogsOf(admin, region, vpcs[account]![index]!)).toHaveLength(1);
      }
      const excludedAdmin = await adminPool(excluded);
      expect(await flowLogsOf(excludedAdmin, "us-east-1", vpcs[excluded]![0]!)).toEqual([]);
    } finally {
      delete process.env.FLOWLOG_GUARD_REGIONS;
    }
  });

  it("the worker stops before its time limit, as fix-all does: past its margin nothing starts, and it says what remains", async () => {
    const org = await createOrganization(1);
    const [member] = org.members as [string];
    await deployMemberTemplate(member, ["us-east-1"], {
      CentralAccountId: org.managementAccountId,
      OrganizationId: org.organizationId,
    });
    const admin = await adminPool(member);
    const vpcId = await createVpc(admin, "us-east-1");
    process.env.FLOWLOG_GUARD_REGIONS = "us-east-1";
    try {
      const runtime = await createRuntime({
        FLOWLOG_GUARD_ORGANIZATION_ID: org.organizationId,
        AWS_REGION: "us-east-1",
      });
      const context = { getRemainingTimeInMillis: () => SWEEP_STOP_MARGIN_MS - 1 };

      const result = await createSweepWorkerHandler(runtime)(
        { accountId: member, runId: "sweep-late", dryRun: false },
        context,
      );

      expect(result.summary).toMatchObject({ accountsFailed: 0, regionsRemaining: 1, changes: 0 });
      expect(await flowLogsOf(admin, "us-east-1", vpcId)).toEqual([]);
    } finally {
      delete process.env.FLOWLOG_GUARD_REGIONS;
    }
  });
});
