import { CloseAccountCommand } from "@aws-sdk/client-organizations";
import {
  createAccountPools,
  createClientPool,
  EventValidationError,
  type OrganizationReport,
  parsePolicy,
  runOrganization,
} from "@flowlog-guard/core";
import { createRemediateHandler, type RemediateResult } from "@flowlog-guard/functions/remediate-handler";
import { createRuntime } from "@flowlog-guard/functions/runtime";
import { describe, expect, it } from "vitest";
import { captureLedger, createVpc, flowLogsOf, noSleep } from "./support/aws.ts";
import { onlyProfileCredentials, runCli } from "./support/cli.ts";
import { FIXTURE_VPC, fixture } from "./support/events.ts";
import { firstCalls, startFaultProxy, throttling } from "./support/fault-proxy.ts";
import { motoEndpoint } from "./support/moto.ts";
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
    const proxy = await startFaultProxy(motoEndpoint(), [memberRoleOnlyIn([a, b, excluded, suspended])]);
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

describe("Remediate handler in organization mode (FLOWLOG_GUARD_ORGANIZATION_ID)", () => {
  const memberEvent = (account: string, vpcId: string) =>
    fixture("ec2-create-vpc-cloudformation", { [FIXTURE_VPC]: vpcId, "123456789012": account });

  it("remediates a member's forwarded event in the member account, with the member role", async () => {
    const org = await createOrganization(2);
    const [member, excluded] = org.members as [string, string];
    await deployMemberTemplate(member, ["us-east-1"], {
      CentralAccountId: org.managementAccountId,
      OrganizationId: org.organizationId,
    });
    const admin = await adminPool(member);
    const vpcId = await createVpc(admin, "eu-west-1");
    const runtime = await createRuntime({
      FLOWLOG_GUARD_ORGANIZATION_ID: org.organizationId,
      FLOWLOG_GUARD_EXCLUDE_ACCOUNTS: excluded,
      AWS_REGION: "us-east-1",
    });
    const remediate = createRemediateHandler(runtime);
    // One EventBridge event in, one result out (batches answer batchItemFailures).
    const handle = async (event: unknown) => (await remediate(event)) as RemediateResult;

    const result = await handle(memberEvent(member, vpcId));

    expect(result).toMatchObject({ status: "handled", event: { account: member } });
    expect(result.vpcs).toEqual([expect.objectContaining({ vpcId, status: "remediated" })]);
    const flowLogs = await flowLogsOf(admin, "eu-west-1", vpcId);
    expect(flowLogs).toHaveLength(1);
    expect(flowLogs[0]!.DeliverLogsPermissionArn).toBe(
      `arn:aws:iam::${member}:role/flowlog-guard/flowlog-guard-delivery`,
    );
    expect(runtime.organization!.pools.counter.count("STS", "AssumeRole")).toBe(1);
    // The same event again changes nothing.
    expect((await handle(memberEvent(member, vpcId))).summary).toMatchObject({ changes: 0 });
  });

  it("refuses events from outside the organization and from excluded accounts: a clear refusal, no AWS change", async () => {
    const org = await createOrganization(1);
    const [excluded] = org.members as [string];
    const runtime = await createRuntime({
      FLOWLOG_GUARD_ORGANIZATION_ID: org.organizationId,
      FLOWLOG_GUARD_EXCLUDE_ACCOUNTS: excluded,
      AWS_REGION: "us-east-1",
    });
    const handle = createRemediateHandler(runtime);
    const excludedVpc = await createVpc(await adminPool(excluded), "eu-west-1");

    const outside = handle(memberEvent("999988887777", "vpc-0123456789abcdef0"));
    await expect(outside).rejects.toBeInstanceOf(EventValidationError);
    await expect(outside).rejects.toThrow(
      `account 999988887777 is not in organization ${org.organizationId}`,
    );
    await expect(handle(memberEvent(excluded, excludedVpc))).rejects.toThrow(/excluded/);
    expect(runtime.organization!.pools.counter.total).toBe(0); // no member role assumed, no member call
    expect(
      Object.keys(runtime.pool.counter.byOperation()).filter((op) => !/Get|Describe|List/.test(op)),
    ).toEqual([]);
    expect(await flowLogsOf(await adminPool(excluded), "eu-west-1", excludedVpc)).toEqual([]);
  });
});

describe("organization mode uses the caller's --profile for Organizations and for assuming member roles", () => {
  it("scan --accounts (with --security-hub) and bucket-policy --accounts all work with the profile's keys alone", async () => {
    const org = await createOrganization(1);
    const [member] = org.members as [string];
    const vpcId = await createVpc(await adminPool(member), "us-east-1");
    // No keys in the environment: only --profile can make these calls.
    const env = await onlyProfileCredentials("mgmt");

    const scan = await runCli(
      [
        "scan",
        "--accounts",
        member,
        "--regions",
        "us-east-1",
        "--profile",
        "mgmt",
        "--json",
        "--api-rate",
        "0",
        "--security-hub",
      ],
      { env },
    );
    const bucket = await runCli(
      ["bucket-policy", "--bucket", "org-log-archive", "--accounts", "all", "--profile", "mgmt", "--quiet"],
      { env },
    );

    expect(scan.code, scan.stderr).toBe(3); // the member's VPC has no flow log yet
    const report = JSON.parse(scan.stdout) as OrganizationReport;
    expect(report.summary).toMatchObject({ accounts: 1, accountsFailed: 0 });
    expect(JSON.stringify(report)).toContain(vpcId);
    // The member's finding goes into the member's Security Hub, through the member role.
    expect(scan.stderr).toMatch(
      /Security Hub: [1-9]\d* findings imported or updated, 0 archived \(VPC gone\), 0 failed/,
    );
    expect(bucket.code, bucket.stderr).toBe(0);
    expect(bucket.stdout).toContain(org.organizationId);
  });
});

describe("organization runs publish change records centrally", () => {
  it("keep sending the records the central ledger bus throttles until the run's deadline, not only four times", async () => {
    const region = "us-east-1";
    const central = "123456789012"; // moto's account: the central (management) account, run with its own clients
    await createVpc(createClientPool({ apiRate: 0 }), region);
    const ledger = await captureLedger(region, "org-ledger", "org-ledger-capture");
    // The first 30 PutEvents are throttled: far more than the publisher's 4 tries of any batch (one SDK
    // attempt per call, so each try is one call at the proxy).
    const proxy = await startFaultProxy(motoEndpoint(), [firstCalls("PutEvents", 30, throttling("events"))]);
    try {
      const report = await runOrganization({
        policy: parsePolicy({ ledgerBus: "org-ledger" }),
        regions: [region],
        homeRegion: region,
        mode: "fix",
        trigger: { kind: "cli", runId: "org-ledger-deadline" },
        centralAccountId: central,
        partition: "aws",
        targets: [{ accountId: central }],
        pools: createAccountPools({
          partition: "aws",
          homeRegion: region,
          sessionName: "unused",
          apiRate: 0,
        }),
        central: createClientPool({ apiRate: 0, endpoint: proxy.endpoint, maxAttempts: 1 }),
        sleep: noSleep,
        deadline: Date.now() + 120_000,
      });

      expect(report.errors).toEqual([]);
      expect(report.summary.recordsUndelivered).toBe(0);
      expect(report.summary.recordsPublished).toBeGreaterThan(0);
      expect(proxy.log.filter((entry) => entry.call.operation === "PutEvents").length).toBeGreaterThan(30);
      const onBus = (await ledger.drain()).map((event) => (event.detail as { recordId: string }).recordId);
      expect(new Set(onBus).size).toBe(report.summary.recordsPublished);
    } finally {
      await proxy.close();
    }
  });
});
