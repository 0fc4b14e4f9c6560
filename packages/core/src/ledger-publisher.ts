import { PutEventsCommand, type PutEventsRequestEntry } from "@aws-sdk/client-eventbridge";
import type { AwsClients } from "./aws-clients.ts";
import {
  CHANGE_RECORD_DETAIL_TYPE,
  CHANGE_RECORD_SOURCE,
  type ChangeRecord,
  type Logger,
  type PublishResult,
  silentLogger,
} from "./change-records.ts";
import { describeError, isRetryableError } from "./errors.ts";
import { realSleep, type Sleep } from "./retry.ts";

/** PutEvents takes at most 10 entries, and 256 KB in all (eb-putevents.md, "Calculating PutEvents event entry size"). */
export const PUT_EVENTS_MAX_ENTRIES = 10;
export const PUT_EVENTS_MAX_BYTES = 256 * 1024;
/** A batch that is not full waits at most this long before it is sent (records survive a hard stop). */
export const LEDGER_FLUSH_INTERVAL_MS = 1_000;
/** Per-entry error codes worth sending again (EventBridge's own words for a passing failure). */
const RETRYABLE_ENTRY_CODES = new Set(["ThrottlingException", "InternalFailure", "InternalException"]);

export interface LedgerPublisherOptions {
  clients: AwsClients;
  /** The ledger bus; absent: records go to the structured log and the run's report only. */
  bus: string | undefined;
  log?: Logger | undefined;
  sleep?: Sleep | undefined;
  /** Tries per entry (the first send and its retries). */
  attempts?: number | undefined;
  /** How long a batch that is not full waits for more records; 0 sends at once. */
  flushIntervalMs?: number | undefined;
}

/** The size EventBridge counts for an entry: Time (14 bytes), Source, DetailType and Detail in UTF-8. */
export function putEventsEntrySize(entry: PutEventsRequestEntry): number {
  const bytes = (text: string | undefined) => (text === undefined ? 0 : Buffer.byteLength(text, "utf8"));
  return (
    (entry.Time ? 14 : 0) +
    bytes(entry.Source) +
    bytes(entry.DetailType) +
    bytes(entry.Detail) +
    (entry.Resources ?? []).reduce((sum, resource) => sum + bytes(resource), 0)
  );
}

function entryOf(record: ChangeRecord, bus: string): PutEventsRequestEntry {
  return {
    Source: CHANGE_RECORD_SOURCE,
    DetailType: CHANGE_RECORD_DETAIL_TYPE,
    Detail: JSON.stringify(record),
    EventBusName: bus,
    Time: new Date(record.time),
  };
}

/**
 * Splits records into PutEvents requests: at most 10 entries and 256 KB each, in order. A record
 * too large for any request is returned apart (it can never be delivered).
 */
export function batchRecords(
  records: readonly ChangeRecord[],
  bus: string,
): { batches: ChangeRecord[][]; oversized: ChangeRecord[] } {
  const batches: ChangeRecord[][] = [];
  const oversized: ChangeRecord[] = [];
  let current: ChangeRecord[] = [];
  let size = 0;
  for (const record of records) {
    const entrySize = putEventsEntrySize(entryOf(record, bus));
    if (entrySize > PUT_EVENTS_MAX_BYTES) {
      oversized.push(record);
      continue;
    }
    if (current.length === PUT_EVENTS_MAX_ENTRIES || size + entrySize > PUT_EVENTS_MAX_BYTES) {
      batches.push(current);
      current = [];
      size = 0;
    }
    current.push(record);
    size += entrySize;
  }
  if (current.length > 0) batches.push(current);
  return { batches, oversized };
}

/**
 * Publishes change records to the ledger bus while the run goes on, so that a run cut off (a Lambda
 * time limit, a killed process) has already delivered the records of the changes it made. A full
 * batch (10 records) is sent at once; one that is not full waits at most `flushIntervalMs`; `flush()`
 * sends what is left (the run's end, and before its time limit). A batch does not wait for the
 * answer to another (records carry their time; consumers order by it). Entries EventBridge refuses for a passing reason
 * (ThrottlingException, InternalFailure) are sent again with backoff; one that still cannot be
 * delivered is logged as an error with its full content and reported as undelivered: never dropped.
 *
 * @example
 * const ledger = new LedgerPublisher({ clients, bus: "flowlog-guard-ledger" });
 * ledger.add(record); // ... as changes are made
 * const result = await ledger.close(); // { published, undelivered }
 */
export class LedgerPublisher {
  private readonly options: LedgerPublisherOptions;
  private readonly log: Logger;
  private buffer: ChangeRecord[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private readonly delivered = new Set<string>();
  private readonly undelivered = new Map<string, string>();

  constructor(options: LedgerPublisherOptions) {
    this.options = options;
    this.log = options.log ?? silentLogger;
  }

  get bus(): string | undefined {
    return this.options.bus;
  }

  /** Takes a record as it is written: logged now, sent with its batch. */
  add(record: ChangeRecord): void {
    this.log.info("change record", { changeRecord: record });
    if (!this.options.bus) return;
    this.buffer.push(record);
    if (this.buffer.length >= PUT_EVENTS_MAX_ENTRIES) {
      void this.flush();
    } else if (!this.timer) {
      const interval = this.options.flushIntervalMs ?? LEDGER_FLUSH_INTERVAL_MS;
      this.timer = setTimeout(() => void this.flush(), interval);
      this.timer.unref?.();
    }
  }

  /** Sends every record added so far; resolves once each is delivered or given up on. */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const records = this.buffer;
    this.buffer = [];
    if (records.length > 0) {
      // At once, not behind the sends in flight: a record waits for no other batch's answer.
      const sending: Promise<void> = this.send(records).finally(() => this.inFlight.delete(sending));
      this.inFlight.add(sending);
    }
    await Promise.all([...this.inFlight]);
  }

  /** Flushes, and returns what became of every record added. */
  async close(): Promise<PublishResult> {
    await this.flush();
    return {
      bus: this.options.bus,
      published: this.delivered.size,
      undelivered: [...this.undelivered].map(([recordId, error]) => ({ recordId, error })),
    };
  }

  /** What became of the given records (one run's, when several share the publisher), once flushed. */
  resultOf(records: readonly ChangeRecord[]): PublishResult {
    return {
      bus: this.options.bus,
      published: records.filter((record) => this.delivered.has(record.recordId)).length,
      undelivered: records.flatMap((record) => {
        const error = this.undelivered.get(record.recordId);
        return error === undefined ? [] : [{ recordId: record.recordId, error }];
      }),
    };
  }

  private async send(records: ChangeRecord[]): Promise<void> {
    const bus = this.options.bus!;
    const { batches, oversized } = batchRecords(records, bus);
    for (const record of oversized)
      this.giveUp(record, `larger than PutEvents' ${PUT_EVENTS_MAX_BYTES} bytes`);
    for (const batch of batches) {
      const failed = await deliverBatch(this.options.clients, bus, batch, {
        attempts: this.options.attempts ?? 4,
        sleep: this.options.sleep ?? realSleep,
      });
      for (const record of batch) {
        const error = failed.get(record.recordId);
        if (error === undefined) this.delivered.add(record.recordId);
        else this.giveUp(record, error);
      }
    }
  }

  private giveUp(record: ChangeRecord, error: string): void {
    this.undelivered.set(record.recordId, error);
    const bus = this.options.bus;
    this.log.error("change record not delivered to the ledger bus", { bus, error, changeRecord: record });
  }
}

/**
 * One batch to the bus: PutEvents, then again for the entries refused for a passing reason, with
 * backoff, up to `attempts` tries. Returns the records not delivered, with the last error of each.
 */
async function deliverBatch(
  clients: AwsClients,
  bus: string,
  batch: readonly ChangeRecord[],
  options: { attempts: number; sleep: Sleep },
): Promise<Map<string, string>> {
  let pending = [...batch];
  const errors = new Map<string, string>();
  for (let attempt = 1; pending.length > 0 && attempt <= options.attempts; attempt++) {
    if (attempt > 1) await options.sleep(200 * 2 ** attempt);
    let retry: ChangeRecord[] = [];
    try {
      const response = await clients.events.send(
        new PutEventsCommand({ Entries: pending.map((record) => entryOf(record, bus)) }),
      );
      pending.forEach((record, index) => {
        const entry = response.Entries?.[index];
        if (entry?.EventId && !entry.ErrorCode) {
          errors.delete(record.recordId);
          return;
        }
        // A missing answer (fewer entries than sent) is sent again, like a passing failure.
        const code = entry?.ErrorCode ?? "Unknown";
        errors.set(record.recordId, entry ? `${code}: ${entry.ErrorMessage ?? ""}` : "not answered");
        if (!entry || RETRYABLE_ENTRY_CODES.has(code)) retry.push(record);
      });
    } catch (error) {
      for (const record of pending) errors.set(record.recordId, describeError(error));
      retry = isRetryableError(error) ? pending : [];
    }
    pending = retry;
  }
  return errors;
}

/**
 * Sends records to the ledger bus in batches and waits for them: `LedgerPublisher` for records that
 * are all known already (organization runs publish each account's centrally).
 */
export function publishChangeRecords(
  clients: AwsClients,
  bus: string | undefined,
  records: readonly ChangeRecord[],
  options: { log?: Logger; sleep?: Sleep; attempts?: number } = {},
): Promise<PublishResult> {
  const publisher = new LedgerPublisher({ clients, bus, ...options, flushIntervalMs: 0 });
  for (const record of records) publisher.add(record);
  return publisher.close();
}
