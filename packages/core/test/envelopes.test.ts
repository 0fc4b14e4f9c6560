import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { invocationRecord } from "../../../test/support/envelopes.ts";
import { parseCloudTrailEvent } from "../src/cloudtrail.ts";
import { unwrapEvents } from "../src/envelopes.ts";
import { EventValidationError } from "../src/errors.ts";

const fixturesDir = new URL("../../../test/fixtures/cloudtrail/", import.meta.url);
const fixture = (name: string) => JSON.parse(readFileSync(new URL(`${name}.json`, fixturesDir), "utf8"));
const VPC = "vpc-0a71e831cb5152c43";
const event = fixture("ec2-create-vpc-assumed-role-with-tags");

/** An SQS record as Lambda's event source mapping delivers it. */
const sqsRecord = (messageId: string, body: string) => ({
  messageId,
  receiptHandle: "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a",
  body,
  attributes: { ApproximateReceiveCount: "1", SentTimestamp: "1763629931000" },
  messageAttributes: {},
  md5OfBody: "e4e68fb7bd0e697a0ae8f1bb342846b3",
  eventSource: "aws:sqs",
  eventSourceARN: "arn:aws:sqs:eu-west-1:123456789012:flowlog-guard-CreateVpcDelay",
  awsRegion: "eu-west-1",
});

/** An SNS notification as SNS delivers it to SQS (no raw delivery) or over HTTP. */
const snsNotification = (message: string) => ({
  Type: "Notification",
  MessageId: "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
  TopicArn: "arn:aws:sns:eu-west-1:123456789012:flowlog-guard-events",
  Message: message,
  Timestamp: "2026-11-20T09:10:20.000Z",
  SignatureVersion: "1",
});

/** LookupEvents' answer (CloudTrail Event history): the record as a JSON string in CloudTrailEvent. */
const lookupEvents = (...records: unknown[]) => ({
  Events: records.map((record) => ({
    EventId: (record as { eventID: string }).eventID,
    EventName: (record as { eventName: string }).eventName,
    ReadOnly: "false",
    EventTime: "2026-11-20T09:10:11+00:00",
    EventSource: "ec2.amazonaws.com",
    Username: "jdoe",
    Resources: [],
    CloudTrailEvent: JSON.stringify(record),
  })),
});

describe("unwrapEvents: every envelope an operator hands over", () => {
  it.each([
    ["the event itself", event, []],
    ["the event as a JSON string", JSON.stringify(event), ["json-string"]],
    ["Lambda's invocation record", invocationRecord(event), ["lambda-invocation-record"]],
    [
      "an invocation record as a JSON string (a DLQ message body)",
      JSON.stringify(invocationRecord(event)),
      ["json-string", "lambda-invocation-record"],
    ],
    [
      "one message as `aws sqs receive-message` prints it",
      { Messages: [{ MessageId: "m-1", ReceiptHandle: "rh", Body: JSON.stringify(event) }] },
      ["sqs-message"],
    ],
    ["an SNS notification", snsNotification(JSON.stringify(event)), ["sns-notification"]],
    [
      "an SNS notification inside an SQS message",
      { MessageId: "m-2", Body: JSON.stringify(snsNotification(JSON.stringify(event))) },
      ["sqs-message", "sns-notification"],
    ],
    [
      "SNS as Lambda receives it",
      {
        Records: [
          { EventSource: "aws:sns", EventVersion: "1.0", Sns: snsNotification(JSON.stringify(event)) },
        ],
      },
      ["sns-notification"],
    ],
  ])("%s", (_name, input, via) => {
    const [found, ...rest] = unwrapEvents(input);
    expect(rest).toEqual([]);
    expect(found!.via).toEqual(via);
    expect(parseCloudTrailEvent(found!.event).target).toEqual({ scope: "vpcs", vpcIds: [VPC] });
  });

  it("an SQS batch as Lambda receives it: every message, with its id for a partial batch response", () => {
    const batch = {
      Records: [
        sqsRecord("m-1", JSON.stringify(event)),
        sqsRecord("m-2", JSON.stringify(invocationRecord(fixture("logs-delete-log-group")))),
        sqsRecord("m-3", "not json"),
      ],
    };
    const found = unwrapEvents(batch);
    expect(found.map((item) => [item.sqsMessageId, item.via])).toEqual([
      ["m-1", ["sqs-batch"]],
      ["m-2", ["sqs-batch", "lambda-invocation-record"]],
      ["m-3", ["sqs-batch"]],
    ]);
    expect(parseCloudTrailEvent(found[1]!.event).eventName).toBe("DeleteLogGroup");
    // A message that is not JSON is refused on its own, naming it; the rest of the batch goes on.
    expect(() => parseCloudTrailEvent(found[2]!.event)).toThrow(EventValidationError);
  });

  it("CloudTrail Event history (LookupEvents): each record gets the envelope EventBridge would give it", () => {
    const createVpc = fixture("ec2-create-vpc-cloudformation");
    const deleteGroup = fixture("logs-delete-log-group");
    const found = unwrapEvents(lookupEvents(createVpc.detail, deleteGroup.detail));
    expect(found.map((item) => item.via)).toEqual([
      ["cloudtrail-lookup-events", "cloudtrail-record"],
      ["cloudtrail-lookup-events", "cloudtrail-record"],
    ]);
    for (const [item, original] of [
      [found[0]!, createVpc],
      [found[1]!, deleteGroup],
    ] as const) {
      const parsed = parseCloudTrailEvent(item.event);
      const expected = parseCloudTrailEvent(original);
      expect(parsed).toEqual(expected);
    }
  });

  it("one Event history entry, or its CloudTrailEvent string alone, or a trail's log file", () => {
    const record = fixture("ec2-create-vpc-cloudformation").detail;
    const [entry] = lookupEvents(record).Events;
    for (const input of [entry, record, JSON.stringify(record), { Records: [record] }]) {
      const found = unwrapEvents(input);
      expect(found).toHaveLength(1);
      expect(parseCloudTrailEvent(found[0]!.event).target).toEqual({ scope: "vpcs", vpcIds: [VPC] });
    }
  });

  it("a CloudTrail record of eventVersion 1.05 (no recipientAccountId) takes the caller's account", () => {
    const record = fixture("ec2-create-vpc-root-console-v1.05").detail;
    expect(record.recipientAccountId).toBeUndefined();
    expect(parseCloudTrailEvent(unwrapEvents(record)[0]!.event).account).toBe("123456789012");
  });

  it("refuses text that is not JSON and absurd nesting, naming the envelopes it takes", () => {
    expect(() => unwrapEvents("{not json")).toThrow(/not JSON\. Give the EventBridge event, an SQS message/);
    let nested: unknown = event;
    for (let depth = 0; depth < 12; depth++) nested = invocationRecord(nested);
    expect(() => unwrapEvents(nested)).toThrow(EventValidationError);
  });

  it("leaves anything else to the parser, which names the field", () => {
    const found = unwrapEvents({ hello: "world" });
    expect(found).toEqual([{ event: { hello: "world" }, via: [] }]);
    expect(() => parseCloudTrailEvent(found[0]!.event)).toThrow(
      /^id: .*flowlog-guard handles EventBridge "AWS API Call via CloudTrail" events/,
    );
  });
});
