import { type ClientPool, createClientPool, type RunReport } from "@flowlog-guard/core";
import { createFixAllHandler, type FixAllResult } from "@flowlog-guard/functions/fix-all-handler";
import { createRemediateHandler, type RemediateResult } from "@flowlog-guard/functions/remediate-handler";
import { createRuntime } from "@flowlog-guard/functions/runtime";
import { describe, expect, it } from "vitest";
import { createVpc, flowLogsOf, run, testPool } from "./support/aws.ts";
import { runCli } from "./support/cli.ts";
import { FIXTURE_VPC, fixture } from "./support/events.ts";
import { ec2Error, type FaultProxy, shareVpcInDescribeVpcs, startFaultProxy } from "./support/fault-proxy.ts";
import { motoEndpoint } from "./support/moto.ts";

/**
 * A VPC another account shares through AWS RAM, as a participant sees it: DescribeVpcs lists it with
 * the owner's OwnerId, and EC2 refuses the participant's CreateFlowLogs on it. moto has no VPC
 * sharing, so the fault proxy gives the VPC the owner's id and refuses that call; everything else is
 * moto's. A run that tried to create a flow log on it would fail.
 */
const REGION = "eu-west-1";
const OWNER = "444455556666";

interface SharedEstate {
  direct: ClientPool;
  proxy: FaultProxy;
  /** Clients that talk to moto through the proxy, as a participant account's would talk to AWS. */
  participant: ClientPool;
  own: string;
  shared: string;
}

async function withSharedVpc(body: (estate: SharedEstate) => Promise<void>): Promise<void> {
  const direct = testPool();
  const own = await createVpc(direct, REGION, { Name: "own" });
  const shared = await createVpc(direct, REGION, { Name: "shared" }, "10.1.0.0/16");
  const proxy = await startFaultProxy(motoEndpoint(), [
    shareVpcInDescribeVpcs(shared, OWNER),
    (call) =>
      call.operation === "CreateFlowLogs" && call.body.includes(shared)
        ? ec2Error(403, "UnauthorizedOperation", "You are not authorized to perform this operation.")
        : undefined,
  ]);
  try {
    const participant = createClientPool({ apiRate: 0, endpoint: proxy.endpoint, maxAttempts: 1 });
    await body({ direct, proxy, participant, own, shared });
  } finally {
    await proxy.close();
  }
}

const vpcOf = (report: Pick<RunReport, "vpcs">, vpcId: string) =>
  report.vpcs.find((vpc) => vpc.vpcId === vpcId);
const flowLogCallsFor = (proxy: FaultProxy, vpcId: string) =>
  proxy.log.filter(({ call }) => call.operation === "CreateFlowLogs" && call.body.includes(vpcId));

describe("shared VPCs (AWS RAM) end to end: not-owned, never acted on, never a failed run", () => {
  it("fix-all remediates the account's own VPCs, leaves the shared one to its owner, and fails nothing", async () => {
    await withSharedVpc(async ({ direct, proxy, participant, own, shared }) => {
      const report = await run(participant, { regions: [REGION] });

      expect(vpcOf(report, shared)).toMatchObject({
        status: "not-owned",
        reason: `shared by account ${OWNER} through AWS RAM; the owner's run covers it`,
        actions: [],
        changes: [],
      });
      expect(vpcOf(report, own)?.status).toBe("remediated");
      expect(report.summary).toMatchObject({ notOwned: 1, failed: 0, nonCompliant: 0 });
      expect(report.errors).toEqual([]);
      expect(flowLogCallsFor(proxy, shared)).toEqual([]);
      expect(await flowLogsOf(direct, REGION, shared)).toEqual([]);

      const again = await run(participant, { regions: [REGION] });
      expect(again.summary).toMatchObject({ changes: 0, notOwned: 1, failed: 0 });
      expect(vpcOf(again, own)?.status).toBe("compliant");
    });
  });

  it("the CLI exits 0 after fix-all and lists the VPC as not owned", async () => {
    await withSharedVpc(async ({ proxy, shared }) => {
      const env = { AWS_ENDPOINT_URL: proxy.endpoint };
      const fix = await runCli(["fix-all", "--regions", REGION, "--yes"], { env });
      expect(fix.stderr).toBe("");
      expect(fix.code).toBe(0);
      expect(fix.stdout).toContain("Not owned (1), left to their owners' runs:");
      expect(fix.stdout).toMatch(new RegExp(`${shared} \\(shared\\)\\s+shared by account ${OWNER}`));

      const scan = await runCli(["scan", "--regions", REGION, "--json"], { env });
      expect(scan.code).toBe(0);
      const report = JSON.parse(scan.stdout) as RunReport;
      expect(vpcOf(report, shared)?.status).toBe("not-owned");
      expect(report.summary.notOwned).toBe(1);
      expect(flowLogCallsFor(proxy, shared)).toEqual([]);
    });
  });

  it("the fix-all Lambda returns (does not throw) with no failed VPC", async () => {
    await withSharedVpc(async ({ proxy, participant, shared }) => {
      const runtime = { ...(await createRuntime({ FLOWLOG_GUARD_REGIONS: REGION })), pool: participant };
      const result = (await createFixAllHandler(runtime)(
        { regions: [REGION] },
        {
          getRemainingTimeInMillis: () => 600_000,
        },
      )) as FixAllResult;

      expect(result.failedVpcs).toEqual([]);
      expect(result.errors).toEqual([]);
      expect(result.summary).toMatchObject({ notOwned: 1, failed: 0 });
      expect(flowLogCallsFor(proxy, shared)).toEqual([]);
    });
  });

  it.each([["ec2-create-vpc-assumed-role-with-tags"], ["ec2-delete-flow-logs-single"]])(
    "the remediate Lambda handles %s about the shared VPC and changes nothing for it",
    async (name) => {
      await withSharedVpc(async ({ direct, proxy, participant, shared }) => {
        const runtime = { ...(await createRuntime({})), pool: participant };
        const result = (await createRemediateHandler(runtime)(
          fixture(name, { [FIXTURE_VPC]: shared }),
        )) as RemediateResult;

        expect(result.status).toBe("handled");
        expect(result.vpcs?.find((vpc) => vpc.vpcId === shared)?.status).toBe("not-owned");
        expect(result.summary?.failed).toBe(0);
        expect(flowLogCallsFor(proxy, shared)).toEqual([]);
        expect(await flowLogsOf(direct, REGION, shared)).toEqual([]);
      });
    },
  );
});
