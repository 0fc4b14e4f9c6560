import { type EnvelopeKind, type UnwrappedEvent, unwrapEvents } from "./envelopes.ts";
import { EventValidationError } from "./errors.ts";
import { type EventHandlerDeps, type EventHandlingResult, handleCloudTrailEvent } from "./event-handler.ts";

/** What became of one event found in an envelope. */
export interface EnvelopeItemOutcome {
  via: EnvelopeKind[];
  sqsMessageId?: string;
  /**
   * `handled`/`ignored` as for one event; `failed`: a VPC could not be fixed, or the time limit cut
   * the event's run short; `refused`: bad event; `not-started`: the time limit came before it.
   */
  outcome: "handled" | "ignored" | "failed" | "refused" | "not-started";
  result?: EventHandlingResult;
  /** Why it was refused, or what went wrong. */
  error?: string;
}

/**
 * True when a handled event left a VPC unfixed, or a region unread because the time limit came
 * first: the event should be kept for another try.
 */
export function leftFailures(result: EventHandlingResult): boolean {
  const summary = result.report?.summary;
  return (summary?.failed ?? 0) > 0 || (summary?.regionsRemaining ?? 0) > 0;
}

/** Why an event of a batch was not started: the batch's time limit came first. */
export const EVENT_NOT_STARTED = "not started: the time limit came first; the event is kept for another try";

/**
 * Handles every event inside an envelope (see `unwrapEvents`), one after another, each exactly as
 * the remediate function handles one event. A refused event does not stop the others. An error that
 * is not about the event (credentials, configuration) is thrown.
 *
 * @throws EventValidationError when the input holds no event at all, or is not JSON.
 */
export function handleEnvelope(input: unknown, deps: EventHandlerDeps): Promise<EnvelopeItemOutcome[]> {
  return handleUnwrapped(unwrapEvents(input), deps);
}

/** `handleEnvelope` for events already unwrapped. */
export async function handleUnwrapped(
  items: UnwrappedEvent[],
  deps: EventHandlerDeps,
): Promise<EnvelopeItemOutcome[]> {
  if (items.length === 0) throw new EventValidationError("(event): no event found in the input", "(event)");
  const outcomes: EnvelopeItemOutcome[] = [];
  for (const item of items) {
    const meta = { via: item.via, ...(item.sqsMessageId ? { sqsMessageId: item.sqsMessageId } : {}) };
    if (deps.shouldStop?.()) {
      outcomes.push({ ...meta, outcome: "not-started", error: EVENT_NOT_STARTED });
      continue;
    }
    try {
      const result = await handleCloudTrailEvent(item.event, deps);
      outcomes.push({ ...meta, outcome: leftFailures(result) ? "failed" : result.status, result });
    } catch (error) {
      if (!(error instanceof EventValidationError)) throw error;
      outcomes.push({ ...meta, outcome: "refused", error: error.message });
    }
  }
  return outcomes;
}
