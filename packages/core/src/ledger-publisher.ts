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
  /**
   * The run's deadline (epoch ms): a batch refused for a passing reason keeps being sent again, with
   * backoff up to 10 s, until then, not only `attempts` times, as the run's own work gets further
   * passes until it (heavy throttling must not cost a record). Absent: `attempts` tries.
   */
  retryUntil?: number | undefined;
  /** The clock `retryUntil` is read on (tests). */
  now?: (() => number) | undefined;
  /** How long a batch that is not full waits for more records; 0: until the current task ends. */
  flushIntervalMs?: number | undefined;
  /** PutEvents calls in flight at most (default LEDGER_MAX_IN_FLIGHT). */
  maxInFlight?: number | undefined;
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
 * PutEvents calls one publisher keeps in flight at most. More would not deliver faster: a bus that
 * answers slowly (moto spends about 140 ms of CPU on each entry) then only queues them, until they
 * pass the SDK's request timeout and are sent again, adding load and duplicates (docs/reliability.md).
 */
export const LEDGER_MAX_IN_FLIGHT = 4;

interface QueuedRecord {
  record: ChangeRecord;
  /** Its place among the records added (flush waits for the records added before it). */
  index: number;
}

/**
 * Publishes change records to the ledger bus while the run goes on, so that a run cut off (a Lambda
 * time limit, a killed process) has already delivered the records of the changes it made. A full
 * batch (10 records) is sent as soon as one of `maxInFlight` PutEvents slots is free; one that is not
 * full waits at most `flushIntervalMs` (and for a free slot); `flush()` sends what is left (the run's
 * end, and before its time limit) and waits for it. Records wait in order: while every slot is busy,
 * those that arrive fill the next batches, so the calls stay about records / 10. Entries EventBridge
 * refuses for a passing reason (ThrottlingException, InternalFailure) are sent again with backoff;
 * one that still cannot be delivered is logged as an error with its full content and reported as
 * undelivered: never dropped.
 *
 * @example
 * const ledger = new LedgerPublisher({ clients, bus: "flowlog-guard-ledger" });
 * ledger.add(record); // ... as changes are made
 * const result = await ledger.close(); // { published, undelivered }
 */
export class LedgerPublisher {
  private readonly options: LedgerPublisherOptions;
  private readonly log: Logger;
  private readonly maxInFlight: number;
  private buffer: QueuedRecord[] = [];
  private added = 0;
  /** Records whose index is below this are sent even in a batch that is not full (flushed or due). */
  private sendUpTo = 0;
  /** The first index of each batch being sent. */
  private readonly sending = new Set<number>();
  private waiters: { upTo: number; resolve: () => void }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly delivered = new Set<string>();
  private readonly undelivered = new Map<string, string>();

  constructor(options: LedgerPublisherOptions) {
    this.options = options;
    this.log = options.log ?? silentLogger;
    this.maxInFlight = Math.max(1, options.maxInFlight ?? LEDGER_MAX_IN_FLIGHT);
  }

  get bus(): string | undefined {
    return this.options.bus;
  }

  /** Takes a record as it is written: logged now, sent with its batch. */
  add(record: ChangeRecord): void {
    this.log.info("change record", { changeRecord: record });
    if (!this.options.bus) return;
    this.buffer.push({ record, index: this.added++ });
    this.pump();
  }

  /** Sends every record added so far; resolves once each is delivered or given up on. */
  flush(): Promise<void> {
    const upTo = this.added;
    this.sendUpTo = Math.max(this.sendUpTo, upTo);
    const done = new Promise<void>((resolve) => this.waiters.push({ upTo, resolve }));
    this.pump();
    this.settle();
    return done;
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

  /** Starts a batch in each free slot, oldest records first: full batches, or any that are due. */
  private pump(): void {
    while (this.sending.size < this.maxInFlight && this.buffer.length > 0) {
      const full = this.buffer.length >= PUT_EVENTS_MAX_ENTRIES;
      if (!full && this.buffer[0]!.index >= this.sendUpTo) break;
      const first = this.buffer[0]!.index;
      const taken = this.buffer.splice(0, PUT_EVENTS_MAX_ENTRIES).map((queued) => queued.record);
      this.sending.add(first);
      void this.send(taken)
        .catch((error: unknown) => this.giveUpUnsettled(taken, describeError(error)))
        .finally(() => {
          this.sending.delete(first);
          this.pump();
          this.settle();
        });
    }
    this.schedule();
  }

  /** A batch that is not full is due `flushIntervalMs` after its oldest record came. */
  private schedule(): void {
    const oldest = this.buffer[0];
    if (!oldest) {
      clearTimeout(this.timer);
      this.timer = undefined;
      return;
    }
    // What waits is due already (it goes with the next free slot), or a timer runs for it.
    if (this.timer || oldest.index < this.sendUpTo) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.sendUpTo = Math.max(this.sendUpTo, this.added);
      this.pump();
    }, this.options.flushIntervalMs ?? LEDGER_FLUSH_INTERVAL_MS);
    this.timer.unref?.();
  }

  /** Resolves the flushes whose records are all delivered or given up on. */
  private settle(): void {
    const lowestOpen = Math.min(this.buffer[0]?.index ?? this.added, ...this.sending);
    const open: typeof this.waiters = [];
    for (const waiter of this.waiters) {
      if (waiter.upTo <= lowestOpen) waiter.resolve();
      else open.push(waiter);
    }
    this.waiters = open;
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
        retryUntil: this.options.retryUntil,
        now: this.options.now ?? Date.now,
      });
      for (const record of batch) {
        const error = failed.get(record.recordId);
        if (error === undefined) this.delivered.add(record.recordId);
        else this.giveUp(record, error);
      }
    }
  }

  private giveUpUnsettled(records: readonly ChangeRecord[], error: string): void {
    for (const record of records)
      if (!this.delivered.has(record.recordId) && !this.undelivered.has(record.recordId))
        this.giveUp(record, error);
  }

  private giveUp(record: ChangeRecord, error: string): void {
    this.undelivered.set(record.recordId, error);
    const bus = this.options.bus;
    this.log.error("change record not delivered to the ledger bus", { bus, error, changeRecord: record });
  }
}

/** Backoff before a batch's next try: 800 ms doubling, at most 10 s. */
const retryDelayMs = (attempt: number) => Math.min(10_000, 200 * 2 ** attempt);

/**
 * One batch to the bus: PutEvents, then again for the entries refused for a passing reason, with
 * backoff, up to `attempts` tries or, past those, while the next try starts before `retryUntil`.
 * Returns the records not delivered, with the last error of each.
 */
async function deliverBatch(
  clients: AwsClients,
  bus: string,
  batch: readonly ChangeRecord[],
  options: { attempts: number; sleep: Sleep; retryUntil: number | undefined; now: () => number },
): Promise<Map<string, string>> {
  let pending = [...batch];
  const errors = new Map<string, string>();
  const mayTry = (attempt: number) =>
    attempt <= options.attempts ||
    (options.retryUntil !== undefined && options.now() + retryDelayMs(attempt) < options.retryUntil);
  for (let attempt = 1; pending.length > 0 && mayTry(attempt); attempt++) {
    if (attempt > 1) await options.sleep(retryDelayMs(attempt));
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
