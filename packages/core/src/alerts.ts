/**
 * The functions' CloudWatch metrics (Embedded Metric Format, through Powertools Metrics) and the alarms
 * the stacks put on them. Names are a public contract: dashboards and alarms are built on them.
 */
export const METRICS_NAMESPACE = "flowlog-guard";
export const METRICS_SERVICE = "flowlog-guard";

export const METRIC = {
  /** VPCs remediated (flow log created or repaired). */
  remediations: "Remediations",
  /** VPCs that could not be fixed, and regions or accounts that could not be read. */
  failures: "RemediationFailures",
  /** Events the remediate function refused (malformed, not one it handles). */
  refusedEvents: "RefusedEvents",
  /** Change records (and Exception Expiring events) that did not reach the ledger bus. */
  undeliveredRecords: "UndeliveredRecords",
} as const;

export type MetricName = (typeof METRIC)[keyof typeof METRIC];

/** The counts of one run, as the metrics the functions emit. */
export interface RunMetrics {
  remediations: number;
  failures: number;
  refusedEvents: number;
  undeliveredRecords: number;
}

/** What one run report (fix-all, or the run behind one event) counts for the metrics. */
export function metricsOfSummary(summary: {
  remediated: number;
  failed: number;
  regionsFailed: number;
  recordsUndelivered: number;
}): RunMetrics {
  return {
    remediations: summary.remediated,
    failures: summary.failed + summary.regionsFailed,
    refusedEvents: 0,
    undeliveredRecords: summary.recordsUndelivered,
  };
}

export function addRunMetrics(a: RunMetrics, b: RunMetrics): RunMetrics {
  return {
    remediations: a.remediations + b.remediations,
    failures: a.failures + b.failures,
    refusedEvents: a.refusedEvents + b.refusedEvents,
    undeliveredRecords: a.undeliveredRecords + b.undeliveredRecords,
  };
}

/** One alarm the stacks create: on a flowlog-guard metric, or on a dead-letter queue. */
export interface AlarmDefinition {
  name: string;
  description: string;
  namespace: string;
  metricName: string;
  /** `service` for flowlog-guard metrics; `QueueName` for a queue. */
  dimensions: Record<string, string>;
  statistic: "Sum" | "Maximum";
  threshold: number;
  /** Quiet metrics (no failures, an empty DLQ that SQS stops reporting) are fine, not unknown. */
  treatMissingData: "notBreaching";
}

/**
 * The alarms: any remediation failure, any undelivered record, any refused event, and any message in
 * each dead-letter queue (ApproximateNumberOfMessagesVisible, Maximum > 0 over 5 minutes).
 */
export function alarmDefinitions(deadLetterQueueNames: Record<string, string>): AlarmDefinition[] {
  const ours = (name: string, metricName: MetricName, description: string): AlarmDefinition => ({
    name,
    description,
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensions: { service: METRICS_SERVICE },
    statistic: "Sum",
    threshold: 0,
    treatMissingData: "notBreaching",
  });
  return [
    ours(
      "RemediationFailures",
      METRIC.failures,
      "flowlog-guard could not fix a VPC or read a region: see the function's log",
    ),
    ours("UndeliveredRecords", METRIC.undeliveredRecords, "change records did not reach the ledger bus"),
    ours(
      "RefusedEvents",
      METRIC.refusedEvents,
      "the remediate function refused events (malformed or unexpected)",
    ),
    ...Object.entries(deadLetterQueueNames).map(([name, queueName]) => ({
      name: `${name}Messages`,
      description: `a message is in dead-letter queue ${queueName}: an event or schedule was not handled (redrive it: flowlog-guard redrive)`,
      namespace: "AWS/SQS",
      metricName: "ApproximateNumberOfMessagesVisible",
      dimensions: { QueueName: queueName },
      statistic: "Maximum" as const,
      threshold: 0,
      treatMissingData: "notBreaching" as const,
    })),
  ];
}
