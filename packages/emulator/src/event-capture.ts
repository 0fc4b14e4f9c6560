import {
  CreateEventBusCommand,
  EventBridgeClient,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
} from "@aws-sdk/client-eventbridge";
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";

/** moto's default account: what the emulator answers for with any fake credentials. */
export const MOTO_ACCOUNT_ID = "123456789012";

export interface EventCapture {
  busArn: string;
  queueUrl: string;
  /** Every event the rule matched since the last drain, in arrival order. */
  drain(): Promise<Record<string, unknown>[]>;
}

/**
 * An EventBridge rule with an SQS queue as its target, on the emulator: how tests, the demo and the
 * benchmark watch what a rule matches. `bus` "default" uses the region's default bus; any other
 * name is created.
 */
export async function captureEvents(options: {
  region: string;
  bus: string;
  pattern: object;
  name: string;
}): Promise<EventCapture> {
  const { region, bus, name } = options;
  const events = new EventBridgeClient({ region });
  const sqs = new SQSClient({ region });
  const busArn =
    bus === "default"
      ? `arn:aws:events:${region}:${MOTO_ACCOUNT_ID}:event-bus/default`
      : (await events.send(new CreateEventBusCommand({ Name: bus }))).EventBusArn!;
  const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `${name}-queue` }))).QueueUrl!;
  const attributes = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["QueueArn"] }),
  );
  const queueArn = attributes.Attributes!.QueueArn!;
  const statement = {
    Effect: "Allow",
    Principal: { Service: "events.amazonaws.com" },
    Action: "sqs:SendMessage",
    Resource: queueArn,
  };
  await sqs.send(
    new SetQueueAttributesCommand({
      QueueUrl: queueUrl,
      Attributes: { Policy: JSON.stringify({ Version: "2012-10-17", Statement: [statement] }) },
    }),
  );
  await events.send(
    new PutRuleCommand({ Name: name, EventBusName: bus, EventPattern: JSON.stringify(options.pattern) }),
  );
  await events.send(
    new PutTargetsCommand({ Rule: name, EventBusName: bus, Targets: [{ Id: "queue", Arn: queueArn }] }),
  );
  return {
    busArn,
    queueUrl,
    async drain() {
      const bodies: Record<string, unknown>[] = [];
      for (;;) {
        const response = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }),
        );
        const messages = response.Messages ?? [];
        if (messages.length === 0) break;
        for (const message of messages) bodies.push(JSON.parse(message.Body ?? "null"));
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: messages.map((message, index) => ({
              Id: String(index),
              ReceiptHandle: message.ReceiptHandle!,
            })),
          }),
        );
      }
      // moto's EventBridge leaves `account` out of the envelope it delivers; real EventBridge always
      // sets it (the account whose bus received the event), so add it as EventBridge would.
      return bodies.map((event) => ({ account: MOTO_ACCOUNT_ID, ...event }));
    },
  };
}

/** Puts an EventBridge event (envelope with source, detail-type, region, detail) on the region's default bus. */
export async function putEnvelope(event: Record<string, unknown>): Promise<void> {
  const events = new EventBridgeClient({ region: event.region as string });
  const response = await events.send(
    new PutEventsCommand({
      Entries: [
        {
          Source: event.source as string,
          DetailType: event["detail-type"] as string,
          Detail: JSON.stringify(event.detail),
        },
      ],
    }),
  );
  if (response.FailedEntryCount) throw new Error(`PutEvents failed: ${JSON.stringify(response.Entries)}`);
}

/**
 * Several rules on the regions' default buses, each with its own queue, read as one: what the
 * remediation rules of a deployment match, for the demo and the tests.
 */
export async function captureDefaultBusRules(
  rules: { region: string; pattern: object; name: string }[],
): Promise<Pick<EventCapture, "drain">> {
  const captures: EventCapture[] = [];
  for (const rule of rules) captures.push(await captureEvents({ ...rule, bus: "default" }));
  return {
    async drain() {
      const all: Record<string, unknown>[] = [];
      for (const capture of captures) all.push(...(await capture.drain()));
      return all;
    },
  };
}
