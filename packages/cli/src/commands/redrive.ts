import { DeleteMessageCommand, type Message, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import {
  describeError,
  type EnvelopeItemOutcome,
  type EventHandlerDeps,
  handleEnvelope,
  sdkClientConfig,
} from "@flowlog-guard/core";
import { EXIT_CODES_HELP, type RegisterCommand } from "../command.ts";
import { createAccessFor } from "../context.ts";
import { UsageError } from "../errors.ts";
import type { Io } from "../io.ts";
import { addAwsOptions, addPolicyOptions, addReportOptions, resolveRunSettings } from "../options.ts";
import { checkOutputTarget, emitReport } from "../output.ts";
import { renderOutcomes } from "./handle-event.ts";

/** A message stays invisible to others this long while it is handled (one event takes minutes at most). */
const VISIBILITY_TIMEOUT_SECONDS = 900;

export interface RedrivenMessage {
  messageId: string;
  /** Deleted from the queue: every event in it was handled (or is nothing to act on). */
  deleted: boolean;
  outcomes: EnvelopeItemOutcome[];
  /** Why the message was kept. */
  error?: string;
}

export interface RedriveReport {
  queueUrl: string;
  received: number;
  deleted: number;
  kept: number;
  messages: RedrivenMessage[];
}

/** `https://sqs.eu-west-1.amazonaws.com/...` -> eu-west-1; undefined for other endpoints. */
export function regionOfQueueUrl(queueUrl: string): string | undefined {
  return /^https:\/\/sqs[.-]([a-z]{2}(-[a-z]+)+-\d{1,2})\.amazonaws\.com/.exec(queueUrl)?.[1];
}

async function redriveMessage(message: Message, deps: EventHandlerDeps): Promise<RedrivenMessage> {
  const messageId = message.MessageId ?? "(no id)";
  try {
    const outcomes = await handleEnvelope({ MessageId: messageId, Body: message.Body ?? "" }, deps);
    const deleted = outcomes.every((item) => item.outcome === "handled" || item.outcome === "ignored");
    return { messageId, deleted, outcomes };
  } catch (error) {
    return { messageId, deleted: false, outcomes: [], error: describeError(error) };
  }
}

/**
 * Replays a dead-letter queue through the event handler: each message (an EventBridge event, or
 * Lambda's invocation record around one) is handled as the remediate function would, and deleted only
 * once every event in it was handled. A message that fails or is refused stays in the queue.
 */
export async function redriveQueue(options: {
  queueUrl: string;
  sqs: SQSClient;
  deps: EventHandlerDeps;
  maxMessages: number;
  onMessage?: (message: RedrivenMessage) => void;
}): Promise<RedriveReport> {
  const { queueUrl, sqs } = options;
  const messages: RedrivenMessage[] = [];
  const seen = new Set<string>();
  while (messages.length < options.maxMessages) {
    const received = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: Math.min(10, options.maxMessages - messages.length),
        VisibilityTimeout: VISIBILITY_TIMEOUT_SECONDS,
        WaitTimeSeconds: 2,
      }),
    );
    const fresh = (received.Messages ?? []).filter((message) => !seen.has(message.MessageId ?? ""));
    if (fresh.length === 0) break;
    for (const message of fresh) {
      seen.add(message.MessageId ?? "");
      const outcome = await redriveMessage(message, options.deps);
      if (outcome.deleted)
        await sqs.send(
          new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }),
        );
      messages.push(outcome);
      options.onMessage?.(outcome);
    }
  }
  const deleted = messages.filter((message) => message.deleted).length;
  return { queueUrl, received: messages.length, deleted, kept: messages.length - deleted, messages };
}

function renderRedrive(report: RedriveReport): string {
  const lines = report.messages.map((message) => {
    const head = `${message.deleted ? "DELETED" : "KEPT"} message ${message.messageId}`;
    if (message.error) return `${head}: ${message.error}\n`;
    return `${head}\n${renderOutcomes(message.outcomes)}`;
  });
  return (
    `${lines.join("\n")}\nredrive of ${report.queueUrl}: ${report.received} message(s) received, ` +
    `${report.deleted} handled and deleted, ${report.kept} kept in the queue\n`
  );
}

/** `redrive --queue URL`: replays a dead-letter queue through the handler. */
async function redriveCommand(options: Record<string, unknown>, io: Io): Promise<number> {
  const queueUrl = options.queue as string | undefined;
  if (!queueUrl || !/^https?:\/\/\S+\/\d{12}\/[\w-]{1,80}$/.test(queueUrl)) {
    throw new UsageError(
      `--queue takes the dead-letter queue's URL, like https://sqs.eu-west-1.amazonaws.com/111122223333/RemediationDlq, not ${JSON.stringify(queueUrl ?? "")}`,
    );
  }
  const rawMax = (options.maxMessages as string | undefined) ?? "1000";
  if (!/^\d+$/.test(rawMax) || Number(rawMax) < 1)
    throw new UsageError(`--max-messages must be a whole number >= 1, not ${JSON.stringify(rawMax)}`);
  const settings = resolveRunSettings(options, io.env);
  await checkOutputTarget(settings.output);
  const region = regionOfQueueUrl(queueUrl) ?? io.env.AWS_REGION ?? io.env.AWS_DEFAULT_REGION ?? "us-east-1";
  // The queue is read with the same credentials, timeouts and endpoint as every other call.
  const { pool, credentials } = await createAccessFor(settings, io.env);
  const sqs = new SQSClient(
    sdkClientConfig({ region, credentials, requestTimeoutMs: settings.requestTimeoutMs }),
  );
  const report = await redriveQueue({
    queueUrl,
    sqs,
    deps: { policy: settings.policy, pool },
    maxMessages: Number(rawMax),
    onMessage: (message) => {
      if (!settings.json)
        io.stderr.write(
          `redrive: message ${message.messageId} ${message.deleted ? "handled, deleted" : "kept"}\n`,
        );
    },
  });
  await emitReport(report, settings, io, renderRedrive, settings.policy);
  return report.kept === 0 ? 0 : 3;
}

export const registerRedrive: RegisterCommand = (program, wire) => {
  const command = program
    .command("redrive")
    .description("Replay a dead-letter queue through the event handler; delete each message once handled")
    .requiredOption("--queue <url>", "URL of the SQS dead-letter queue (RemediationDlq in the deploy output)")
    .option("--max-messages <n>", "stop after this many messages (default: 1000)")
    .addHelpText(
      "after",
      `
Each message (an EventBridge event, or Lambda's invocation record around one) is handled exactly
as handle-event does. A message is deleted only after every event in it was handled or found to
need nothing; one that fails or is refused stays in the queue (visible again after 15 minutes)
and the run exits 3. Run it again once the cause is fixed. Permissions: what handle-event needs,
and sqs:ReceiveMessage/DeleteMessage on the queue (flowlog-guard iam-policy --queue URL prints both).

Examples:
  flowlog-guard redrive --queue https://sqs.us-east-1.amazonaws.com/111122223333/RemediationDlq
  flowlog-guard redrive --queue URL --max-messages 10 --json > redrive.json
${EXIT_CODES_HELP}`,
    );
  addPolicyOptions(addAwsOptions(addReportOptions(command, { quiet: false })));
  wire(command, ({ io, options }) => redriveCommand(options, io));
};
