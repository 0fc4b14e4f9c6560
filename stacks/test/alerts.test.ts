import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { recordResources } from "./pulumi-mocks.ts";

const { recorded, ofType } = recordResources();
const settle = () => new Promise((resolve) => setTimeout(resolve, 300));
const resolved = <T>(value: unknown) =>
  new Promise<T>((resolve) => (pulumi.output(value) as pulumi.Output<T>).apply((v) => resolve(v)));

beforeAll(async () => {
  const { createAlerts } = await import("../alerts.ts");
  createAlerts({
    name: "Alerts",
    email: "oncall@example.com",
    deadLetterQueues: { RemediationDlq: { name: "flowlog-guard-RemediationDlq" } },
  });
  await settle();
});

describe("alerts (Pulumi mocks)", () => {
  it("subscribes the configured e-mail to the alert topic, which CloudWatch may publish to", async () => {
    expect(ofType("aws:sns/topicSubscription:TopicSubscription")).toEqual([
      expect.objectContaining({
        inputs: expect.objectContaining({ protocol: "email", endpoint: "oncall@example.com" }),
      }),
    ]);
    const policy = JSON.parse(
      (ofType("aws:sns/topicPolicy:TopicPolicy")[0]!.inputs.policy as string) ?? "{}",
    );
    expect(policy.Statement[0]).toMatchObject({
      Principal: { Service: "cloudwatch.amazonaws.com" },
      Action: "sns:Publish",
    });
  });

  it("alarms on any remediation failure, undelivered record, refused event, and any DLQ message, into the topic", async () => {
    const alarms = ofType("aws:cloudwatch/metricAlarm:MetricAlarm").map((alarm) => alarm.inputs);
    const byMetric = Object.fromEntries(alarms.map((alarm) => [alarm.metricName as string, alarm]));

    expect(Object.keys(byMetric).sort()).toEqual(
      [
        "ApproximateNumberOfMessagesVisible",
        "RefusedEvents",
        "RemediationFailures",
        "UndeliveredRecords",
      ].sort(),
    );
    for (const alarm of alarms) {
      expect(alarm).toMatchObject({
        comparisonOperator: "GreaterThanThreshold",
        threshold: 0,
        treatMissingData: "notBreaching",
      });
      expect(await resolved<string[]>(alarm.alarmActions)).toEqual([
        "arn:aws:mock:eu-west-1:111122223333:AlertsTopic",
      ]);
    }
    expect(byMetric.RemediationFailures).toMatchObject({
      namespace: "flowlog-guard",
      statistic: "Sum",
      dimensions: { service: "flowlog-guard" },
    });
    expect(byMetric.ApproximateNumberOfMessagesVisible).toMatchObject({
      namespace: "AWS/SQS",
      statistic: "Maximum",
      dimensions: { QueueName: "flowlog-guard-RemediationDlq" },
    });
  });

  it("refuses an alert e-mail that is not an address, before anything is created", async () => {
    const { createAlerts } = await import("../alerts.ts");
    expect(() => createAlerts({ name: "Bad", email: "oncall", deadLetterQueues: {} })).toThrow(
      /alertEmail "oncall" is not an e-mail address/,
    );
    expect(recorded.some((resource) => resource.name.startsWith("Bad"))).toBe(false);
  });
});
