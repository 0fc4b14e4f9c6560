import { describe, expect, it } from "vitest";
import { type ChangeRecord, newChangeRecord } from "../src/change-records.ts";
import {
  batchRecords,
  PUT_EVENTS_MAX_BYTES,
  PUT_EVENTS_MAX_ENTRIES,
  putEventsEntrySize,
} from "../src/ledger-publisher.ts";

function aRecord(index: number, reasonBytes = 10): ChangeRecord {
  return newChangeRecord({
    actionKey: `log-group:eu-west-1:/vpc/${index}`,
    time: "2026-11-23T00:00:00.000Z",
    account: "123456789012",
    region: "eu-west-1",
    vpcId: `vpc-${index}`,
    action: "create-log-group",
    target: { type: "log-group", id: `/vpc/${index}` },
    before: null,
    after: { logGroupName: `/vpc/${index}` },
    reason: "r".repeat(reasonBytes),
    trigger: { kind: "cli", runId: "run-1" },
    outcome: "applied",
  });
}

const BUS = "flowlog-guard-ledger";

describe("batchRecords: PutEvents requests of at most 10 entries and 256 KB", () => {
  it("cuts 25 small records into 10 + 10 + 5, in order", () => {
    const records = Array.from({ length: 25 }, (_, index) => aRecord(index));
    const { batches, oversized } = batchRecords(records, BUS);
    expect(batches.map((batch) => batch.length)).toEqual([10, 10, 5]);
    expect(batches.flat().map((record) => record.recordId)).toEqual(records.map((record) => record.recordId));
    expect(oversized).toEqual([]);
  });

  it("starts a new request before 256 KB; a record that can never fit is set apart", () => {
    const big = Array.from({ length: 4 }, (_, index) => aRecord(index, 100_000));
    const tooBig = aRecord(9, PUT_EVENTS_MAX_BYTES);
    const { batches, oversized } = batchRecords([...big, tooBig], BUS);
    expect(batches.map((batch) => batch.length)).toEqual([2, 2]);
    expect(oversized).toEqual([tooBig]);
  });

  it("counts an entry's size as EventBridge does: Time 14 bytes, Source, DetailType, Detail in UTF-8", () => {
    const entry = { Source: "ab", DetailType: "cd", Detail: '{"é":1}', Time: new Date(0) };
    expect(putEventsEntrySize(entry)).toBe(14 + 2 + 2 + Buffer.byteLength('{"é":1}'));
    expect(PUT_EVENTS_MAX_ENTRIES).toBe(10);
  });
});
