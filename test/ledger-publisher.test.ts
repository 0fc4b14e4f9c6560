import {
  type ChangeRecord,
  createClientPool,
  LEDGER_MAX_IN_FLIGHT,
  LedgerPublisher,
  newChangeRecord,
} from "@flowlog-guard/core";
import { afterEach, describe, expect, it } from "vitest";
import { captureLedger, noSleep } from "./support/aws.ts";
import {
  type FaultProxy,
  firstCalls,
  mostInFlight,
  startFaultProxy,
  throttling,
} from "./support/fault-proxy.ts";

const REGION = "eu-west-1";
const BUS = "ledger";

function aRecord(index: number): ChangeRecord {
  return newChangeRecord({
    actionKey: `log-group:${REGION}:/vpc/${index}`,
    time: new Date().toISOString(),
    account: "123456789012",
    region: REGION,
    vpcId: `vpc-${index}`,
    action: "create-log-group",
    target: { type: "log-group", id: `/vpc/${index}` },
    before: null,
    after: { logGroupName: `/vpc/${index}` },
    reason: "no flow log",
    trigger: { kind: "cli", runId: "run-ledger" },
    outcome: "applied",
  });
}

const idsOf = (events: Record<string, unknown>[]) =>
  events.map((event) => (event.detail as ChangeRecord).recordId).sort();

/** The record ids of each PutEvents request that reached the proxy, in arrival order. */
const putEventsSent = (faults: FaultProxy) =>
  faults.log
    .filter((entry) => entry.call.operation === "PutEvents")
    .map((entry) =>
      (JSON.parse(entry.call.body) as { Entries: { Detail: string }[] }).Entries.map(
        (item) => (JSON.parse(item.Detail) as ChangeRecord).recordId,
      ),
    );

/** Every PutEvents waits `delayMs` before the proxy forwards it: a bus that answers slowly. */
const slowPutEvents =
  (delayMs: number) =>
  (call: { operation: string }): { kind: "pass"; delayMs: number } | undefined =>
    call.operation === "PutEvents" ? { kind: "pass", delayMs } : undefined;

let proxy: FaultProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

describe("LedgerPublisher: change records published as they are written", () => {
  it("sends a full batch at once and the rest after the flush interval, before close(): 12 records, 2 calls", async () => {
    const ledger = await captureLedger(REGION, BUS, "publisher-ledger");
    proxy = await startFaultProxy(process.env.AWS_ENDPOINT_URL!, []);
    const pool = createClientPool({ apiRate: 0, endpoint: proxy.endpoint });
    const publisher = new LedgerPublisher({
      clients: pool.clientsFor(REGION),
      bus: BUS,
      flushIntervalMs: 300,
    });
    const records = Array.from({ length: 12 }, (_, index) => aRecord(index));
    const sent = () => putEventsSent(proxy!);
    const waitForRequests = async (count: number) => {
      for (const until = Date.now() + 60_000; sent().length < count && Date.now() < until; )
        await new Promise((resolve) => setTimeout(resolve, 20));
    };

    for (const record of records.slice(0, 10)) publisher.add(record);
    await waitForRequests(1);
    for (const record of records.slice(10)) publisher.add(record);
    await waitForRequests(2);

    expect(sent()).toEqual([
      records.slice(0, 10).map((record) => record.recordId),
      records.slice(10).map((record) => record.recordId),
    ]);
    expect(await publisher.close()).toEqual({ bus: BUS, published: 12, undelivered: [] });
    expect(pool.counter.count("EventBridge", "PutEvents")).toBe(2);
    expect(idsOf(await ledger.drain())).toEqual(records.map((record) => record.recordId).sort());
  });

  it("sends again only the entries refused for a passing reason; a lasting refusal is reported, in full", async () => {
    const ledger = await captureLedger(REGION, BUS, "publisher-ledger");
    const records = Array.from({ length: 10 }, (_, index) => aRecord(index));
    const codes = new Map([
      [2, "ThrottlingException"],
      [5, "InternalFailure"],
      [7, "NotAuthorizedForSourceException"],
    ]);
    const partialFailure = JSON.stringify({
      FailedEntryCount: codes.size,
      Entries: records.map((_, index) =>
        codes.has(index)
          ? { ErrorCode: codes.get(index), ErrorMessage: "refused" }
          : { EventId: `e-${index}` },
      ),
    });
    let putEvents = 0;
    const bodies: string[] = [];
    proxy = await startFaultProxy(process.env.AWS_ENDPOINT_URL!, [
      (call) => {
        if (call.operation !== "PutEvents") return undefined;
        bodies.push(call.body);
        return putEvents++ === 0
          ? { kind: "respond", status: 200, contentType: "application/x-amz-json-1.1", body: partialFailure }
          : undefined;
      },
    ]);
    const logged: Record<string, unknown>[] = [];
    const log = { info() {}, warn() {}, error: (_message: string, extra = {}) => logged.push(extra) };
    const pool = createClientPool({ apiRate: 0, endpoint: proxy.endpoint });
    const publisher = new LedgerPublisher({
      clients: pool.clientsFor(REGION),
      bus: BUS,
      log,
      sleep: noSleep,
    });

    for (const record of records) publisher.add(record);
    const result = await publisher.close();

    expect(bodies).toHaveLength(2);
    const resent = (JSON.parse(bodies[1]!) as { Entries: { Detail: string }[] }).Entries.map(
      (entry) => (JSON.parse(entry.Detail) as ChangeRecord).recordId,
    );
    expect(resent).toEqual([records[2]!.recordId, records[5]!.recordId]);
    expect(idsOf(await ledger.drain())).toEqual(resent.sort());
    expect(result).toEqual({
      bus: BUS,
      published: 9,
      undelivered: [{ recordId: records[7]!.recordId, error: "NotAuthorizedForSourceException: refused" }],
    });
    expect(logged).toEqual([expect.objectContaining({ bus: BUS, changeRecord: records[7] })]);
  });

  it("keeps sending a batch the bus throttles until the run's deadline, not only four times", async () => {
    const ledger = await captureLedger(REGION, BUS, "publisher-ledger");
    proxy = await startFaultProxy(process.env.AWS_ENDPOINT_URL!, [
      firstCalls("PutEvents", 8, throttling("events")),
    ]);
    // One SDK attempt per call, so each of the publisher's tries is one PutEvents at the proxy.
    const pool = createClientPool({ apiRate: 0, endpoint: proxy.endpoint, maxAttempts: 1 });
    let now = 0;
    const clock = {
      now: () => now,
      sleep: async (ms: number) => {
        now += ms;
      },
    };
    const publish = async (retryUntil: number | undefined) => {
      const publisher = new LedgerPublisher({
        clients: pool.clientsFor(REGION),
        bus: BUS,
        ...clock,
        retryUntil,
      });
      const records = Array.from({ length: 10 }, (_, index) => aRecord(index));
      for (const record of records) publisher.add(record);
      return { records, result: await publisher.close() };
    };

    // Without a deadline: four tries, all throttled; every record reported undelivered.
    const withoutDeadline = await publish(undefined);
    expect(putEventsSent(proxy)).toHaveLength(4);
    expect(withoutDeadline.result.undelivered).toHaveLength(10);
    // With one a minute away: four more throttled tries, then a fifth that gets through.
    const withDeadline = await publish(60_000);
    expect(putEventsSent(proxy)).toHaveLength(4 + 5);
    expect(withDeadline.result).toEqual({ bus: BUS, published: 10, undelivered: [] });
    expect(idsOf(await ledger.drain())).toEqual(withDeadline.records.map((record) => record.recordId).sort());
    expect(now).toBeLessThan(60_000);
  });

  it(`keeps at most ${LEDGER_MAX_IN_FLIGHT} PutEvents in flight on a slow bus; the rest wait in order and every record arrives`, async () => {
    const ledger = await captureLedger(REGION, BUS, "publisher-ledger");
    proxy = await startFaultProxy(process.env.AWS_ENDPOINT_URL!, [slowPutEvents(400)]);
    const pool = createClientPool({ apiRate: 0, endpoint: proxy.endpoint });
    const publisher = new LedgerPublisher({ clients: pool.clientsFor(REGION), bus: BUS });
    const records = Array.from({ length: 45 }, (_, index) => aRecord(index));

    for (const record of records) publisher.add(record);
    const result = await publisher.close();

    expect(mostInFlight(proxy.log, "PutEvents")).toBe(LEDGER_MAX_IN_FLIGHT);
    const batches = putEventsSent(proxy);
    expect(batches.map((batch) => batch.length)).toEqual([10, 10, 10, 10, 5]);
    // The first four go out together (they reach the proxy in any order); the rest wait in order.
    const ids = records.map((record) => record.recordId);
    expect(batches.slice(0, 4).flat().sort()).toEqual(ids.slice(0, 40).sort());
    expect(batches[4]).toEqual(ids.slice(40));
    expect(pool.counter.count("EventBridge", "PutEvents")).toBe(5);
    expect(result).toEqual({ bus: BUS, published: 45, undelivered: [] });
    expect(idsOf(await ledger.drain())).toEqual(records.map((record) => record.recordId).sort());
  });

  it("fills full batches with the records that come while every slot is busy: 25 records, 3 calls", async () => {
    const ledger = await captureLedger(REGION, BUS, "publisher-ledger");
    proxy = await startFaultProxy(process.env.AWS_ENDPOINT_URL!, [slowPutEvents(600)]);
    const pool = createClientPool({ apiRate: 0, endpoint: proxy.endpoint });
    const publisher = new LedgerPublisher({
      clients: pool.clientsFor(REGION),
      bus: BUS,
      maxInFlight: 1,
      flushIntervalMs: 20,
    });
    const records = Array.from({ length: 25 }, (_, index) => aRecord(index));

    // Ten at once (a full batch, sent at once), then one every 10 ms while that batch is answered:
    // each would be due 20 ms after it came, but the only slot is busy.
    for (const record of records.slice(0, 10)) publisher.add(record);
    for (const record of records.slice(10)) {
      publisher.add(record);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const result = await publisher.close();

    const batches = putEventsSent(proxy);
    expect(batches.map((batch) => batch.length)).toEqual([10, 10, 5]);
    expect(batches.flat()).toEqual(records.map((record) => record.recordId));
    expect(mostInFlight(proxy.log, "PutEvents")).toBe(1);
    expect(result).toEqual({ bus: BUS, published: 25, undelivered: [] });
    expect(idsOf(await ledger.drain())).toEqual(records.map((record) => record.recordId).sort());
  });
});
