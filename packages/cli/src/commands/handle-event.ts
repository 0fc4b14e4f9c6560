import { readFile } from "node:fs/promises";
import {
  type EnvelopeItemOutcome,
  type EventHandlingResult,
  handleCloudTrailEvent,
  handleUnwrapped,
  unwrapEvents,
} from "@flowlog-guard/core";
import { UsageError } from "../errors.ts";
import type { Io } from "../io.ts";
import { createPool, resolveRunSettings } from "../options.ts";
import { exitCodeOf, renderReport } from "../render.ts";
import { emitReport } from "./run.ts";

function renderResult(result: EventHandlingResult): string {
  const { event } = result;
  const head =
    `${event.eventName} (${event.source}) in ${event.account}/${event.region}, event ${event.eventId}` +
    `${event.actorArn ? ` by ${event.actorArn}` : ""}\n${result.status.toUpperCase()}: ${result.reason}\n`;
  return result.report
    ? `${head}\n${renderReport(result.report, "handle-event (re-checked what the event names)")}`
    : head;
}

/** Several events (a batch, Event history's list): each with how it came and what became of it. */
export function renderOutcomes(outcomes: EnvelopeItemOutcome[]): string {
  return outcomes
    .map((item, index) => {
      const how = `event ${index + 1} of ${outcomes.length} (via ${item.via.join(" > ") || "as given"}${item.sqsMessageId ? `, message ${item.sqsMessageId}` : ""})`;
      if (item.outcome === "refused") return `${how}\nREFUSED, nothing changed: ${item.error}\n`;
      return `${how}\n${renderResult(item.result!)}`;
    })
    .join("\n");
}

/** 2 when an event was refused, else 3 when one left a VPC unfixed or non-compliant, else 0. */
export function exitCodeOfOutcomes(outcomes: EnvelopeItemOutcome[]): number {
  if (outcomes.some((item) => item.outcome === "refused")) return 2;
  return Math.max(0, ...outcomes.map((item) => (item.result?.report ? exitCodeOf(item.result.report) : 0)));
}

/**
 * `handle-event [FILE|-]`: what the remediate Lambda does with an event, given as it is or in any
 * envelope an operator has at hand (invocation record, SQS message or batch, SNS notification,
 * CloudTrail Event history record).
 */
export async function handleEventCommand(
  file: string | undefined,
  options: Record<string, unknown>,
  io: Io,
): Promise<number> {
  const settings = resolveRunSettings(options, io.env);
  let text: string;
  try {
    text = !file || file === "-" ? await io.readStdin() : await readFile(file, "utf8");
  } catch (error) {
    throw new UsageError(`cannot read event file ${file}: ${(error as Error).message}`);
  }
  if (text.trim() === "")
    throw new UsageError("no event given: pass a file with one EventBridge event, or pipe it on stdin");
  const items = unwrapEvents(text);
  const deps = { policy: settings.policy, pool: createPool(settings) };
  if (items.length === 1) {
    const result = await handleCloudTrailEvent(items[0]!.event, deps);
    await emitReport(result, settings, io, renderResult);
    return result.report ? exitCodeOf(result.report) : 0;
  }
  const outcomes = await handleUnwrapped(items, deps);
  await emitReport({ results: outcomes }, settings, io, (report) => renderOutcomes(report.results));
  return exitCodeOfOutcomes(outcomes);
}
