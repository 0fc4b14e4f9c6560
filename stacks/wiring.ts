/**
 * The raw EventBridge, SQS and IAM wiring, as functions of names and ARNs so that it can be unit-tested
 * under Pulumi mocks (SST's Function cannot run there). Patterns come from core's data.
 */
import type { EventPattern } from "@flowlog-guard/core/data";
import { eventBridgeForwarderTrustPolicy, IAM_EVENTS_REGION } from "@flowlog-guard/core/data";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

type Patterns = Record<"ec2" | "logs" | "iam", EventPattern>;

/** Events from a dead-letter queue's rules are kept this long (the SQS maximum, 14 days). */
const DLQ_RETENTION_SECONDS = 1_209_600;

/** EventBridge retries delivery this long before a dead-letter queue gets the event. */
export const TARGET_RETRY_POLICY = { maximumRetryAttempts: 185, maximumEventAgeInSeconds: 86_400 };

/** The regions whose default bus forwards to the home bus: every watched region and us-east-1, but home. */
export function forwardingRegions(watched: string[], home: string): string[] {
  return [...new Set([...watched, IAM_EVENTS_REGION])].filter((region) => region !== home).sort();
}

/** Which patterns a region's default bus needs: IAM events arrive only in us-east-1. */
export function patternsFor(region: string, patterns: Patterns): [keyof Patterns, EventPattern][] {
  const kinds: (keyof Patterns)[] = region === IAM_EVENTS_REGION ? ["ec2", "logs", "iam"] : ["ec2", "logs"];
  return kinds.map((kind) => [kind, patterns[kind]]);
}

const regionId = (region: string) => region.replace(/-/g, "");
const capitalise = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/** One queue policy letting EventBridge deliver failed events from exactly these rules (a queue has one policy). */
export function deadLetterQueuePolicy(
  queueArn: string,
  ruleArns: string[],
  sid = "EventBridgeDeadLetters",
): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Sid: sid,
        Effect: "Allow",
        Principal: { Service: "events.amazonaws.com" },
        Action: "sqs:SendMessage",
        Resource: queueArn,
        Condition: { ArnEquals: { "aws:SourceArn": ruleArns } },
      },
    ],
  });
}

function deadLetterQueue(name: string, region: string | undefined, retain: boolean) {
  return new aws.sqs.Queue(
    name,
    {
      ...(region ? { region } : {}),
      messageRetentionSeconds: DLQ_RETENTION_SECONDS,
      sqsManagedSseEnabled: true,
    },
    { retainOnDelete: retain },
  );
}

/**
 * In every watched region but home (and us-east-1 always), rules on the default bus that forward
 * matching CloudTrail events to the home region's default bus, with a role allowed only
 * `events:PutEvents` there, and a dead-letter queue per region.
 */
export function createForwarders(args: {
  name: string;
  watchedRegions: string[];
  homeRegion: string;
  homeBusArn: pulumi.Input<string>;
  /** The deploying account: the only one whose rules may use the forwarding role. */
  accountId: pulumi.Input<string>;
  patterns: Patterns;
  retain: boolean;
}) {
  const role = new aws.iam.Role(`${args.name}ForwardRole`, {
    assumeRolePolicy: pulumi
      .output(args.accountId)
      .apply((accountId) => JSON.stringify(eventBridgeForwarderTrustPolicy(accountId))),
  });
  new aws.iam.RolePolicy(`${args.name}ForwardPolicy`, {
    role: role.id,
    policy: pulumi.output(args.homeBusArn).apply((arn) =>
      JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Action: "events:PutEvents", Resource: arn }],
      }),
    ),
  });
  const forwarders = forwardingRegions(args.watchedRegions, args.homeRegion).map((region) => {
    const id = regionId(region);
    const queue = deadLetterQueue(`${args.name}ForwardDlq${id}`, region, args.retain);
    const rules = patternsFor(region, args.patterns).map(([kind, pattern]) => {
      const rule = new aws.cloudwatch.EventRule(`${args.name}Forward${capitalise(kind)}${id}`, {
        region,
        eventBusName: "default",
        description: `flowlog-guard: forward ${kind} CloudTrail events to ${args.homeRegion}`,
        eventPattern: JSON.stringify(pattern),
      });
      new aws.cloudwatch.EventTarget(`${args.name}Forward${capitalise(kind)}${id}Target`, {
        region,
        rule: rule.name,
        eventBusName: "default",
        arn: args.homeBusArn,
        roleArn: role.arn,
        deadLetterConfig: { arn: queue.arn },
      });
      return rule;
    });
    new aws.sqs.QueuePolicy(`${args.name}ForwardDlq${id}Policy`, {
      region,
      queueUrl: queue.url,
      policy: pulumi
        .all([queue.arn, ...rules.map((rule) => rule.arn)])
        .apply(([queueArn, ...ruleArns]) => deadLetterQueuePolicy(queueArn, ruleArns)),
    });
    return { region, queue, rules };
  });
  return { role, forwarders };
}

/**
 * In the home region, rules on the default bus (local and forwarded events alike) that invoke the
 * remediate function, with a retry policy and a dead-letter queue for events that cannot be delivered.
 */
export function createHomeRules(args: {
  name: string;
  patterns: Patterns;
  functionArn: pulumi.Input<string>;
  functionName: pulumi.Input<string>;
  deadLetterQueue: { arn: pulumi.Input<string>; url: pulumi.Input<string> };
  /** Other home rules whose targets use the same dead-letter queue (a queue has one policy). */
  otherRuleArns?: pulumi.Input<string>[];
}) {
  const rules = (["ec2", "logs", "iam"] as const).map((kind) => {
    const rule = new aws.cloudwatch.EventRule(`${args.name}${capitalise(kind)}Rule`, {
      eventBusName: "default",
      description: `flowlog-guard: ${kind} CloudTrail events -> remediate`,
      eventPattern: JSON.stringify(args.patterns[kind]),
    });
    const permission = new aws.lambda.Permission(`${args.name}${capitalise(kind)}Invoke`, {
      action: "lambda:InvokeFunction",
      function: args.functionName,
      principal: "events.amazonaws.com",
      sourceArn: rule.arn,
    });
    new aws.cloudwatch.EventTarget(
      `${args.name}${capitalise(kind)}Target`,
      {
        rule: rule.name,
        eventBusName: "default",
        arn: args.functionArn,
        retryPolicy: TARGET_RETRY_POLICY,
        deadLetterConfig: { arn: args.deadLetterQueue.arn },
      },
      { dependsOn: [permission] },
    );
    return rule;
  });
  new aws.sqs.QueuePolicy(`${args.name}DlqPolicy`, {
    queueUrl: args.deadLetterQueue.url,
    policy: pulumi
      .all([args.deadLetterQueue.arn, ...rules.map((rule) => rule.arn), ...(args.otherRuleArns ?? [])])
      .apply(([queueArn, ...ruleArns]) => deadLetterQueuePolicy(queueArn, ruleArns)),
  });
  return { rules };
}

/** Lambda may read a batch item this often before SQS moves it to the dead-letter queue. */
export const DELAY_QUEUE_MAX_RECEIVES = 3;
/** Six times the remediate function's 3-minute timeout, as AWS advises for an SQS event source. */
export const DELAY_QUEUE_VISIBILITY_SECONDS = 1_080;

/**
 * The queue that carries CreateVpc events for `createVpcGraceSeconds` before the function sees them
 * (DelaySeconds), so that IaC that adds its own flow log in that window is left alone. It batches
 * too, and moves what failed three times to the standard dead-letter queue.
 */
export function createDelayQueue(args: {
  name: string;
  graceSeconds: number;
  deadLetterQueueArn: pulumi.Input<string>;
}) {
  return new aws.sqs.Queue(args.name, {
    delaySeconds: args.graceSeconds,
    visibilityTimeoutSeconds: DELAY_QUEUE_VISIBILITY_SECONDS,
    sqsManagedSseEnabled: true,
    redrivePolicy: pulumi
      .output(args.deadLetterQueueArn)
      .apply((arn) =>
        JSON.stringify({ deadLetterTargetArn: arn, maxReceiveCount: DELAY_QUEUE_MAX_RECEIVES }),
      ),
  });
}

/**
 * The home rule for delayed events: it sends them to the delay queue (EventBridge allowed by the
 * queue's policy for this rule only), and the queue feeds the function in batches; the function
 * answers `batchItemFailures`, so only the messages that failed are retried.
 */
export function routeDelayedEvents(args: {
  name: string;
  pattern: EventPattern;
  queue: { arn: pulumi.Input<string>; url: pulumi.Input<string> };
  functionName: pulumi.Input<string>;
  deadLetterQueueArn: pulumi.Input<string>;
}) {
  const rule = new aws.cloudwatch.EventRule(`${args.name}Rule`, {
    eventBusName: "default",
    description: "flowlog-guard: CreateVpc CloudTrail events -> delay queue -> remediate",
    eventPattern: JSON.stringify(args.pattern),
  });
  new aws.cloudwatch.EventTarget(`${args.name}Target`, {
    rule: rule.name,
    eventBusName: "default",
    arn: args.queue.arn,
    retryPolicy: TARGET_RETRY_POLICY,
    deadLetterConfig: { arn: args.deadLetterQueueArn },
  });
  new aws.sqs.QueuePolicy(`${args.name}QueuePolicy`, {
    queueUrl: args.queue.url,
    policy: pulumi
      .all([args.queue.arn, rule.arn])
      .apply(([queueArn, ruleArn]) => deadLetterQueuePolicy(queueArn, [ruleArn], "EventBridgeDelayedEvents")),
  });
  new aws.lambda.EventSourceMapping(`${args.name}Mapping`, {
    eventSourceArn: args.queue.arn,
    functionName: args.functionName,
    batchSize: 10,
    maximumBatchingWindowInSeconds: 5,
    functionResponseTypes: ["ReportBatchItemFailures"],
  });
  return { rule };
}

/** The home dead-letter queue: undeliverable events, and events whose remediation failed after Lambda's retries. */
export function createHomeDeadLetterQueue(name: string, retain: boolean) {
  return deadLetterQueue(name, undefined, retain);
}

/** Keeps every change record for 365 days, replayable, whatever consumes the bus. */
export function createChangeRecordArchive(args: {
  name: string;
  busArn: pulumi.Input<string>;
  retain: boolean;
}) {
  return new aws.cloudwatch.EventArchive(
    args.name,
    {
      eventSourceArn: args.busArn,
      retentionDays: 365,
      description: "flowlog-guard change records",
      eventPattern: JSON.stringify({ source: ["flowlog-guard"], "detail-type": ["Flow Log Remediation"] }),
    },
    { retainOnDelete: args.retain },
  );
}
