import { EventValidationError } from "./errors.ts";
import { CLOUDTRAIL_DETAIL_TYPE } from "./event-patterns.ts";

/** How an event reached us, outermost first: what an operator sees in a report. */
export type EnvelopeKind =
  | "json-string"
  | "lambda-invocation-record"
  | "sqs-batch"
  | "sqs-message"
  | "sns-notification"
  | "cloudtrail-lookup-events"
  | "cloudtrail-record";

/** One event found inside what was handed over, with the wrappers it came in. */
export interface UnwrappedEvent {
  /** An EventBridge event (validated later by the CloudTrail parser). */
  event: unknown;
  via: EnvelopeKind[];
  /** The SQS message it came in, for partial batch responses and for deleting it after handling. */
  sqsMessageId?: string;
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);
const text = (value: unknown): string | undefined =>
  typeof value === "string" && value !== "" ? value : undefined;

/** Wrappers nest a few deep at most (SNS in SQS in an invocation record); deeper input is refused. */
const MAX_DEPTH = 8;

/**
 * Finds the EventBridge events inside whatever an operator hands flowlog-guard: the event itself or
 * as a JSON string; Lambda's on-failure invocation record (`requestPayload`); an SQS message (as
 * `aws sqs receive-message` prints it, one or a `Messages` list) or an SQS batch as Lambda receives
 * it; an SNS notification (alone, in SQS, or as Lambda receives it); a CloudTrail record from Event
 * history (LookupEvents' `Events`, one event, or its `CloudTrailEvent` string) or a trail's log file
 * (`Records`), which is given the envelope EventBridge would have given it.
 *
 * @throws EventValidationError for text that is not JSON, or wrappers nested absurdly deep.
 * @example unwrapEvents(JSON.stringify({ requestPayload: event, requestContext: {} }))[0].event === event
 */
export function unwrapEvents(input: unknown): UnwrappedEvent[] {
  return unwrap(input, [], undefined, 0);
}

function unwrap(input: unknown, via: EnvelopeKind[], sqsMessageId: string | undefined, depth: number) {
  if (depth > MAX_DEPTH)
    throw new EventValidationError(`(event): wrapped more than ${MAX_DEPTH} levels deep`, "(event)");
  const next = (value: unknown, kind?: EnvelopeKind, messageId = sqsMessageId): UnwrappedEvent[] =>
    unwrap(value, kind ? [...via, kind] : via, messageId, depth + 1);

  if (typeof input === "string") {
    // A message of a batch that is not JSON is refused on its own; the rest of the batch goes on.
    if (sqsMessageId && !isJson(input)) return [leaf(input, via, sqsMessageId)];
    return next(parseJson(input), via.length === 0 ? "json-string" : undefined);
  }
  if (Array.isArray(input)) return input.flatMap((item) => next(item));
  if (!isObject(input) || "detail-type" in input) return [leaf(input, via, sqsMessageId)];

  if ("requestPayload" in input && ("requestContext" in input || "responseContext" in input))
    return next(input.requestPayload, "lambda-invocation-record");
  if (Array.isArray(input.Records)) return unwrapRecords(input.Records, next);
  if (Array.isArray(input.Messages))
    return input.Messages.flatMap((message) => next(message, undefined, undefined));
  if (typeof input.Body === "string" && (text(input.MessageId) || text(input.ReceiptHandle)))
    return next(input.Body, "sqs-message", text(input.MessageId) ?? sqsMessageId);
  if (input.Type === "Notification" && typeof input.Message === "string")
    return next(input.Message, "sns-notification");
  if (Array.isArray(input.Events)) return next(input.Events, "cloudtrail-lookup-events");
  if (typeof input.CloudTrailEvent === "string") return next(input.CloudTrailEvent);
  if (isCloudTrailRecord(input))
    return [leaf(asEventBridgeEvent(input), [...via, "cloudtrail-record"], sqsMessageId)];
  return [leaf(input, via, sqsMessageId)];
}

type Next = (value: unknown, kind?: EnvelopeKind, messageId?: string) => UnwrappedEvent[];

/** `Records`: an SQS or SNS batch as Lambda receives it, or a CloudTrail log file. */
function unwrapRecords(records: unknown[], next: Next): UnwrappedEvent[] {
  return records.flatMap((record) => {
    if (isObject(record) && record.eventSource === "aws:sqs" && typeof record.body === "string")
      return next(record.body, "sqs-batch", text(record.messageId));
    if (isObject(record) && record.EventSource === "aws:sns" && isObject(record.Sns))
      return next(record.Sns.Message, "sns-notification");
    return next(record);
  });
}

function leaf(event: unknown, via: EnvelopeKind[], sqsMessageId: string | undefined): UnwrappedEvent {
  return { event, via, ...(sqsMessageId ? { sqsMessageId } : {}) };
}

function isJson(input: string): boolean {
  try {
    JSON.parse(input);
    return true;
  } catch {
    return false;
  }
}

function parseJson(input: string): unknown {
  try {
    return JSON.parse(input);
  } catch {
    throw new EventValidationError(
      "(event): not JSON. Give the EventBridge event, an SQS message or batch, an SNS notification, " +
        "Lambda's invocation record, or a CloudTrail record (Event history's CloudTrailEvent)",
      "(event)",
    );
  }
}

/** A bare CloudTrail record, as Event history (LookupEvents) or a trail's log file holds it. */
function isCloudTrailRecord(value: Json): boolean {
  return Boolean(text(value.eventVersion) && text(value.eventSource) && text(value.eventName));
}

/**
 * The EventBridge envelope CloudTrail's delivery to EventBridge puts around a record: `source` from the
 * service (`ec2.amazonaws.com` -> `aws.ec2`), the account that received the call, and its region.
 */
export function asEventBridgeEvent(record: Json): Json {
  const service = String(record.eventSource).split(".")[0];
  const identity = isObject(record.userIdentity) ? record.userIdentity : {};
  const account = text(record.recipientAccountId) ?? text(identity.accountId);
  return {
    version: "0",
    id: record.eventID,
    "detail-type": CLOUDTRAIL_DETAIL_TYPE,
    source: `aws.${service}`,
    ...(account ? { account } : {}),
    time: record.eventTime,
    region: record.awsRegion,
    resources: [],
    detail: record,
  };
}
