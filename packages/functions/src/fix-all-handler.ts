import { randomUUID } from "node:crypto";
import {
  buildExceptionRegister,
  type ExceptionEventsResult,
  ledgerRegionOf,
  listEnabledRegions,
  metricsOfSummary,
  publishExpiringExceptions,
  REGION_NAME_HINT,
  REGION_NAME_PATTERN,
  type RunReport,
  runRemediation,
  SCHEDULED_FIX_ALL_EVENT,
} from "@flowlog-guard/core";
import { z } from "zod";
import { type LambdaTimeContext, type Runtime, recordRunMetrics, timeLimitOf } from "./runtime.ts";

/** A manual invocation: `aws lambda invoke --payload '{"regions":["eu-west-1"],"dryRun":true}'`. */
const ManualInputSchema = z.strictObject({
  regions: z.array(z.string().regex(REGION_NAME_PATTERN, REGION_NAME_HINT)).min(1).optional(),
  dryRun: z.boolean().optional(),
});

/**
 * The daily schedule: the payload the stack gives SST's CronV2 (EventBridge Scheduler sends it as
 * is), or a scheduled rule's "Scheduled Event".
 */
const ScheduledEventSchema = z.union([
  z.strictObject({ trigger: z.literal(SCHEDULED_FIX_ALL_EVENT.trigger) }),
  z.looseObject({
    "detail-type": z.literal("Scheduled Event"),
    source: z.enum(["aws.events", "aws.scheduler"]),
  }),
]);

export type FixAllInput = z.infer<typeof ManualInputSchema>;

/** What fix-all returns: the report summary, where it stopped, and what failed (the full report is logged). */
export interface FixAllResult {
  trigger: "fix-all" | "schedule";
  dryRun: boolean;
  regions: string[];
  summary: RunReport["summary"];
  /** Regions not started because the time limit came first; run again to finish them. */
  remaining: string[];
  failedVpcs: { region: string; vpcId: string; reason: string }[];
  errors: RunReport["errors"];
  /** The daily sweep's `Exception Expiring` events (scheduled runs with a ledger bus only). */
  exceptionsExpiring?: ExceptionEventsResult;
}

export function parseFixAllInput(event: unknown): { input: FixAllInput; scheduled: boolean } {
  if (ScheduledEventSchema.safeParse(event).success) return { input: {}, scheduled: true };
  const result = ManualInputSchema.safeParse(event ?? {});
  if (!result.success) {
    throw new Error(
      `fix-all input not understood: ${z.prettifyError(result.error)}. ` +
        'Pass {} or {"regions":["eu-west-1"],"dryRun":true}, or invoke it from the daily schedule.',
    );
  }
  return { input: result.data, scheduled: false };
}

/** Margin kept before the Lambda time limit: no new region or change starts inside it. */
export const STOP_MARGIN_MS = 90_000;

/**
 * Fix-all over every region (or the ones given). Stops starting new work `STOP_MARGIN_MS` before the
 * time limit and reports the regions that remain.
 */
export function createFixAllHandler(runtime: Runtime) {
  return async (event: unknown, context?: LambdaTimeContext): Promise<FixAllResult> => {
    const { input, scheduled } = parseFixAllInput(event);
    const homeRegion = process.env.AWS_REGION ?? "us-east-1";
    const regions =
      input.regions ??
      process.env.FLOWLOG_GUARD_REGIONS?.split(",").filter(Boolean) ??
      (await listEnabledRegions(runtime.pool.clientsFor(homeRegion)));
    const dryRun = input.dryRun ?? false;
    const runId = randomUUID();
    const report = await runRemediation({
      policy: runtime.policy,
      regions,
      homeRegion,
      mode: dryRun ? "dry-run" : "fix",
      trigger: { kind: scheduled ? "schedule" : "fix-all", runId },
      pool: runtime.pool,
      regionConcurrency: 4,
      // Retryable failures get further passes while the function has time for them.
      ...timeLimitOf(context, STOP_MARGIN_MS),
      log: runtime.logger,
    });
    runtime.logger.info("fix-all report", { report });
    const exceptionsExpiring = scheduled
      ? await warnOfExpiringExceptions(runtime, report, homeRegion, runId)
      : undefined;
    const counts = metricsOfSummary(report.summary);
    recordRunMetrics(runtime.metrics, {
      ...counts,
      undeliveredRecords: counts.undeliveredRecords + (exceptionsExpiring?.undelivered.length ?? 0),
    });
    return {
      trigger: scheduled ? "schedule" : "fix-all",
      dryRun,
      regions,
      summary: report.summary,
      remaining: report.regionOutcomes
        .filter((outcome) => outcome.kind === "not-started")
        .map((outcome) => outcome.region),
      failedVpcs: report.vpcs
        .filter((vpc) => vpc.status === "failed")
        .map(({ region, vpcId, reason }) => ({ region, vpcId, reason })),
      errors: report.errors,
      ...(exceptionsExpiring ? { exceptionsExpiring } : {}),
    };
  };
}

/** The daily sweep tells the ledger bus about every exception that expires within the window. */
async function warnOfExpiringExceptions(
  runtime: Runtime,
  report: RunReport,
  homeRegion: string,
  runId: string,
): Promise<ExceptionEventsResult | undefined> {
  const bus = runtime.policy.ledgerBus;
  if (!bus) return undefined;
  const register = buildExceptionRegister(report, new Date());
  const clients = runtime.pool.clientsFor(ledgerRegionOf(bus, homeRegion));
  const result = await publishExpiringExceptions(register, { clients, bus, runId });
  if (result.undelivered.length > 0)
    runtime.logger.error("Exception Expiring events not delivered", { undelivered: result.undelivered });
  return result;
}
