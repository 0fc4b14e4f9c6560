import { describe, expect, it } from "vitest";
import type { ChangeRecord } from "../src/change-records.ts";
import { silentLogger } from "../src/change-records.ts";
import { RunState } from "../src/executor/run-state.ts";
import type { Action } from "../src/plan.ts";

const flowLog: Action = {
  kind: "create-flow-log",
  key: "flow-log:eu-west-1:/g",
  reason: "no flow log",
  region: "eu-west-1",
  vpcIds: ["vpc-a", "vpc-b"],
  logGroupName: "/g",
  roleArn: "arn:aws:iam::123456789012:role/r",
  trafficType: "REJECT",
  maxAggregationInterval: 600,
};
const logGroup: Action = {
  kind: "create-log-group",
  key: "log-group:eu-west-1:/g",
  reason: "missing",
  region: "eu-west-1",
  logGroupName: "/g",
  vpcIds: ["vpc-a"],
};
const groupSite = { region: "eu-west-1", vpcId: "vpc-a", target: { type: "log-group" as const, id: "/g" } };
const vpcSite = (vpcId: string) => ({
  region: "eu-west-1",
  vpcId,
  target: { type: "flow-log" as const, id: vpcId },
});

function newState() {
  const sunk: { record: ChangeRecord; count: number }[] = [];
  const state = new RunState({
    plan: { account: "123456789012" },
    trigger: { kind: "cli", runId: "r1" },
    now: () => new Date("2026-01-01T00:00:00Z"),
    log: silentLogger,
    onRecord: (record, count) => sunk.push({ record, count }),
  });
  return { state, sunk };
}

describe("RunState: an outcome and its change record in one call", () => {
  it("applied: outcome applied, one applied record with before/after, handed to the sink", () => {
    const { state, sunk } = newState();
    state.settle(logGroup, groupSite, { status: "applied", before: null, after: { logGroupName: "/g" } });
    expect(state.outcomes.get(logGroup.key)).toMatchObject({ status: "applied", error: undefined });
    expect(state.records).toHaveLength(1);
    expect(state.records[0]).toMatchObject({
      outcome: "applied",
      action: "create-log-group",
      vpcId: "vpc-a",
      after: { logGroupName: "/g" },
      time: "2026-01-01T00:00:00.000Z",
    });
    expect(sunk).toEqual([{ record: state.records[0], count: 1 }]);
  });

  it("failed: outcome failed with the error, and a failed record with the same error", () => {
    const { state } = newState();
    state.settle(logGroup, groupSite, { status: "failed", error: "AccessDenied: no" });
    expect(state.outcomes.get(logGroup.key)).toMatchObject({ status: "failed", error: "AccessDenied: no" });
    expect(state.records.map((r) => [r.outcome, r.error, r.after])).toEqual([
      ["failed", "AccessDenied: no", null],
    ]);
    expect(state.failureOf(logGroup.key)).toBe("AccessDenied: no");
  });

  it("unchanged and skipped: an outcome, no record", () => {
    const { state, sunk } = newState();
    state.settle(logGroup, groupSite, { status: "unchanged" });
    state.skip(flowLog, "log group was not created", ["vpc-a", "vpc-b"]);
    expect(state.outcomes.get(logGroup.key)?.status).toBe("unchanged");
    expect(state.outcomes.get(flowLog.key)).toMatchObject({
      status: "skipped",
      error: "log group was not created",
    });
    expect([...state.outcomes.get(flowLog.key)!.perVpc!.values()].map((o) => o.status)).toEqual([
      "skipped",
      "skipped",
    ]);
    expect(state.records).toEqual([]);
    expect(sunk).toEqual([]);
    expect(state.failureOf(logGroup.key)).toBeUndefined();
  });

  it("per VPC: the action is failed if any VPC failed, else applied if any was; each VPC has its own record", () => {
    const { state } = newState();
    state.settleVpc(flowLog, vpcSite("vpc-a"), { status: "unchanged", flowLogId: "fl-old" });
    expect(state.outcomes.get(flowLog.key)?.status).toBe("unchanged");
    state.settleVpc(flowLog, vpcSite("vpc-b"), {
      status: "applied",
      flowLogId: "fl-1",
      before: null,
      after: {},
    });
    expect(state.outcomes.get(flowLog.key)?.status).toBe("applied");
    state.settleVpc(flowLog, vpcSite("vpc-a"), { status: "failed", error: "gone", flowLogId: "fl-old" });
    expect(state.outcomes.get(flowLog.key)).toMatchObject({ status: "failed", error: "gone" });
    expect(Object.fromEntries(state.outcomes.get(flowLog.key)!.perVpc!)).toEqual({
      "vpc-a": { status: "failed", error: "gone", flowLogId: "fl-old" },
      "vpc-b": { status: "applied", flowLogId: "fl-1", error: undefined },
    });
    expect(state.records.map((r) => [r.vpcId, r.outcome])).toEqual([
      ["vpc-b", "applied"],
      ["vpc-a", "failed"],
    ]);
  });
});
