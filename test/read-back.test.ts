import {
  CHANGE_RECORD_DETAIL_TYPE,
  CHANGE_RECORD_SOURCE,
  type ChangeRecord,
  createClientPool,
  parsePolicy,
  type RunReport,
  runRemediation,
} from "@flowlog-guard/core";
import { describe, expect, it } from "vitest";
import { createBusToQueue, createVpc, flowLogsOf, noSleep, testPool } from "./support/aws.ts";
import { ec2Error, type Fault, type FaultRule, startFaultProxy } from "./support/fault-proxy.ts";
import { motoEndpoint } from "./support/moto.ts";

const REGION = "eu-west-1";
const LEDGER = "flowlog-guard-ledger";

/** DescribeFlowLogs answers with `fault` once CreateFlowLogs has been called (planning reads pass). */
function afterCreate(fault: Fault): FaultRule {
  let created = false;
  return (call) => {
    if (call.operation === "CreateFlowLogs") created = true;
    return created && call.operation === "DescribeFlowLogs" ? fault : undefined;
  };
}

const EMPTY_DESCRIBE: Fault = {
  kind: "respond",
  status: 200,
  contentType: "text/xml;charset=UTF-8",
  body: `<?xml version="1.0" encoding="UTF-8"?>\n<DescribeFlowLogsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>00000000-0000-4000-8000-000000000000</requestId><flowLogSet/></DescribeFlowLogsResponse>`,
};

async function fixThroughProxy(
  vpcIds: string[],
  rule: FaultRule,
): Promise<{ report: RunReport; ledger: ChangeRecord[] }> {
  const capture = await createBusToQueue(testPool(), REGION, {
    bus: LEDGER,
    pattern: { source: [CHANGE_RECORD_SOURCE], "detail-type": [CHANGE_RECORD_DETAIL_TYPE] },
  });
  const proxy = await startFaultProxy(motoEndpoint(), [rule]);
  try {
    const report = await runRemediation({
      policy: parsePolicy({ ledgerBus: LEDGER }),
      regions: [REGION],
      vpcIds,
      mode: "fix",
      trigger: { kind: "cli", runId: "read-back" },
      pool: createClientPool({ apiRate: 0, endpoint: proxy.endpoint, maxAttempts: 1 }),
      sleep: noSleep,
    });
    const ledger = ((await capture.drain()) as { detail: ChangeRecord }[]).map((event) => event.detail);
    return { report, ledger };
  } finally {
    await proxy.close();
  }
}

/** The flow-log record of a VPC, as the report shows it and as the ledger received it. */
function flowLogRecords(report: RunReport, ledger: ChangeRecord[], vpcId: string) {
  const isFlowLog = (record: ChangeRecord) => record.action === "create-flow-log" && record.vpcId === vpcId;
  return {
    reported: report.vpcs.find((vpc) => vpc.vpcId === vpcId)!.changes.filter(isFlowLog),
    delivered: ledger.filter(isFlowLog),
  };
}

describe("a flow log that is created but not read back: report and ledger agree", () => {
  it("read-back finds nothing: the VPC is failed, and so is its one change record", async () => {
    const vpcId = await createVpc(testPool(), REGION);

    const { report, ledger } = await fixThroughProxy([vpcId], afterCreate(EMPTY_DESCRIBE));

    const vpc = report.vpcs.find((entry) => entry.vpcId === vpcId)!;
    expect(vpc.status).toBe("failed");
    expect(vpc.reason).toContain("could not be read back");
    const { reported, delivered } = flowLogRecords(report, ledger, vpcId);
    expect(reported).toHaveLength(1);
    expect(reported[0]).toMatchObject({ outcome: "failed", error: expect.stringContaining("read back") });
    expect(delivered).toEqual(reported);
    expect(report.summary).toMatchObject({ remediated: 0, failed: 1 });
    // The change count counts applied records: the unverified flow log is not one of them.
    expect(report.summary.changes).toBe(ledger.filter((record) => record.outcome === "applied").length);
  });

  it("read-back call fails: the run still returns, the VPC and its record are failed, and the next run sees the flow log", async () => {
    const vpcId = await createVpc(testPool(), REGION);

    const { report, ledger } = await fixThroughProxy(
      [vpcId],
      afterCreate(
        ec2Error(403, "UnauthorizedOperation", "You are not authorized to perform this operation."),
      ),
    );

    const vpc = report.vpcs.find((entry) => entry.vpcId === vpcId)!;
    expect(vpc.status).toBe("failed");
    expect(vpc.reason).toContain("UnauthorizedOperation");
    const { reported, delivered } = flowLogRecords(report, ledger, vpcId);
    expect(reported).toHaveLength(1);
    expect(reported[0]).toMatchObject({ outcome: "failed" });
    expect(reported[0]!.target.id).toMatch(/^fl-/);
    expect(delivered).toEqual(reported);

    // The flow log exists: the next run reads it and changes nothing.
    const flowLogs = await flowLogsOf(testPool(), REGION, vpcId);
    expect(flowLogs).toHaveLength(1);
    expect(reported[0]!.target.id).toBe(flowLogs[0]!.FlowLogId);
    const next = await runRemediation({
      policy: parsePolicy({}),
      regions: [REGION],
      vpcIds: [vpcId],
      mode: "fix",
      trigger: { kind: "cli", runId: "read-back-2" },
      pool: testPool(),
      sleep: noSleep,
    });
    expect(next.vpcs[0]).toMatchObject({ vpcId, status: "compliant", changes: [] });
  });
});
