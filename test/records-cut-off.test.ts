import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { type ChangeRecord, createClientPool } from "@flowlog-guard/core";
import { createFixAllHandler, STOP_MARGIN_MS } from "@flowlog-guard/functions/fix-all-handler";
import {
  createRemediateHandler,
  REMEDIATE_STOP_MARGIN_MS,
  type RemediateBatchResult,
} from "@flowlog-guard/functions/remediate-handler";
import { createRuntime } from "@flowlog-guard/functions/runtime";
import { afterEach, describe, expect, it } from "vitest";
import { captureLedger, createVpc, flowLogsOf } from "./support/aws.ts";
import { FIXTURE_VPC, fixture } from "./support/events.ts";
import { ec2Error, type FaultProxy, startFaultProxy } from "./support/fault-proxy.ts";
import { appliedChanges, changesMadeByRun } from "./support/run-changes.ts";

/**
 * #11 item 9, "no change without a record": a run cut off by its time limit publishes the record of
 * every change it made, and only those. Each test compares the changes present in moto (found by the
 * run's `flowlog-guard:run-id` tag) with the applied records that reached the ledger bus: one to one.
 */

const REGION = "eu-west-1";
const LEDGER = `arn:aws:events:${REGION}:123456789012:event-bus/ledger`;

/** CreateFlowLogs refused for as long as the test runs: a delivery role that never propagates. */
const roleNeverPropagates = () =>
  startFaultProxy(process.env.AWS_ENDPOINT_URL!, [
    (call) =>
      call.operation === "CreateFlowLogs"
        ? ec2Error(
            400,
            "InvalidParameter",
            "Unable to assume given IAM role: 'arn:aws:iam::123456789012:role/flowlog-guard/flowlog-guard-delivery'",
          )
        : undefined,
  ]);

let proxy: FaultProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

describe("#11 item 9: the records of a run cut off by its time limit match its changes one to one", () => {
  it("remediate: the IAM-propagation wait stops before the Lambda's limit, records flushed, the event kept for a retry", async () => {
    const runtime = await createRuntime({ FLOWLOG_GUARD_LEDGER_BUS: LEDGER });
    const ledger = await captureLedger(REGION, "ledger", "cut-off-ledger");
    const vpcId = await createVpc(runtime.pool, REGION);
    proxy = await roleNeverPropagates();
    const remediate = createRemediateHandler({
      ...runtime,
      pool: createClientPool({ apiRate: 0, endpoint: proxy.endpoint }),
    });
    // A function with 4 s of work left before its stop margin; Lambda would end it at 0.
    const endsAt = Date.now() + REMEDIATE_STOP_MARGIN_MS + 4_000;
    const context = { getRemainingTimeInMillis: () => endsAt - Date.now() };

    const outcome = await remediate(
      fixture("ec2-create-vpc-cloudformation", { [FIXTURE_VPC]: vpcId }),
      context,
    ).catch((error: Error) => error);
    const leftAtReturn = context.getRemainingTimeInMillis();

    // Thrown, so that Lambda retries it and the on-failure destination keeps it.
    expect(outcome).toBeInstanceOf(Error);
    expect((outcome as Error).message).toMatch(
      /could not be fixed.*not created before the run's time limit/s,
    );
    // It kept retrying CreateFlowLogs up to its stop point, and returned well before the limit.
    expect(proxy.log.filter((entry) => entry.call.operation === "CreateFlowLogs").length).toBeGreaterThan(1);
    expect(leftAtReturn).toBeLessThanOrEqual(REMEDIATE_STOP_MARGIN_MS + 500);
    expect(leftAtReturn).toBeGreaterThan(REMEDIATE_STOP_MARGIN_MS - 10_000);

    const records = (await ledger.drain()).map((event) => event.detail as ChangeRecord);
    const runId = records[0]!.trigger.runId;
    expect(new Set(records.map((record) => record.trigger.runId))).toEqual(new Set([runId]));
    const made = await changesMadeByRun(runtime.pool, REGION, runId);
    expect(appliedChanges(records, runId)).toEqual(made);
    expect(made.map((change) => change.split(" ")[0])).toEqual([
      "create-log-group",
      "create-role",
      "put-retention-policy",
      "put-role-policy",
    ]);
    expect(await flowLogsOf(runtime.pool, REGION, vpcId)).toHaveLength(0);
    const failed = records.filter((record) => record.outcome === "failed");
    expect(failed).toEqual([
      expect.objectContaining({
        action: "create-flow-log",
        vpcId,
        error: expect.stringMatching(/^not created before the run's time limit.*Unable to assume/),
      }),
    ]);
  });

  it("fix-all: a run whose time limit comes mid-way records exactly the changes it made before stopping", async () => {
    const runtime = await createRuntime({ FLOWLOG_GUARD_LEDGER_BUS: LEDGER });
    const ledger = await captureLedger(REGION, "ledger", "cut-off-ledger");
    const vpcIds: string[] = [];
    for (let index = 0; index < 12; index++)
      vpcIds.push(await createVpc(runtime.pool, REGION, {}, `10.${index}.0.0/16`));
    // The time limit comes (deterministically) as soon as the first CreateFlowLogs call is made.
    const flowLogCalls = () => runtime.pool.counter.count("EC2", "CreateFlowLogs");
    const context = {
      getRemainingTimeInMillis: () => (flowLogCalls() > 0 ? STOP_MARGIN_MS - 1 : 900_000),
    };

    const result = await createFixAllHandler(runtime)({ regions: [REGION] }, context);

    const records = (await ledger.drain()).map((event) => event.detail as ChangeRecord);
    const runId = records[0]!.trigger.runId;
    const made = await changesMadeByRun(runtime.pool, REGION, runId);
    expect(appliedChanges(records, runId)).toEqual(made);
    expect(result.summary).toMatchObject({ recordsPublished: records.length, recordsUndelivered: 0 });
    // Cut off mid-way: some VPCs got their flow log, others not even a log group.
    const flowLogs = made.filter((change) => change.startsWith("create-flow-log")).length;
    const logGroups = made.filter((change) => change.startsWith("create-log-group")).length;
    expect(flowLogs).toBeGreaterThan(0);
    expect(flowLogs).toBeLessThan(vpcIds.length + 1);
    expect(logGroups).toBeLessThan(vpcIds.length + 1);
    // Every log group it created got its retention, even after the stop.
    expect(made.filter((change) => change.startsWith("put-retention-policy")).length).toBe(logGroups);
    expect(result.summary.failed).toBe(vpcIds.length + 1 - flowLogs);
    expect(result.errors.some((error) => /not started: the run stopped/.test(error.message))).toBe(true);
  });

  it("remediate killed hard mid-run (SIGKILL, as Lambda at its limit): the records of what it changed are already on the bus", async () => {
    const runtime = await createRuntime({});
    const ledger = await captureLedger(REGION, "ledger", "cut-off-ledger");
    const vpcId = await createVpc(runtime.pool, REGION);
    proxy = await roleNeverPropagates();
    const child = spawn(
      process.execPath,
      [fileURLToPath(new URL("./support/remediate-process.ts", import.meta.url))],
      {
        env: {
          ...process.env,
          AWS_ENDPOINT_URL: proxy.endpoint,
          AWS_REGION: REGION,
          FLOWLOG_GUARD_LEDGER_BUS: LEDGER,
        },
        stdio: ["pipe", "pipe", "inherit"],
      },
    );
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.once("exit", (_code, signal) => resolve(signal)),
    );
    child.stdin.end(JSON.stringify(fixture("ec2-create-vpc-cloudformation", { [FIXTURE_VPC]: vpcId })));

    // Killed while it waits for the role: after CreateFlowLogs was refused twice, and 3 s more.
    const flowLogCalls = () => proxy!.log.filter((entry) => entry.call.operation === "CreateFlowLogs").length;
    const until = Date.now() + 60_000;
    while (flowLogCalls() < 2 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 100));
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    child.kill("SIGKILL");

    expect(await exited).toBe("SIGKILL");
    expect(output).toBe("handling\n");
    // PutEvents calls the process made before it died may still be delivering to the queue (moto
    // delivers entry by entry): read until the ledger holds what was made, for at most 30 s.
    const records: ChangeRecord[] = [];
    let made: string[] = [];
    for (const until = Date.now() + 30_000; Date.now() < until; ) {
      records.push(...(await ledger.drain()).map((event) => event.detail as ChangeRecord));
      const runId = records[0]?.trigger.runId;
      made = runId ? await changesMadeByRun(runtime.pool, REGION, runId) : [];
      if (runId && appliedChanges(records, runId).join() === made.join()) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(records.length).toBeGreaterThan(0);
    const runId = records[0]!.trigger.runId;
    expect(made.map((change) => change.split(" ")[0])).toEqual([
      "create-log-group",
      "create-role",
      "put-retention-policy",
      "put-role-policy",
    ]);
    expect(appliedChanges(records, runId)).toEqual(made);
  });

  it("remediate, SQS batch: past its stop point no event is started; each message is returned for a retry", async () => {
    const runtime = await createRuntime({ FLOWLOG_GUARD_LEDGER_BUS: LEDGER });
    const vpcIds = [
      await createVpc(runtime.pool, REGION),
      await createVpc(runtime.pool, REGION, {}, "10.1.0.0/16"),
    ];
    const batch = {
      Records: vpcIds.map((vpcId, index) => ({
        messageId: `m-${index}`,
        eventSource: "aws:sqs",
        body: JSON.stringify(fixture("ec2-create-vpc-cloudformation", { [FIXTURE_VPC]: vpcId })),
      })),
    };
    const writesBefore = writeCalls(runtime);
    const context = { getRemainingTimeInMillis: () => REMEDIATE_STOP_MARGIN_MS - 1 };

    const result = (await createRemediateHandler(runtime)(batch, context)) as RemediateBatchResult;

    expect(result.batchItemFailures).toEqual([{ itemIdentifier: "m-0" }, { itemIdentifier: "m-1" }]);
    expect(result.results.map((item) => item.outcome)).toEqual(["not-started", "not-started"]);
    expect(writeCalls(runtime)).toBe(writesBefore);
    for (const vpcId of vpcIds) expect(await flowLogsOf(runtime.pool, REGION, vpcId)).toHaveLength(0);
  });
});

/** Calls that change something, made through the runtime's clients so far. */
function writeCalls(runtime: { pool: { counter: { byOperation(): Record<string, number> } } }): number {
  return Object.entries(runtime.pool.counter.byOperation())
    .filter(([operation]) => /:(Create|Put|Update)/.test(operation))
    .reduce((sum, [, count]) => sum + count, 0);
}
