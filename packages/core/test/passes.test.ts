import { describe, expect, it } from "vitest";
import { silentLogger, type Trigger } from "../src/change-records.ts";
import { passDelayMs, retryableWork } from "../src/executor/passes.ts";
import { RunState } from "../src/executor/run-state.ts";
import type { ActionOutcome } from "../src/executor/types.ts";
import type { Action } from "../src/plan.ts";

const logGroup: Action = {
  kind: "create-log-group",
  key: "log-group:eu-west-1:/vpc/a",
  reason: "missing",
  region: "eu-west-1",
  logGroupName: "/vpc/a",
  vpcIds: ["vpc-a"],
};
const flowLog: Action = {
  kind: "create-flow-log",
  key: "flow-log:eu-west-1:shared:0",
  reason: "no flow log",
  region: "eu-west-1",
  vpcIds: ["vpc-a", "vpc-b", "vpc-c"],
  logGroupName: "/vpc/shared",
  roleArn: "arn:aws:iam::123456789012:role/flowlog-guard/flowlog-guard-delivery",
  trafficType: "ALL",
  maxAggregationInterval: 600,
};

describe("retryableWork", () => {
  it("retries retryable failures, narrowing a flow-log batch to its VPCs that need it", () => {
    const outcomes = new Map<string, ActionOutcome>([
      [
        logGroup.key,
        { key: logGroup.key, kind: logGroup.kind, status: "failed", error: "Throttling", retryable: true },
      ],
      [
        flowLog.key,
        {
          key: flowLog.key,
          kind: flowLog.kind,
          status: "failed",
          perVpc: new Map([
            ["vpc-a", { status: "applied", flowLogId: "fl-1" }],
            ["vpc-b", { status: "failed", error: "RequestLimitExceeded", retryable: true }],
            ["vpc-c", { status: "skipped", error: "log group was not created: Throttling" }],
          ]),
        },
      ],
    ]);
    const again = retryableWork([logGroup, flowLog], outcomes);
    expect(again.map((action) => action.key)).toEqual([logGroup.key, flowLog.key]);
    expect((again[1] as Extract<Action, { kind: "create-flow-log" }>).vpcIds).toEqual(["vpc-b", "vpc-c"]);
  });

  it("nothing when no failure is retryable: lasting failures and their skips are not tried again", () => {
    const outcomes = new Map<string, ActionOutcome>([
      [
        logGroup.key,
        { key: logGroup.key, kind: logGroup.kind, status: "failed", error: "AccessDenied", retryable: false },
      ],
      [
        flowLog.key,
        {
          key: flowLog.key,
          kind: flowLog.kind,
          status: "skipped",
          perVpc: new Map([
            ["vpc-a", { status: "skipped", error: "log group was not created: AccessDenied" }],
          ]),
        },
      ],
    ]);
    expect(retryableWork([logGroup, flowLog], outcomes)).toEqual([]);
  });

  it("work skipped for the time limit is never retried", () => {
    const outcomes = new Map<string, ActionOutcome>([
      [
        logGroup.key,
        { key: logGroup.key, kind: logGroup.kind, status: "failed", error: "Throttling", retryable: true },
      ],
      [
        flowLog.key,
        {
          key: flowLog.key,
          kind: flowLog.kind,
          status: "skipped",
          perVpc: new Map([
            ["vpc-a", { status: "skipped", error: "not started: the run stopped before its time limit" }],
          ]),
        },
      ],
    ]);
    expect(retryableWork([logGroup, flowLog], outcomes).map((action) => action.key)).toEqual([logGroup.key]);
  });

  it("waits grow from about 1 s and stop at 10 s", () => {
    expect(passDelayMs(2, () => 1)).toBe(1_000);
    expect(passDelayMs(3, () => 1)).toBe(2_000);
    expect(passDelayMs(2, () => 0)).toBe(500);
    expect(passDelayMs(20, () => 1)).toBe(10_000);
  });
});

describe("RunState with passes", () => {
  const trigger: Trigger = { kind: "fix-all", runId: "run-1" };
  const site = { region: "eu-west-1", vpcId: "vpc-a", target: { type: "log-group" as const, id: "/vpc/a" } };
  const newState = () =>
    new RunState({ plan: { account: "123456789012" }, trigger, now: () => new Date(0), log: silentLogger });

  it("a retryable failure fixed by a later pass leaves one applied record, not a failed one too", () => {
    const state = newState();
    state.deferRetryableFailures = true;
    state.settle(logGroup, site, { status: "failed", error: "Throttling", retryable: true });
    expect(state.records).toHaveLength(0);
    state.settle(logGroup, site, { status: "applied", before: null, after: { logGroupName: "/vpc/a" } });
    state.flushDeferredFailures();
    expect(state.records.map((record) => record.outcome)).toEqual(["applied"]);
    expect(state.outcomes.get(logGroup.key)?.status).toBe("applied");
  });

  it("a retryable failure no pass fixed is recorded once, as failed, at the end", () => {
    const state = newState();
    state.deferRetryableFailures = true;
    state.settle(logGroup, site, { status: "failed", error: "Throttling", retryable: true });
    state.settle(logGroup, site, { status: "failed", error: "Throttling again", retryable: true });
    state.flushDeferredFailures();
    expect(state.records.map((record) => [record.outcome, record.error])).toEqual([
      ["failed", "Throttling again"],
    ]);
  });

  it("a lasting failure is recorded at once", () => {
    const state = newState();
    state.deferRetryableFailures = true;
    state.settle(logGroup, site, { status: "failed", error: "AccessDenied", retryable: false });
    expect(state.records).toHaveLength(1);
  });
});
