import { describe, expect, it } from "vitest";
import { madeByThisRun } from "../src/executor/flow-log.ts";
import {
  classifyCreateFlowLogs,
  classifyReadBack,
  existingByVpc,
  heldDestination,
  isIamPropagationError,
  pairWithoutReading,
  verdictsOf,
} from "../src/executor/flow-log-outcomes.ts";
import { RUN_TAG_KEY } from "../src/naming.ts";

const classified = (vpcIds: string[], reply: Parameters<typeof classifyCreateFlowLogs>[1]) => {
  const batch = classifyCreateFlowLogs(vpcIds, reply);
  if (batch.kind !== "classified") throw new Error(`expected a classified batch, got ${batch.kind}`);
  return batch;
};

describe("classifyCreateFlowLogs", () => {
  it("a success for every VPC: all await pairing with the created ids", () => {
    const batch = classified(["vpc-a", "vpc-b"], {
      kind: "response",
      flowLogIds: ["fl-1", "fl-2"],
      unsuccessful: [],
    });
    expect(batch).toEqual({
      kind: "classified",
      failed: new Map(),
      retryable: new Set(),
      existing: [],
      created: ["fl-1", "fl-2"],
      awaitingPairing: ["vpc-a", "vpc-b"],
    });
  });

  it("Unsuccessful items: already-exists is not a failure, any other code fails that VPC only", () => {
    const batch = classified(["vpc-a", "vpc-b", "vpc-c"], {
      kind: "response",
      flowLogIds: ["fl-3"],
      unsuccessful: [
        {
          ResourceId: "vpc-a",
          Error: { Code: "FlowLogAlreadyExists", Message: "This flow log already exists" },
        },
        {
          ResourceId: "vpc-b",
          Error: { Code: "InvalidVpcID.NotFound", Message: "The vpc ID 'vpc-b' does not exist" },
        },
      ],
    });
    expect(batch.existing).toEqual(["vpc-a"]);
    expect(batch.failed).toEqual(
      new Map([["vpc-b", "InvalidVpcID.NotFound: The vpc ID 'vpc-b' does not exist"]]),
    );
    expect(batch.awaitingPairing).toEqual(["vpc-c"]);
    expect(batch.created).toEqual(["fl-3"]);
  });

  it("a thrown error fails every VPC of the batch with its message", () => {
    const batch = classified(["vpc-a", "vpc-b"], {
      kind: "error",
      message: "InvalidParameter: bad log group",
    });
    expect(batch.failed).toEqual(
      new Map([
        ["vpc-a", "InvalidParameter: bad log group"],
        ["vpc-b", "InvalidParameter: bad log group"],
      ]),
    );
    expect(batch.awaitingPairing).toEqual([]);
    expect(batch.existing).toEqual([]);
  });

  it("already-exists thrown for a batch of several VPCs: split and ask VPC by VPC", () => {
    expect(
      classifyCreateFlowLogs(["vpc-a", "vpc-b"], {
        kind: "error",
        message: "FlowLogAlreadyExists: already exists",
      }),
    ).toEqual({ kind: "split" });
  });

  it("already-exists thrown for one VPC: that VPC already has its flow log", () => {
    const batch = classified(["vpc-a"], {
      kind: "error",
      message: "InvalidParameter: existing flow log for vpc-a",
    });
    expect(batch.existing).toEqual(["vpc-a"]);
    expect(batch.failed.size).toBe(0);
  });

  it("recognises the IAM propagation refusal (retried), and nothing else", () => {
    expect(isIamPropagationError("InvalidParameter: Unable to assume given IAM role: 'arn:...'")).toBe(true);
    expect(isIamPropagationError("InvalidParameter: bad log group")).toBe(false);
  });
});

describe("pairWithoutReading and verdictsOf", () => {
  it("one VPC and one id pair without a read; several ids need a read; none needs nothing", () => {
    const one = classified(["vpc-a"], { kind: "response", flowLogIds: ["fl-1"], unsuccessful: [] });
    expect(pairWithoutReading(one)).toEqual(new Map([["vpc-a", "fl-1"]]));
    const two = classified(["vpc-a", "vpc-b"], {
      kind: "response",
      flowLogIds: ["fl-1", "fl-2"],
      unsuccessful: [],
    });
    expect(pairWithoutReading(two)).toBeUndefined();
    const none = classified(["vpc-a"], { kind: "error", message: "InternalError: boom" });
    expect(pairWithoutReading(none)).toEqual(new Map());
  });

  it("gives each VPC one verdict: failed, exists (with its id when found), created, or success not found", () => {
    const batch = classified(["vpc-a", "vpc-b", "vpc-c", "vpc-d"], {
      kind: "response",
      flowLogIds: ["fl-3"],
      unsuccessful: [
        { ResourceId: "vpc-a", Error: { Code: "FlowLogAlreadyExists", Message: "already exists" } },
        { ResourceId: "vpc-b", Error: { Code: "AccessDenied", Message: "no" } },
      ],
    });
    const verdicts = verdictsOf(
      ["vpc-a", "vpc-b", "vpc-c", "vpc-d"],
      batch,
      new Map([["vpc-a", { flowLogId: "fl-old", ours: false }]]),
      new Map([["vpc-c", "fl-3"]]),
    );
    expect(Object.fromEntries(verdicts)).toEqual({
      "vpc-a": { kind: "exists", flowLogId: "fl-old", ours: false },
      "vpc-b": { kind: "failed", error: "AccessDenied: no", retryable: false },
      "vpc-c": { kind: "created", flowLogId: "fl-3" },
      "vpc-d": {
        kind: "failed",
        error: "CreateFlowLogs reported success but no flow log for this VPC was found",
      },
    });
  });

  it("a destination held by the VPC's flow log of another traffic type (REJECT where ALL is asked) fails, with the fix", () => {
    const found = [
      { vpcId: "vpc-a", flowLogId: "fl-reject", trafficType: "REJECT", tags: [] },
      { vpcId: "vpc-b", flowLogId: "fl-reject-b", trafficType: "REJECT", tags: [] },
      {
        vpcId: "vpc-b",
        flowLogId: "fl-all-b",
        trafficType: "ALL",
        tags: [{ Key: RUN_TAG_KEY, Value: "run-1" }],
      },
    ];
    const existing = existingByVpc(found, "ALL", "run-1");
    expect(Object.fromEntries(existing)).toEqual({
      "vpc-a": { flowLogId: "fl-reject", ours: false, otherTraffic: "REJECT" },
      "vpc-b": { flowLogId: "fl-all-b", ours: true },
    });
    const batch = classified(["vpc-a", "vpc-b"], {
      kind: "response",
      flowLogIds: [],
      unsuccessful: ["vpc-a", "vpc-b"].map((ResourceId) => ({
        ResourceId,
        Error: { Code: "FlowLogAlreadyExists", Message: "already exists" },
      })),
    });
    const verdicts = verdictsOf(["vpc-a", "vpc-b"], batch, existing, new Map());
    expect(verdicts.get("vpc-a")).toEqual({ kind: "failed", error: heldDestination("fl-reject", "REJECT") });
    expect(heldDestination("fl-reject", "REJECT")).toContain("fl-reject (REJECT traffic) holds it");
    expect(verdicts.get("vpc-b")).toEqual({ kind: "exists", flowLogId: "fl-all-b", ours: true });
  });

  it("an existing flow log whose id is not found (another destination) is still not a failure", () => {
    const batch = classified(["vpc-a"], { kind: "error", message: "FlowLogAlreadyExists: already exists" });
    expect(verdictsOf(["vpc-a"], batch, new Map(), new Map()).get("vpc-a")).toEqual({
      kind: "exists",
      flowLogId: undefined,
    });
  });
});

describe("retryable failures and flow logs this run made", () => {
  it("a thrown retryable error makes every VPC of the batch retryable; a lasting one none", () => {
    const throttled = classified(["vpc-a", "vpc-b"], {
      kind: "error",
      message: "RequestLimitExceeded: Request limit exceeded.",
      retryable: true,
    });
    expect([...throttled.retryable]).toEqual(["vpc-a", "vpc-b"]);
    const denied = classified(["vpc-a"], {
      kind: "error",
      message: "UnauthorizedOperation",
      retryable: false,
    });
    expect([...denied.retryable]).toEqual([]);
  });

  it("Unsuccessful items: throttling and IAM propagation are retryable, a missing VPC is not", () => {
    const batch = classified(["vpc-a", "vpc-b", "vpc-c"], {
      kind: "response",
      flowLogIds: [],
      unsuccessful: [
        { ResourceId: "vpc-a", Error: { Code: "Client.RequestLimitExceeded", Message: "slow down" } },
        { ResourceId: "vpc-b", Error: { Code: "InvalidVpcID.NotFound", Message: "gone" } },
        { ResourceId: "vpc-c", Error: { Code: "400", Message: "Unable to assume given IAM role" } },
      ],
    });
    expect([...batch.retryable].sort()).toEqual(["vpc-a", "vpc-c"]);
    const verdicts = verdictsOf(["vpc-a", "vpc-b", "vpc-c"], batch, new Map(), new Map());
    expect(verdicts.get("vpc-b")).toEqual({
      kind: "failed",
      error: "InvalidVpcID.NotFound: gone",
      retryable: false,
    });
  });

  it("an existing flow log with this run's tag was made by this run (a lost response): read back and recorded", () => {
    const batch = classified(["vpc-a", "vpc-b"], {
      kind: "response",
      flowLogIds: [],
      unsuccessful: [
        { ResourceId: "vpc-a", Error: { Code: "FlowLogAlreadyExists", Message: "already exists" } },
        { ResourceId: "vpc-b", Error: { Code: "FlowLogAlreadyExists", Message: "already exists" } },
      ],
    });
    const verdicts = verdictsOf(
      ["vpc-a", "vpc-b"],
      batch,
      new Map([
        ["vpc-a", { flowLogId: "fl-ours", ours: true }],
        ["vpc-b", { flowLogId: "fl-theirs", ours: false }],
      ]),
      new Map(),
    );
    expect(madeByThisRun(verdicts.get("vpc-a")!)).toBe("fl-ours");
    expect(madeByThisRun(verdicts.get("vpc-b")!)).toBeUndefined();
    expect(madeByThisRun({ kind: "created", flowLogId: "fl-new" })).toBe("fl-new");
  });
});

describe("classifyReadBack", () => {
  it("applied only when the created flow log is seen", () => {
    expect(classifyReadBack("fl-1", { kind: "read", found: new Set(["fl-1"]) })).toEqual({
      status: "applied",
    });
  });

  it("success whose flow log is not found on read-back: failed, naming the flow log", () => {
    expect(classifyReadBack("fl-1", { kind: "read", found: new Set(["fl-2"]) })).toEqual({
      status: "failed",
      error: "flow log fl-1 was created but could not be read back",
    });
  });

  it("read-back failed: failed, with the read's error", () => {
    expect(classifyReadBack("fl-1", { kind: "failed", error: "UnauthorizedOperation: denied" })).toEqual({
      status: "failed",
      error: "flow log fl-1 was created but could not be read back: UnauthorizedOperation: denied",
    });
  });
});
