import { readFileSync } from "node:fs";
import type { Vpc } from "@aws-sdk/client-ec2";
import { describe, expect, it } from "vitest";
import { parsePolicy } from "../src/config.ts";
import { buildFindings } from "../src/evidence/asff.ts";
import { summarizeCompliance } from "../src/evidence/compliance-summary.ts";
import { renderMarkdown } from "../src/evidence/markdown.ts";
import { EXCEPTION_TAGS } from "../src/exceptions.ts";
import { toVpcFacts } from "../src/inventory.ts";
import type { AccountInventory } from "../src/model.ts";
import { planRemediation } from "../src/planner.ts";
import { buildReport, type RunMode } from "../src/report.ts";
import { ACCOUNT, aFlowLog, anInventory, aRegion, aVpc } from "./builders.ts";

const NOW = new Date("2026-06-01T12:00:00Z");
const OWNER = "444455556666";
const SHARED = "vpc-0a9b8c7d6e5f40312";
const OWN = "vpc-0c1d2e3f4a5b6c7d8";

/** DescribeVpcs as participant account 111122223333 (ACCOUNT) receives it: its own VPC and a shared one. */
const recorded = JSON.parse(
  readFileSync(new URL("./fixtures/describe-vpcs-participant.json", import.meta.url), "utf8"),
) as { Vpcs: Vpc[] };

function participantInventory(): AccountInventory {
  const vpcs = recorded.Vpcs.map((vpc) => toVpcFacts(vpc, new Set())!);
  return anInventory({ regions: [aRegion({ vpcs })] });
}

function reportOf(inventory: AccountInventory, mode: RunMode, policy = parsePolicy({})) {
  const plan = planRemediation(inventory, policy, NOW);
  const regionOutcomes = [{ account: ACCOUNT, region: "eu-west-1", kind: "done" as const }];
  return buildReport({
    mode,
    plan,
    regions: ["eu-west-1"],
    regionOutcomes,
    apiCalls: 0,
    apiRetries: 0,
    durationMs: 1,
  });
}

describe("shared VPCs (AWS RAM): the recorded DescribeVpcs shape", () => {
  it("keeps each VPC's OwnerId in the inventory", () => {
    expect(recorded.Vpcs.map((vpc) => toVpcFacts(vpc, new Set([SHARED])))).toEqual([
      { vpcId: OWN, isDefault: false, tags: { Name: "payments" }, internetFacing: false, ownerId: ACCOUNT },
      { vpcId: SHARED, isDefault: false, tags: {}, internetFacing: true, ownerId: OWNER },
    ]);
  });

  it("plans the own VPC and gives the shared one not-owned, naming the owner, with no action", () => {
    const plan = planRemediation(participantInventory(), parsePolicy({}), NOW);
    const own = plan.vpcs.find((vpc) => vpc.vpcId === OWN)!;
    const shared = plan.vpcs.find((vpc) => vpc.vpcId === SHARED)!;

    expect(own.status).toBe("non-compliant");
    expect(shared).toMatchObject({ status: "not-owned", actionKeys: [], flowLogIds: [], exception: null });
    expect(shared.reason).toBe(`shared by account ${OWNER} through AWS RAM; the owner's run covers it`);
    const flowLogActions = plan.actions.filter((action) => "vpcIds" in action);
    expect(flowLogActions.length).toBeGreaterThan(0);
    for (const action of flowLogActions) expect(action.vpcIds).not.toContain(SHARED);
  });

  it("touches neither IAM nor CloudWatch Logs when the region's only VPC is shared", () => {
    const inventory = anInventory({
      regions: [aRegion({ vpcs: [aVpc({ vpcId: SHARED, ownerId: OWNER })] })],
    });
    expect(planRemediation(inventory, parsePolicy({}), NOW).actions).toEqual([]);
  });

  it("counts an own VPC whose OwnerId is the account, or absent, as owned", () => {
    for (const ownerId of [ACCOUNT, undefined]) {
      const inventory = anInventory({ regions: [aRegion({ vpcs: [aVpc({ ownerId })] })] });
      expect(planRemediation(inventory, parsePolicy({}), NOW).vpcs[0]!.status).toBe("non-compliant");
    }
  });
});

describe("shared VPCs: not-owned is decided before every other rule", () => {
  const exceptionTags = { [EXCEPTION_TAGS.owner]: "team-a", [EXCEPTION_TAGS.expires]: "2026-07-01" };
  it.each([
    {
      name: "a default VPC with includeDefaultVpcs=false",
      vpc: { isDefault: true },
      policy: { includeDefaultVpcs: false },
    },
    { name: "a valid exception", vpc: { tags: exceptionTags }, policy: {} },
    {
      name: "an expired exception",
      vpc: { tags: { ...exceptionTags, [EXCEPTION_TAGS.expires]: "2026-01-01" } },
      policy: {},
    },
    {
      name: "S3 destination mode",
      vpc: {},
      policy: { destinationType: "s3", logDestination: "arn:aws:s3:::central-flow-logs" },
    },
    { name: "a REJECT flow log in view", vpc: {}, policy: {}, flowLogs: [aFlowLog({ resourceId: SHARED })] },
    {
      name: "a failing flowlog-guard flow log",
      vpc: {},
      policy: {},
      flowLogs: [aFlowLog({ resourceId: SHARED, managed: true, deliverLogsStatus: "FAILED" })],
    },
  ])("$name", ({ vpc, policy, flowLogs }) => {
    const inventory = anInventory({
      regions: [
        aRegion({ vpcs: [aVpc({ vpcId: SHARED, ownerId: OWNER, ...vpc })], flowLogs: flowLogs ?? [] }),
      ],
    });
    const plan = planRemediation(inventory, parsePolicy(policy), NOW);
    expect(plan.vpcs[0]).toMatchObject({ status: "not-owned", actionKeys: [] });
    expect(plan.vpcs[0]!.reason).toContain(OWNER);
    expect(plan.actions).toEqual([]);
  });
});

describe("shared VPCs in reports: counted apart, never non-compliant, never failed", () => {
  it.each(["scan", "dry-run", "fix"] as const)(
    "%s keeps not-owned and counts it in summary.notOwned only",
    (mode) => {
      const report = reportOf(participantInventory(), mode);
      const shared = report.vpcs.find((vpc) => vpc.vpcId === SHARED)!;

      expect(shared.status).toBe("not-owned");
      expect(shared.actions).toEqual([]);
      expect(report.summary).toMatchObject({ vpcs: 2, notOwned: 1, exempt: 0, compliant: 0 });
      expect(report.summary.nonCompliant + report.summary.wouldRemediate + report.summary.failed).toBe(1);
      expect(report.errors.filter((error) => error.vpcId === SHARED)).toEqual([]);
    },
  );

  it("evidence: totals count it as not owned, the findings list it with the owner, Security Hub gets no finding", () => {
    const report = reportOf(participantInventory(), "scan");
    const summary = summarizeCompliance(report);

    expect(summary.totals).toMatchObject({ vpcs: 2, notOwned: 1, nonCompliant: 1, exempt: 0 });
    expect(summary.findings.find((finding) => finding.vpcId === SHARED)?.reason).toContain(OWNER);
    expect(buildFindings(report, NOW.toISOString()).map((finding) => finding.Resources[0]!.Id)).toEqual([
      `arn:aws:ec2:eu-west-1:${ACCOUNT}:vpc/${OWN}`,
    ]);
    const markdown = renderMarkdown(report, {
      generatedAt: NOW.toISOString(),
      policy: parsePolicy({}),
      tool: { name: "flowlog-guard", version: "test" },
    });
    expect(markdown).toContain(
      "| Account | VPCs | Compliant | Remediated | Non-compliant | Exempt | Not owned | Failed |",
    );
    expect(markdown).toContain(`| ${ACCOUNT} | 2 | 0 | 0 | 1 | 0 | 1 | 0 |`);
    expect(markdown).toContain("NOT COMPLIANT: 1 VPC(s) without flow logs");
  });
});
