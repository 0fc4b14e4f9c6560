import { describe, expect, it } from "vitest";
import { parsePolicy } from "../src/config.ts";
import { summarizeCompliance } from "../src/evidence/compliance-summary.ts";
import { renderMarkdown } from "../src/evidence/markdown.ts";
import { EXCEPTION_TAGS } from "../src/exceptions.ts";
import type { SubnetFacts } from "../src/model.ts";
import type { Action } from "../src/plan.ts";
import { planRemediation } from "../src/planner.ts";
import { buildReport } from "../src/report.ts";
import { ACCOUNT, aFlowLog, anInventory, aRegion, aVpc } from "./builders.ts";

const NOW = new Date("2026-06-01T12:00:00Z");
const VPC_A = "vpc-0000000000000000a";
const VPC_B = "vpc-0000000000000000b";
const subnet = (subnetId: string, vpcId = VPC_A, tags: Record<string, string> = {}): SubnetFacts => ({
  subnetId,
  vpcId,
  tags,
});
const exemptTags = {
  [EXCEPTION_TAGS.owner]: "team-data",
  [EXCEPTION_TAGS.expires]: "2026-09-01",
  [EXCEPTION_TAGS.reason]: "lab",
};

function plan(region: Parameters<typeof aRegion>[0], policy: Record<string, unknown> = {}) {
  return planRemediation(
    anInventory({ regions: [aRegion(region)] }),
    parsePolicy({ resourceType: "Subnet", ...policy }),
    NOW,
  );
}

const flowLogActions = (actions: Action[]) =>
  actions.filter(
    (action): action is Extract<Action, { kind: "create-flow-log" | "create-s3-flow-log" }> =>
      action.kind === "create-flow-log" || action.kind === "create-s3-flow-log",
  );

describe("Subnet mode evaluation and planning (pure)", () => {
  it("a VPC without a flow log: each uncovered subnet gets a subnet flow log, one call into the VPC's log group", () => {
    const result = plan({ subnets: [subnet("subnet-01"), subnet("subnet-02")] });
    const [action] = flowLogActions(result.actions);
    expect(flowLogActions(result.actions)).toHaveLength(1);
    expect(action).toMatchObject({
      kind: "create-flow-log",
      vpcIds: [VPC_A],
      subnets: [
        { subnetId: "subnet-01", vpcId: VPC_A },
        { subnetId: "subnet-02", vpcId: VPC_A },
      ],
      logGroupName: `/aws/vpc-flow-logs/${VPC_A}`,
    });
    expect(action!.key.startsWith("subnet-flow-log:")).toBe(true);
    const vpc = result.vpcs[0]!;
    expect(vpc.status).toBe("non-compliant");
    expect(vpc.subnets?.map((s) => [s.subnetId, s.status, s.actionKeys.includes(action!.key)])).toEqual([
      ["subnet-01", "non-compliant", true],
      ["subnet-02", "non-compliant", true],
    ]);
    // The log group and the role are planned once for the VPC, not per subnet.
    expect(result.actions.filter((a) => a.kind === "create-log-group")).toHaveLength(1);
    expect(new Set(vpc.actionKeys).size).toBe(vpc.actionKeys.length);
  });

  it("a VPC with a qualifying VPC flow log: compliant, its subnets covered by it, no subnet flow log", () => {
    const result = plan({
      subnets: [subnet("subnet-01")],
      flowLogs: [aFlowLog({ flowLogId: "fl-vpc", resourceId: VPC_A })],
    });
    expect(flowLogActions(result.actions)).toEqual([]);
    expect(result.vpcs[0]).toMatchObject({ status: "compliant", flowLogIds: ["fl-vpc"] });
    expect(result.vpcs[0]!.subnets).toEqual([
      expect.objectContaining({ subnetId: "subnet-01", status: "compliant", flowLogIds: ["fl-vpc"] }),
    ]);
  });

  it("a subnet with its own qualifying flow log is covered; the VPC is compliant when every subnet is covered or exempt", () => {
    const result = plan({
      subnets: [subnet("subnet-01"), subnet("subnet-02", VPC_A, exemptTags)],
      flowLogs: [aFlowLog({ flowLogId: "fl-sub", resourceId: "subnet-01" })],
    });
    expect(flowLogActions(result.actions)).toEqual([]);
    const vpc = result.vpcs[0]!;
    expect(vpc).toMatchObject({ status: "compliant", flowLogIds: ["fl-sub"] });
    expect(vpc.reason).toContain("1 exempt (subnet-02)");
    expect(vpc.subnets?.map((s) => [s.subnetId, s.status])).toEqual([
      ["subnet-01", "compliant"],
      ["subnet-02", "exempt"],
    ]);
    expect(vpc.subnets?.[1]?.exception).toMatchObject({ state: "valid", owner: "team-data" });
  });

  it("an exempt VPC: its subnets are exempt and nothing is planned", () => {
    const result = plan({ vpcs: [aVpc({ tags: exemptTags })], subnets: [subnet("subnet-01")] });
    expect(result.actions).toEqual([]);
    expect(result.vpcs[0]!.status).toBe("exempt");
    expect(result.vpcs[0]!.subnets?.map((s) => s.status)).toEqual(["exempt"]);
  });

  it("a VPC without subnets is compliant in Subnet mode (nothing to log) and gets no flow log", () => {
    const result = plan({ subnets: [] });
    expect(flowLogActions(result.actions)).toEqual([]);
    expect(result.vpcs[0]).toMatchObject({ status: "compliant", subnets: [] });
  });

  it("S3: the uncovered subnets of every VPC of the region share one CreateFlowLogs call", () => {
    const result = plan(
      {
        vpcs: [aVpc(), aVpc({ vpcId: VPC_B })],
        subnets: [subnet("subnet-01"), subnet("subnet-02", VPC_B), subnet("subnet-03", VPC_B)],
      },
      { destinationType: "s3", logDestination: "arn:aws:s3:::archive" },
    );
    const actions = flowLogActions(result.actions);
    expect(actions).toHaveLength(1);
    expect(actions[0]).toMatchObject({ kind: "create-s3-flow-log", vpcIds: [VPC_A, VPC_B] });
    expect(actions[0]!.subnets?.map((s) => s.subnetId)).toEqual(["subnet-01", "subnet-02", "subnet-03"]);
    expect(result.actions.filter((a) => a.kind !== "create-s3-flow-log")).toEqual([]);
  });

  it("batches at 300 subnets per CreateFlowLogs call", () => {
    const subnets = Array.from({ length: 301 }, (_, i) => subnet(`subnet-${String(i).padStart(3, "0")}`));
    const actions = flowLogActions(plan({ subnets }).actions);
    expect(actions.map((a) => a.subnets?.length)).toEqual([300, 1]);
    expect(new Set(actions.map((a) => a.key)).size).toBe(2);
  });

  it("VPC mode ignores subnets entirely: no subnets in the plan, VPC flow logs as before", () => {
    const result = planRemediation(
      anInventory({ regions: [aRegion({ subnets: [subnet("subnet-01")] })] }),
      parsePolicy({}),
      NOW,
    );
    expect(result.vpcs[0]!.subnets).toBeUndefined();
    expect(flowLogActions(result.actions)[0]).toMatchObject({ vpcIds: [VPC_A] });
    expect(flowLogActions(result.actions)[0]!.subnets).toBeUndefined();
    expect(result.account).toBe(ACCOUNT);
  });

  it("report: vpcs[].subnets[] with subnetId, status and flowLogIds (dry run); evidence lists subnets under their VPC", () => {
    const planned = plan({
      subnets: [subnet("subnet-01", VPC_A, { Name: "app" }), subnet("subnet-02", VPC_A, exemptTags)],
    });
    const report = buildReport({
      mode: "dry-run",
      plan: planned,
      regions: ["eu-west-1"],
      regionOutcomes: [{ account: ACCOUNT, region: "eu-west-1", kind: "done" }],
      apiCalls: 0,
      apiRetries: 0,
      durationMs: 0,
    });
    expect(report.vpcs[0]).toMatchObject({ status: "would-remediate" });
    expect(report.vpcs[0]!.subnets).toEqual([
      expect.objectContaining({
        subnetId: "subnet-01",
        name: "app",
        status: "would-remediate",
        flowLogIds: [],
      }),
      expect.objectContaining({ subnetId: "subnet-02", status: "exempt", flowLogIds: [] }),
    ]);
    const findings = summarizeCompliance(report).findings;
    expect(findings.map((f) => [f.vpcId, f.subnetId, f.status])).toEqual([
      [VPC_A, "subnet-02", "exempt"],
      [VPC_A, undefined, "would-remediate"],
    ]);
    const markdown = renderMarkdown(report, {
      generatedAt: NOW.toISOString(),
      policy: parsePolicy({ resourceType: "Subnet" }),
      tool: { name: "flowlog-guard", version: "test" },
    });
    expect(markdown).toContain(`| exempt | ${ACCOUNT} | eu-west-1 | ${VPC_A} / subnet-02 |`);
    expect(markdown).toContain("| Flow logs on | subnets (Subnet mode) |");
  });
});
