import { CloseAccountCommand } from "@aws-sdk/client-organizations";
import type { OrganizationReport } from "@flowlog-guard/core";
import { describe, expect, inject, it } from "vitest";
import { createVpc, flowLogsOf } from "./support/aws.ts";
import { runCli } from "./support/cli.ts";
import { startFaultProxy } from "./support/fault-proxy.ts";
import {
  adminPool,
  createOrganization,
  deployMemberTemplate,
  memberRoleOnlyIn,
  organizations,
} from "./support/organization.ts";

const REGIONS = ["us-east-1", "eu-west-1"];

describe("fix-all --accounts all across a moto organization", () => {
  it("remediates every member VPC, isolates a member without the role, leaves excluded and suspended accounts untouched", async () => {
    const org = await createOrganization(5);
    const [a, b, noRole, excluded, suspended] = org.members as [string, string, string, string, string];
    const vpcs: Record<string, string[]> = {};
    for (const account of org.members) {
      const admin = await adminPool(account);
      vpcs[account] = await Promise.all(REGIONS.map((region) => createVpc(admin, region)));
    }
    for (const account of [a, b, excluded, suspended])
      await deployMemberTemplate(account, ["us-east-1"], {
        CentralAccountId: org.managementAccountId,
        OrganizationId: org.organizationId,
      });
    await organizations().send(new CloseAccountCommand({ AccountId: suspended }));
    const proxy = await startFaultProxy(inject("motoEndpoint"), [
      memberRoleOnlyIn([a, b, excluded, suspended]),
    ]);
    const fixAll = () =>
      runCli(
        [
          "fix-all",
          "--accounts",
          "all",
          "--exclude-accounts",
          `${excluded},${org.managementAccountId}`,
          "--regions",
          REGIONS.join(","),
          "--json",
          "--api-rate",
          "0",
        ],
        { env: { AWS_ENDPOINT_URL: proxy.endpoint } },
      );
    try {
      const first = await fixAll();
      expect(first.code).toBe(3); // one account failed
      const report = JSON.parse(first.stdout) as OrganizationReport;
      expect(report.summary).toMatchObject({ accounts: 3, accountsFailed: 1, accountsSkipped: 3, failed: 0 });
      expect(report.errors).toEqual([
        expect.objectContaining({ account: noRole, kind: "assume-role-failed", scope: "account" }),
      ]);
      expect(report.errors[0]!.message).toContain("flowlog-guard member-template");
      expect(report.skippedAccounts.map((skip) => `${skip.accountId}:${skip.kind}`).sort()).toEqual(
        [`${excluded}:excluded`, `${org.managementAccountId}:excluded`, `${suspended}:not-active`].sort(),
      );
      for (const account of [a, b]) {
        const admin = await adminPool(account);
        for (const [index, region] of REGIONS.entries()) {
          const vpcId = vpcs[account]![index]!;
          expect(report.vpcs).toContainEqual(
            expect.objectContaining({ account, region, vpcId, status: "remediated" }),
          );
          expect(await flowLogsOf(admin, region, vpcId)).toHaveLength(1);
        }
      }
      const records = report.vpcs.flatMap((vpc) => vpc.changes);
      expect(new Set(records.map((record) => record.account))).toEqual(new Set([a, b]));
      expect(new Set(records.map((record) => record.trigger.runId)).size).toBe(1);
      for (const account of [noRole, excluded, suspended]) {
        const admin = await adminPool(account);
        for (const [index, region] of REGIONS.entries())
          expect(await flowLogsOf(admin, region, vpcs[account]![index]!)).toEqual([]);
      }

      const second = JSON.parse((await fixAll()).stdout) as OrganizationReport;
      expect(second.summary.changes).toBe(0);
      expect(second.summary.remediated).toBe(0);
    } finally {
      await proxy.close();
    }
  });
});
