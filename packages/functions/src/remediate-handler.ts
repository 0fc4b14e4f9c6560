import {
  addRunMetrics,
  type EnvelopeItemOutcome,
  type EventHandlingResult,
  EventValidationError,
  handleCloudTrailEvent,
  handleUnwrapped,
  leftFailures,
  metricsOfSummary,
  RemediationError,
  type RunMetrics,
  unwrapEvents,
} from "@flowlog-guard/core";

const NONE: RunMetrics = { remediations: 0, failures: 0, refusedEvents: 0, undeliveredRecords: 0 };

/** The metrics of handled events: their runs' counts, and one refused event per refusal. */
function metricsOf(results: { outcome?: string; result?: EventHandlingResult }[]): RunMetrics {
  return results.reduce<RunMetrics>((sum, item) => {
    const run = item.result?.report ? metricsOfSummary(item.result.report.summary) : NONE;
    return addRunMetrics(sum, { ...run, refusedEvents: item.outcome === "refused" ? 1 : 0 });
  }, NONE);
}

import { type LambdaTimeContext, type Runtime, recordRunMetrics, timeLimitOf } from "./runtime.ts";

/**
 * Margin kept before the remediate function's time limit (3 minutes): no new change starts, and the
 * CreateFlowLogs retry while a new delivery role propagates stops, inside it, so that the changes in
 * flight finish and every change record is on the ledger bus before Lambda ends the invocation.
 */
export const REMEDIATE_STOP_MARGIN_MS = 30_000;

/** What the remediate Lambda returns for one event (also in its log): the outcome and the report's summary. */
export type RemediateResult = Pick<EventHandlingResult, "status" | "reason" | "event"> & {
  summary?: NonNullable<EventHandlingResult["report"]>["summary"];
  vpcs?: {
    vpcId: string;
    region: string;
    status: string;
    reason: string;
    /** Subnet mode: each subnet of the VPC and its status. */
    subnets?: { subnetId: string; status: string }[];
  }[];
};

/** For an SQS batch (the delay queue): Lambda's partial batch response, and what became of each event. */
export interface RemediateBatchResult {
  batchItemFailures: { itemIdentifier: string }[];
  results: (Omit<EnvelopeItemOutcome, "result"> & { result?: RemediateResult })[];
}

function summarise(result: EventHandlingResult): RemediateResult {
  return {
    status: result.status,
    reason: result.reason,
    event: result.event,
    ...(result.report
      ? {
          summary: result.report.summary,
          vpcs: result.report.vpcs.map(({ vpcId, region, status, reason, subnets }) => ({
            vpcId,
            region,
            status,
            reason,
            ...(subnets ? { subnets: subnets.map(({ subnetId, status }) => ({ subnetId, status })) } : {}),
          })),
        }
      : {}),
  };
}

function failureError(result: EventHandlingResult): RemediationError {
  const { summary, errors } = result.report!;
  const remaining =
    summary.regionsRemaining > 0 ? ` and ${summary.regionsRemaining} region(s) not started (time limit)` : "";
  return new RemediationError(
    `${summary.failed} VPC(s) could not be fixed${remaining}: ${JSON.stringify(errors)}`,
    { action: "remediate", region: result.event.region },
  );
}

/**
 * The remediate handler: a CloudTrail event from EventBridge, or any envelope around such events (an
 * SQS batch from the delay queue, an invocation record or DLQ message replayed by hand). One event:
 * throws for an event it does not handle (EventValidationError) and when a VPC could not be fixed,
 * so that Lambda retries and the on-failure destination keeps it. An SQS batch: returns the messages
 * to retry (`batchItemFailures`); SQS's redrive policy moves them to the dead-letter queue in the end.
 * `REMEDIATE_STOP_MARGIN_MS` before the time limit it starts no new change (nor event of a batch),
 * flushes the change records of what it changed, and treats the work left as not done: it throws
 * (one event) or returns the messages to retry (a batch), as for a failure.
 */
export function createRemediateHandler(runtime: Runtime) {
  return async (
    event: unknown,
    context?: LambdaTimeContext,
  ): Promise<RemediateResult | RemediateBatchResult> => {
    const items = unwrapEvents(event);
    const region = (items[0]?.event as { region?: unknown } | undefined)?.region;
    const identity = await runtime.identity(typeof region === "string" ? region : "us-east-1");
    const deps = {
      ...runtime,
      identity,
      log: runtime.logger,
      ...timeLimitOf(context, REMEDIATE_STOP_MARGIN_MS),
    };
    if (items.length === 1 && !items[0]!.sqsMessageId) {
      const result = await handleCloudTrailEvent(items[0]!.event, deps).catch((error: unknown) => {
        if (error instanceof EventValidationError)
          recordRunMetrics(runtime.metrics, { ...NONE, refusedEvents: 1 });
        throw error;
      });
      recordRunMetrics(runtime.metrics, metricsOf([{ result }]));
      const output = summarise(result);
      runtime.logger.info("event handled", { result: output });
      if (leftFailures(result)) throw failureError(result);
      return output;
    }
    const outcomes = await handleUnwrapped(items, deps);
    recordRunMetrics(runtime.metrics, metricsOf(outcomes));
    const results = outcomes.map(({ result, ...rest }) => ({
      ...rest,
      ...(result ? { result: summarise(result) } : {}),
    }));
    runtime.logger.info("events handled", { results });
    const unfinished = outcomes.filter((o) => ["failed", "refused", "not-started"].includes(o.outcome));
    const retry = unfinished.filter((o) => !o.sqsMessageId);
    if (retry.length > 0) {
      throw new RemediationError(
        `${retry.length} of ${outcomes.length} event(s) not done: ${retry.map((o) => o.error ?? o.result?.reason).join("; ")}`,
        { action: "remediate" },
      );
    }
    const ids = [...new Set(unfinished.map((o) => o.sqsMessageId!))];
    return { batchItemFailures: ids.map((itemIdentifier) => ({ itemIdentifier })), results };
  };
}
