import {
  PutEventsCommand,
  type PutEventsCommandOutput,
  type PutEventsRequestEntry,
} from "@aws-sdk/client-eventbridge";
import type { AwsClients } from "./aws-clients.ts";
import { CHANGE_RECORD_SOURCE } from "./change-records.ts";
import { awsErrorName } from "./errors.ts";
import { parseExceptionExpiry } from "./exceptions.ts";
import type { RunReport } from "./report.ts";
import { realSleep, type Sleep } from "./retry.ts";

/** Default window of `exceptions --expiring-within` and of the daily sweep's warnings, in days. */
export const DEFAULT_EXPIRING_WITHIN_DAYS = 14;

/** EventBridge `DetailType` of the sweep's warning about an exception close to its expiry. A public contract. */
export const EXCEPTION_EXPIRING_DETAIL_TYPE = "Exception Expiring";

/**
 * How an exception stands: `valid` (exempts the VPC, expires after the window), `expiring` (still
 * exempts it, expires within the window), `expired` and `invalid` (do not exempt it: fail closed).
 */
export type RegisterVerdict = "valid" | "expiring" | "expired" | "invalid";

/** One exception tag set found on a VPC. A public contract (`exceptions --json`). */
export interface ExceptionEntry {
  account: string;
  region: string;
  vpcId: string;
  owner: string | null;
  expires: string | null;
  /** Whole days until expiry, rounded up; 0 or less once expired; null when the expiry is unreadable. */
  daysLeft: number | null;
  reason: string | null;
  verdict: RegisterVerdict;
  /** Why an exception is invalid; empty otherwise. */
  problems: string[];
}

export interface ExceptionRegister {
  generatedAt: string;
  expiringWithinDays: number;
  summary: Record<RegisterVerdict, number> & { exceptions: number };
  exceptions: ExceptionEntry[];
}

const DAY_MS = 86_400_000;
const ORDER: Record<RegisterVerdict, number> = { invalid: 0, expired: 1, expiring: 2, valid: 3 };

/**
 * The exception register of a scan: every VPC that carries exception tags, judged at `now`, worst
 * first (invalid, expired, expiring, valid; then the soonest expiry). Pure: the report already holds
 * each VPC's verdict, read from its tags by the planner.
 */
export function buildExceptionRegister(
  report: Pick<RunReport, "vpcs">,
  now: Date,
  expiringWithinDays: number = DEFAULT_EXPIRING_WITHIN_DAYS,
): ExceptionRegister {
  const exceptions = report.vpcs.flatMap((vpc): ExceptionEntry[] => {
    const exception = vpc.exception;
    if (!exception) return [];
    const expiry = exception.expires ? parseExceptionExpiry(exception.expires) : undefined;
    const daysLeft = expiry ? Math.ceil((expiry.getTime() - now.getTime()) / DAY_MS) : null;
    const verdict: RegisterVerdict =
      exception.state !== "valid"
        ? exception.state
        : daysLeft !== null && daysLeft <= expiringWithinDays
          ? "expiring"
          : "valid";
    return [
      {
        account: vpc.account,
        region: vpc.region,
        vpcId: vpc.vpcId,
        owner: exception.owner ?? null,
        expires: exception.expires ?? null,
        daysLeft,
        reason: exception.reason ?? null,
        verdict,
        problems: exception.state === "invalid" ? exception.problems : [],
      },
    ];
  });
  exceptions.sort(
    (a, b) =>
      ORDER[a.verdict] - ORDER[b.verdict] ||
      (a.daysLeft ?? Number.NEGATIVE_INFINITY) - (b.daysLeft ?? Number.NEGATIVE_INFINITY) ||
      `${a.account}/${a.region}/${a.vpcId}`.localeCompare(`${b.account}/${b.region}/${b.vpcId}`),
  );
  const count = (verdict: RegisterVerdict) => exceptions.filter((e) => e.verdict === verdict).length;
  return {
    generatedAt: now.toISOString(),
    expiringWithinDays,
    summary: {
      exceptions: exceptions.length,
      invalid: count("invalid"),
      expired: count("expired"),
      expiring: count("expiring"),
      valid: count("valid"),
    },
    exceptions,
  };
}

/** True when a pipeline should stop: an exception is invalid, expired, or expires within the window. */
export function registerNeedsAttention(register: ExceptionRegister): boolean {
  return register.exceptions.some((entry) => entry.verdict !== "valid");
}

export interface ExceptionEventsResult {
  published: number;
  undelivered: { vpcId: string; region: string; error: string }[];
}

/**
 * Publishes one `Exception Expiring` event per exception in the window to the ledger bus, 10 per
 * PutEvents call; entries EventBridge fails are retried up to 3 times with backoff, then reported.
 * The daily sweep calls this so owners hear about an expiry before their VPC is remediated.
 */
export async function publishExpiringExceptions(
  register: ExceptionRegister,
  options: { clients: AwsClients; bus: string; runId: string; sleep?: Sleep },
): Promise<ExceptionEventsResult> {
  const sleep = options.sleep ?? realSleep;
  const result: ExceptionEventsResult = { published: 0, undelivered: [] };
  const expiring = register.exceptions.filter((entry) => entry.verdict === "expiring");
  for (let start = 0; start < expiring.length; start += 10) {
    let pending = expiring.slice(start, start + 10);
    for (let attempt = 1; pending.length > 0; attempt++) {
      const entries: PutEventsRequestEntry[] = pending.map((entry) => ({
        Source: CHANGE_RECORD_SOURCE,
        DetailType: EXCEPTION_EXPIRING_DETAIL_TYPE,
        EventBusName: options.bus,
        Resources: [],
        Detail: JSON.stringify({
          schemaVersion: "1.0",
          runId: options.runId,
          expiringWithinDays: register.expiringWithinDays,
          ...entry,
        }),
      }));
      let response: PutEventsCommandOutput;
      try {
        response = await options.clients.events.send(new PutEventsCommand({ Entries: entries }));
      } catch (error) {
        // The SDK already retried throttling; a missing bus or a denied call will not fix itself.
        const message = `${awsErrorName(error) ?? "Error"}: ${(error as Error).message}`;
        for (const entry of pending)
          result.undelivered.push({ vpcId: entry.vpcId, region: entry.region, error: message });
        break;
      }
      const failed = pending.filter((_, i) => response.Entries?.[i]?.ErrorCode);
      result.published += pending.length - failed.length;
      if (failed.length === 0) break;
      if (attempt >= 3) {
        for (const [i, entry] of failed.entries())
          result.undelivered.push({
            vpcId: entry.vpcId,
            region: entry.region,
            error: response.Entries?.filter((e) => e.ErrorCode)[i]?.ErrorMessage ?? "not delivered",
          });
        break;
      }
      pending = failed;
      await sleep(200 * 2 ** attempt);
    }
  }
  return result;
}
