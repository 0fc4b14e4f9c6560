import { readFile } from "node:fs/promises";
import { type EventHandlingResult, handleCloudTrailEvent } from "@flowlog-guard/core";
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

/** `handle-event [FILE|-]`: what the remediate Lambda does with one EventBridge event. */
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
  const pool = createPool(settings);
  const result = await handleCloudTrailEvent(text, { policy: settings.policy, pool });
  await emitReport(result, settings, io, renderResult);
  return result.report ? exitCodeOf(result.report) : 0;
}
