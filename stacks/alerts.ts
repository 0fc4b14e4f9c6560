/**
 * Alerts: an SNS topic (with an optional e-mail subscription, a stack setting) and CloudWatch alarms
 * on flowlog-guard's own metrics and on every message in a dead-letter queue. Which alarms, on which
 * metrics, is data in core (alarmDefinitions); this file only wires it up.
 */
import { alarmDefinitions } from "@flowlog-guard/core/data";
import * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";

const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

export function createAlerts(args: {
  name: string;
  /** Receives the alarms; AWS mails a confirmation link first. Absent: the topic has no subscriber. */
  email?: string;
  /** Alarm name prefix -> the queue (its name is the CloudWatch dimension). */
  deadLetterQueues: Record<string, { name: pulumi.Input<string> }>;
}) {
  if (args.email !== undefined && !EMAIL.test(args.email))
    throw new Error(
      `alertEmail "${args.email}" is not an e-mail address: set it in stacks/config.ts, or remove it`,
    );
  const topic = new aws.sns.Topic(`${args.name}Topic`, {});
  new aws.sns.TopicPolicy(`${args.name}TopicPolicy`, {
    arn: topic.arn,
    policy: topic.arn.apply((topicArn) =>
      JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "CloudWatchAlarms",
            Effect: "Allow",
            Principal: { Service: "cloudwatch.amazonaws.com" },
            Action: "sns:Publish",
            Resource: topicArn,
          },
        ],
      }),
    ),
  });
  if (args.email)
    new aws.sns.TopicSubscription(`${args.name}Email`, {
      topic: topic.arn,
      protocol: "email",
      endpoint: args.email,
    });

  const queues = Object.fromEntries(Object.keys(args.deadLetterQueues).map((name) => [name, name]));
  const alarms = alarmDefinitions(queues).map((alarm) => {
    const queue = args.deadLetterQueues[alarm.dimensions.QueueName ?? ""];
    return new aws.cloudwatch.MetricAlarm(`${args.name}${alarm.name}`, {
      alarmDescription: alarm.description,
      namespace: alarm.namespace,
      metricName: alarm.metricName,
      dimensions: queue ? { QueueName: queue.name } : alarm.dimensions,
      statistic: alarm.statistic,
      period: 300,
      evaluationPeriods: 1,
      threshold: alarm.threshold,
      comparisonOperator: "GreaterThanThreshold",
      treatMissingData: alarm.treatMissingData,
      alarmActions: [topic.arn],
    });
  });
  return { topic, alarms };
}
