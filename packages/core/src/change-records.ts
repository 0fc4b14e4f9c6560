import { createHash } from "node:crypto";
import { DescribeEventBusCommand } from "@aws-sdk/client-eventbridge";
import { z } from "zod";
import type { AwsClients } from "./aws-clients.ts";
import { ConfigError, describeError } from "./errors.ts";
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
    "detach-role-policy",
    "delete-role-permissions-boundary",
    "put-role-permissions-boundary",
    "create-log-group",
    "put-retention-policy",
    "associate-kms-key",
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
