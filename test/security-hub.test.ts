import { DeleteVpcCommand } from "@aws-sdk/client-ec2";
import { GetFindingsCommand } from "@aws-sdk/client-securityhub";
import { createClientPool, importToSecurityHub, type RunReport } from "@flowlog-guard/core";
import { MOTO_ACCOUNT_ID } from "@flowlog-guard/emulator";
import { describe, expect, it } from "vitest";
import { createVpc, noSleep, testPool } from "./support/aws.ts";
import { runCli } from "./support/cli.ts";
import { startFaultProxy } from "./support/fault-proxy.ts";
import { motoEndpoint } from "./support/moto.ts";

const REGION = "eu-west-1";
const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

async function findingsIn(region: string) {
  const page = await testPool()
    .clientsFor(region)
    .securityhub.send(new GetFindingsCommand({ MaxResults: 100 }));
  return (page.Findings ?? []).filter((f) => f.GeneratorId === "flowlog-guard/vpc-flow-logging");
}

describe("--security-hub (BatchImportFindings on moto)", () => {
  it("imports one finding per VPC: PASSED, FAILED, WARNING with the exception, control EC2.6; re-runs update, vanished VPCs are archived", async () => {
    const pool = testPool();
    const open = await createVpc(pool, REGION, { Name: "analytics" });
    const exempt = await createVpc(
      pool,
      REGION,
      { "flowlog-guard:exception-owner": "net-team", "flowlog-guard:exception-expires": day(30) },
      "10.1.0.0/16",
    );
    const doomed = await createVpc(pool, REGION, {}, "10.2.0.0/16");

    const scan = await runCli(["scan", "--regions", REGION, "--security-hub", "--format", "csv"]);
    expect(scan.code).toBe(3);
    expect(scan.stderr).toMatch(/Security Hub: \d+ findings imported or updated, 0 archived/);
    const first = await findingsIn(REGION);
    const byVpc = (findings: typeof first, vpcId: string) =>
      findings.find((f) => f.Resources?.[0]?.Id === `arn:aws:ec2:${REGION}:${MOTO_ACCOUNT_ID}:vpc/${vpcId}`);
    expect(byVpc(first, open)).toMatchObject({
      Id: `flowlog-guard/${MOTO_ACCOUNT_ID}/${REGION}/${open}/EC2.6`,
      ProductArn: `arn:aws:securityhub:${REGION}:${MOTO_ACCOUNT_ID}:product/${MOTO_ACCOUNT_ID}/default`,
      AwsAccountId: MOTO_ACCOUNT_ID,
      Compliance: { Status: "FAILED", SecurityControlId: "EC2.6" },
      RecordState: "ACTIVE",
    });
    expect(byVpc(first, open)!.Compliance!.RelatedRequirements).toEqual(
      expect.arrayContaining([
        "NIST.800-53.r5 AU-2",
        "NIST.800-53.r5 AU-12",
        "NIST.800-53.r5 CA-7",
        "CIS AWS Foundations Benchmark v3.0.0/3.7",
      ]),
    );
    expect(byVpc(first, exempt)!.Compliance!.Status).toBe("WARNING");
    expect(byVpc(first, exempt)!.Description).toContain("owner net-team");

    await pool.clientsFor(REGION).ec2.send(new DeleteVpcCommand({ VpcId: doomed }));
    const fix = await runCli(["fix-all", "--regions", REGION, "--security-hub", "--json"]);
    expect(fix.code).toBe(0);
    expect(fix.stderr).toMatch(
      /Security Hub: \d+ findings imported or updated, 1 archived \(VPC gone\), 0 failed/,
    );

    const second = await findingsIn(REGION);
    expect(second).toHaveLength(first.length);
    expect(byVpc(second, open)!.Compliance!.Status).toBe("PASSED");
    expect(byVpc(second, open)!.CreatedAt).toBe(byVpc(first, open)!.CreatedAt);
    expect(byVpc(second, open)!.UpdatedAt! > byVpc(first, open)!.UpdatedAt!).toBe(true);
    expect(byVpc(second, doomed)!.RecordState).toBe("ARCHIVED");
  });

  it("--format asff prints the same findings without importing them", async () => {
    const vpcId = await createVpc(testPool(), REGION);

    const result = await runCli(["scan", "--regions", REGION, "--format", "asff"]);

    const findings = JSON.parse(result.stdout);
    expect(findings.find((f: { Id: string }) => f.Id.includes(vpcId))).toMatchObject({
      SchemaVersion: "2018-10-08",
      GeneratorId: "flowlog-guard/vpc-flow-logging",
      Title: "VPC flow logging should be enabled in all VPCs",
      Compliance: { Status: "FAILED", SecurityControlId: "EC2.6" },
      FindingProviderFields: { Severity: { Label: "MEDIUM" } },
      Resources: [{ Type: "AwsEc2Vpc", Id: `arn:aws:ec2:${REGION}:${MOTO_ACCOUNT_ID}:vpc/${vpcId}` }],
    });
    expect(await findingsIn(REGION)).toEqual([]);
  });

  it("imports in batches of at most 100 and retries when Security Hub throttles", async () => {
    let throttled = 0;
    const proxy = await startFaultProxy(motoEndpoint(), [
      (call) =>
        call.service === "securityhub" && call.body.includes('"Findings"') && throttled++ < 2
          ? {
              kind: "respond",
              status: 429,
              contentType: "application/json",
              body: JSON.stringify({ __type: "TooManyRequestsException", Message: "Rate exceeded" }),
            }
          : undefined,
    ]);
    try {
      const vpcs = Array.from({ length: 250 }, (_, i) => ({
        account: MOTO_ACCOUNT_ID,
        region: REGION,
        vpcId: `vpc-${i.toString(16).padStart(17, "0")}`,
        isDefault: false,
        status: "compliant" as const,
        reason: "flow log fl-1 is active",
        flowLogIds: ["fl-1"],
        exception: null,
        changes: [],
        actions: [],
      }));
      const report = {
        mode: "scan",
        account: MOTO_ACCOUNT_ID,
        regions: [REGION],
        vpcs,
        sharedChanges: [],
        errors: [],
      };
      const pool = createClientPool({ apiRate: 0, endpoint: proxy.endpoint });

      const result = await importToSecurityHub(report as unknown as RunReport, {
        clientsFor: (_account, region) => pool.clientsFor(region),
        now: new Date().toISOString(),
        sleep: noSleep,
      });

      expect(result).toEqual({ imported: 250, archived: 0, failed: [] });
      const imports = proxy.log.filter(
        (entry) => entry.call.service === "securityhub" && entry.call.body.includes('"Findings"'),
      );
      const sizes = imports
        .filter((e) => e.fault === "pass")
        .map((e) => JSON.parse(e.call.body).Findings.length);
      expect(sizes).toEqual([100, 100, 50]);
      expect(imports.filter((e) => e.fault === "respond")).toHaveLength(2);
      expect(await findingsIn(REGION)).toHaveLength(100); // MaxResults: one page of the 250
    } finally {
      await proxy.close();
    }
  });
});
