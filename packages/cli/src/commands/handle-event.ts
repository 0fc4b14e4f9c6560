import { readFile } from "node:fs/promises";
import {
  type EnvelopeItemOutcome,
  type EventHandlerDeps,
  type EventHandlingResult,
  handleCloudTrailEvent,
  handleUnwrapped,
  leftFailures,
  unwrapEvents,
} from "@flowlog-guard/core";
import { EXIT_CODES_HELP, type RegisterCommand } from "../command.ts";
import { createPoolFor } from "../context.ts";
import { UsageError } from "../errors.ts";
import type { Io } from "../io.ts";
import { addAwsOptions, addPolicyOptions, addReportOptions, resolveRunSettings } from "../options.ts";
import { checkOutputTarget, emitReport } from "../output.ts";
import { createProgress } from "../progress.ts";
import { exitCodeOf, renderReport } from "../render.ts";
import { watchInterrupts } from "./run.ts";

function renderResult(result: EventHandlingResult, dryRun = false): string {
  const { event } = result;
  const head =
    `${event.eventName} (${event.source}) in ${event.account}/${event.region}, event ${event.eventId}` +
    `${event.actorArn ? ` by ${event.actorArn}` : ""}\n${result.status.toUpperCase()}: ${result.reason}\n` +
    result.warnings.map((warning) => `WARNING: ${warning}\n`).join("");
  const title = `handle-event${dryRun ? " --dry-run (nothing changed)" : ""} (re-checked what the event names)`;
  return result.report ? `${head}\n${renderReport(result.report, { title })}` : head;
}

/** Several events (a batch, Event history's list): each with how it came and what became of it. */
export function renderOutcomes(outcomes: EnvelopeItemOutcome[], dryRun = false): string {
  return outcomes
    .map((item, index) => {
      const how = `event ${index + 1} of ${outcomes.length} (via ${item.via.join(" > ") || "as given"}${item.sqsMessageId ? `, message ${item.sqsMessageId}` : ""})`;
      if (item.outcome === "refused") return `${how}\nREFUSED, nothing changed: ${item.error}\n`;
      if (!item.result) return `${how}\nNOT STARTED: ${item.error}\n`;
      return `${how}\n${renderResult(item.result, dryRun)}`;
    })
    .join("\n");
}

/** 2 when an event was refused, else 3 when one left a VPC unfixed or non-compliant, else 0. */
export function exitCodeOfOutcomes(outcomes: EnvelopeItemOutcome[]): number {
  if (outcomes.some((item) => item.outcome === "refused")) return 2;
  if (outcomes.some((item) => item.outcome === "not-started")) return 3;
  return Math.max(0, ...outcomes.map((item) => (item.result?.report ? exitCodeOf(item.result.report) : 0)));
}

async function readEvent(file: string | undefined, io: Io): Promise<string> {
  if ((!file || file === "-") && io.stdinIsTTY) {
    throw new UsageError(
      "no event given: pass a file with one EventBridge event (flowlog-guard handle-event event.json), " +
        "or pipe one on stdin (... | flowlog-guard handle-event -)",
    );
  }
  let text: string;
  try {
    text = !file || file === "-" ? await io.readStdin() : await readFile(file, "utf8");
  } catch (error) {
    throw new UsageError(`cannot read event file ${file}: ${(error as Error).message}`);
  }
  if (text.trim() === "")
    throw new UsageError("no event given: pass a file with one EventBridge event, or pipe it on stdin");
  return text;
}

/**
 * `handle-event [FILE|-]`: what the remediate Lambda does with an event, given as it is or in any
 * envelope an operator has at hand (invocation record, SQS message or batch, SNS notification,
 * CloudTrail Event history record).
 */
async function handleEvent(
  file: string | undefined,
  options: Record<string, unknown>,
  io: Io,
): Promise<number> {
  const settings = resolveRunSettings(options, io.env);
  await checkOutputTarget(settings.output);
  const items = unwrapEvents(await readEvent(file, io));
  const dryRun = Boolean(options.dryRun);
  // The remediate function's guard: Ctrl-C or --deadline stops new changes (and the wait for a new
  // role); changes in flight finish and their records are published.
  const signals = watchInterrupts(io, createProgress(false));
  const deps = {
    policy: settings.policy,
    pool: await createPoolFor(settings, io.env),
    mode: dryRun ? ("dry-run" as const) : ("fix" as const),
    deadline: Date.now() + settings.deadlineMs,
    shouldStop: () => signals.interrupted() || Date.now() >= deps.deadline,
  };
  try {
    return await handleItems(items, deps, settings, io, dryRun);
  } finally {
    signals.dispose();
  }
}

async function handleItems(
  items: ReturnType<typeof unwrapEvents>,
  deps: EventHandlerDeps,
  settings: ReturnType<typeof resolveRunSettings>,
  io: Io,
  dryRun: boolean,
): Promise<number> {
  if (items.length === 1) {
    const result = await handleCloudTrailEvent(items[0]!.event, deps);
    await emitReport(result, settings, io, (r) => renderResult(r, dryRun), settings.policy);
    // Work the time limit (--deadline, Ctrl-C) left undone is unfinished work: exit 3, as for a failure.
    return result.report ? Math.max(exitCodeOf(result.report), leftFailures(result) ? 3 : 0) : 0;
  }
  const outcomes = await handleUnwrapped(items, deps);
  await emitReport(
    { results: outcomes },
    settings,
    io,
    (r) => renderOutcomes(r.results, dryRun),
    settings.policy,
  );
  return exitCodeOfOutcomes(outcomes);
}

export const registerHandleEvent: RegisterCommand = (program, wire) => {
  const command = program
    .command("handle-event")
    .description("Process one EventBridge CloudTrail event exactly as the remediate Lambda does")
    .argument("[file]", "file with one EventBridge event (JSON); - or nothing reads stdin")
    .option("--dry-run", "re-check and plan only, change nothing")
    .option(
      "--deadline <duration>",
      "time limit, as the remediate function's: no change starts (nor the wait for a new delivery " +
        "role goes on) past it, e.g. 90s, 2m (default: 15m; also FLOWLOG_GUARD_DEADLINE)",
    )
    .addHelpText(
      "after",
      `
The event is only a hint: the real state is read through the API before anything changes.
Events flowlog-guard does not handle, malformed ones and failed calls are refused with the
field named (exit 2) and change nothing. A VPC the event names that does not exist is a warning.
Ctrl-C or --deadline stops it as the remediate function stops before its time limit: changes in
flight finish, their change records are published, and what was not done is reported (exit 3).
Give the event as it is, or in whatever wraps it: Lambda's on-failure invocation record
(requestPayload), an SQS message or batch, an SNS notification, or a CloudTrail record from Event
history (LookupEvents' CloudTrailEvent); every event inside is handled.

Examples:
  flowlog-guard handle-event test/fixtures/cloudtrail/ec2-create-vpc-cloudformation.json
  flowlog-guard handle-event --dry-run event.json     what the Lambda would do, nothing changed
  aws sqs receive-message --queue-url URL | flowlog-guard handle-event -
  aws cloudtrail lookup-events --lookup-attributes AttributeKey=EventName,AttributeValue=CreateVpc \\
    --max-results 5 | flowlog-guard handle-event -
${EXIT_CODES_HELP}`,
    );
  addPolicyOptions(addAwsOptions(addReportOptions(command, { quiet: false })));
  wire(command, ({ io, options, args }) => handleEvent(args[0], options, io));
};
