import { createHash } from "node:crypto";
import {
  DescribeEventBusCommand,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from "@aws-sdk/client-eventbridge";
import { z } from "zod";
import type { AwsClients } from "./aws-clients.ts";
import { ConfigError, describeError } from "./errors.ts";
import { realSleep, type Sleep } from "./retry.ts";
import { PRODUCT_NAME, PRODUCT_VERSION } from "./version.ts";

/** EventBridge `Source` and `DetailType` of change records: a public contract for rules and archives. */
export const CHANGE_RECORD_SOURCE = "flowlog-guard";
export const CHANGE_RECORD_DETAIL_TYPE = "Flow Log Remediation";
export const CHANGE_RECORD_SCHEMA_VERSION = "1.0";

/** What started a run. Recorded on every change. */
export const TriggerSchema = z.object({
  kind: z.enum(["event", "fix-all", "schedule", "cli"]),
  /** One id per run, shared by its records. */
  runId: z.string(),
  eventId: z.string().optional(),
  eventName: z.string().optional(),
  actorArn: z.string().optional(),
});
export type Trigger = z.infer<typeof TriggerSchema>;

/** One change flowlog-guard made (or tried to make), as auditors read it. */
export const ChangeRecordSchema = z.object({
  schemaVersion: z.literal(CHANGE_RECORD_SCHEMA_VERSION),
  /** Deterministic for a run, action and VPC, so a record delivered twice can be recognised. */
  recordId: z.string(),
  time: z.string(),
  account: z.string(),
  /** The region of the change; IAM changes are global and say so. */
  region: z.string(),
  vpcId: z.string().nullable(),
  /** Subnet mode: the subnet a flow log was attached to (`vpcId` is its VPC); absent otherwise. */
  subnetId: z.string().optional(),
  action: z.enum([
    "create-role",
    "update-role-trust",
    "put-role-policy",
    "create-log-group",
    "put-retention-policy",
    "create-flow-log",
    "create-s3-flow-log",
  ]),
  target: z.object({
    type: z.enum(["iam-role", "log-group", "flow-log"]),
    id: z.string(),
    arn: z.string().optional(),
  }),
  before: z.unknown().nullable(),
  after: z.unknown().nullable(),
  reason: z.string(),
  trigger: TriggerSchema,
  outcome: z.enum(["applied", "failed"]),
  error: z.string().optional(),
  product: z.object({ name: z.string(), version: z.string() }),
});
export type ChangeRecord = z.infer<typeof ChangeRecordSchema>;

export function changeRecordId(
  runId: string,
  actionKey: string,
  vpcId: string | null,
  subnetId?: string,
): string {
  return createHash("sha256")
    .update(`${runId}|${actionKey}|${vpcId ?? ""}${subnetId ? `|${subnetId}` : ""}`)
    .digest("hex")
    .slice(0, 32);
}

export function newChangeRecord(
  fields: Omit<ChangeRecord, "schemaVersion" | "recordId" | "product"> & { actionKey: string },
): ChangeRecord {
  const { actionKey, ...rest } = fields;
  return ChangeRecordSchema.parse({
    schemaVersion: CHANGE_RECORD_SCHEMA_VERSION,
    recordId: changeRecordId(fields.trigger.runId, actionKey, fields.vpcId, fields.subnetId),
    ...rest,
    product: { name: PRODUCT_NAME, version: PRODUCT_VERSION },
  });
}

export interface PublishResult {
  bus: string | undefined;
  published: number;
  undelivered: { recordId: string; error: string }[];
}

/** Minimal structured logger; Powertools' Logger and the CLI's logger both fit. */
export interface Logger {
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };

const PUT_EVENTS_BATCH = 10;

/**
 * Fails, before anything is changed, when the ledger bus does not exist or cannot be described, so that
 * a run never makes changes whose records it cannot deliver. `clients` are those of the bus's region.
 */
export async function checkLedgerBus(clients: AwsClients, bus: string): Promise<void> {
  try {
    await clients.events.send(new DescribeEventBusCommand({ Name: bus }));
  } catch (error) {
    const name = bus.split("/").pop() ?? bus;
    const problem =
      `ledger bus ${bus} (region ${clients.region}) does not exist or cannot be described: ` +
      `${describeError(error)}. Create it (aws events create-event-bus --name ${name} --region ` +
      `${clients.region}, or deploy the stack), or drop --ledger-bus (FLOWLOG_GUARD_LEDGER_BUS, ledgerBus)`;
    throw new ConfigError(`${problem}; nothing was changed`, [problem], { cause: error });
  }
}

/**
 * Sends change records to the ledger bus, 10 per PutEvents call, retrying entries EventBridge
 * refused. Every record also goes to the structured log; one that still cannot be delivered is
 * logged as an error with its full content and returned in `undelivered`: never silently dropped.
 */
export async function publishChangeRecords(
  clients: AwsClients,
  bus: string | undefined,
  records: readonly ChangeRecord[],
  options: { log?: Logger; sleep?: Sleep; attempts?: number } = {},
): Promise<PublishResult> {
  const log = options.log ?? silentLogger;
  const sleep = options.sleep ?? realSleep;
  for (const record of records) log.info("change record", { changeRecord: record });
  const result: PublishResult = { bus, published: 0, undelivered: [] };
  if (records.length === 0) return result;
  // No bus configured: the records live in the run's report and the structured log only.
  if (!bus) return result;
  for (let start = 0; start < records.length; start += PUT_EVENTS_BATCH) {
    let pending = records.slice(start, start + PUT_EVENTS_BATCH);
    let lastErrors = new Map<string, string>();
    for (let attempt = 1; pending.length > 0 && attempt <= (options.attempts ?? 4); attempt++) {
      if (attempt > 1) await sleep(200 * 2 ** attempt);
      const entries: PutEventsRequestEntry[] = pending.map((record) => ({
        Source: CHANGE_RECORD_SOURCE,
        DetailType: CHANGE_RECORD_DETAIL_TYPE,
        Detail: JSON.stringify(record),
        EventBusName: bus,
        Time: new Date(record.time),
      }));
      try {
        const response = await clients.events.send(new PutEventsCommand({ Entries: entries }));
        const failed: ChangeRecord[] = [];
        lastErrors = new Map();
        (response.Entries ?? []).forEach((entry, index) => {
          const record = pending[index];
          if (!record) return;
          if (entry.EventId && !entry.ErrorCode) result.published++;
          else {
            failed.push(record);
            lastErrors.set(record.recordId, `${entry.ErrorCode ?? "Unknown"}: ${entry.ErrorMessage ?? ""}`);
          }
        });
        // A response with fewer entries than sent leaves the rest undelivered: send them again.
        failed.push(...pending.slice(response.Entries?.length ?? 0));
        pending = failed;
      } catch (error) {
        lastErrors = new Map(pending.map((record) => [record.recordId, describeError(error)]));
      }
    }
    for (const record of pending) {
      const error = lastErrors.get(record.recordId) ?? "not delivered";
      result.undelivered.push({ recordId: record.recordId, error });
      log.error("change record not delivered to the ledger bus", { bus, error, changeRecord: record });
    }
  }
  return result;
}
