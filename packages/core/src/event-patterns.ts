import type { Policy } from "./config.ts";
import { logGroupEventPrefix } from "./log-group-template.ts";

export const CLOUDTRAIL_DETAIL_TYPE = "AWS API Call via CloudTrail";

/** The CloudTrail API calls flowlog-guard reacts to, per EventBridge source. A public contract. */
export const HANDLED_EVENTS = {
  "aws.ec2": {
    eventSource: "ec2.amazonaws.com",
    eventNames: [
      "CreateVpc",
      "CreateDefaultVpc",
      "DeleteFlowLogs",
      "CreateTags",
      "DeleteTags",
      "CreateSubnet",
      "CreateDefaultSubnet",
    ],
  },
  "aws.logs": {
    eventSource: "logs.amazonaws.com",
    eventNames: ["DeleteLogGroup", "PutRetentionPolicy", "DeleteRetentionPolicy", "DisassociateKmsKey"],
  },
  "aws.iam": {
    eventSource: "iam.amazonaws.com",
    eventNames: [
      "DeleteRole",
      "DeleteRolePolicy",
      "PutRolePolicy",
      "DetachRolePolicy",
      "UpdateAssumeRolePolicy",
      // A managed policy or a permissions boundary on the delivery role can deny delivery: both are removed.
      "AttachRolePolicy",
      "PutRolePermissionsBoundary",
    ],
  },
} as const;

export type HandledSource = keyof typeof HANDLED_EVENTS;

/** Subnet events: the EC2 rule matches them only when `resourceType` is `Subnet`. */
export const SUBNET_EVENT_NAMES: readonly string[] = ["CreateSubnet", "CreateDefaultSubnet"];

/** An EventBridge event pattern, as PutRule takes it (JSON.stringify it). */
export type EventPattern = {
  source: string[];
  "detail-type": string[];
  detail: Record<string, unknown>;
};

/**
 * What the daily schedule sends the fix-all function. SST's CronV2 (EventBridge Scheduler) sends its
 * `event` verbatim, `{}` when none is given, which cannot be told apart from a manual `{}`; the stack
 * passes this payload so that runs and their change records say `schedule`.
 */
export const SCHEDULED_FIX_ALL_EVENT = { trigger: "schedule" } as const;

/** IAM (a global service) delivers its CloudTrail events only to us-east-1's default bus. */
export const IAM_EVENTS_REGION = "us-east-1";

/**
 * The EventBridge patterns for the rules that trigger remediation: one source of truth for the
 * stacks, the demo and the tests. Failed calls (with an `errorCode`) never match. Log-group and
 * role events match only names the policy can produce. Tag events match by name only: EventBridge
 * cannot tell a VPC's exception tag from any other tag reliably, so the handler filters them.
 * CreateSubnet and CreateDefaultSubnet are matched only in Subnet mode (`resourceType: Subnet`).
 *
 * @example
 * const patterns = buildEventPatterns(parsePolicy({}));
 * await events.send(new PutRuleCommand({ Name: "fg-ec2", EventPattern: JSON.stringify(patterns.ec2) }));
 */
export function buildEventPatterns(
  policy: Pick<Policy, "logGroupName" | "roleName"> & Partial<Pick<Policy, "resourceType">>,
): Record<"ec2" | "logs" | "iam", EventPattern> {
  const failedCallsExcluded = { errorCode: [{ exists: false }] };
  const watched = (name: string) => policy.resourceType === "Subnet" || !SUBNET_EVENT_NAMES.includes(name);
  const pattern = (source: HandledSource, extra: Record<string, unknown> = {}): EventPattern => ({
    source: [source],
    "detail-type": [CLOUDTRAIL_DETAIL_TYPE],
    detail: {
      eventSource: [HANDLED_EVENTS[source].eventSource],
      eventName: HANDLED_EVENTS[source].eventNames.filter(watched),
      ...failedCallsExcluded,
      ...extra,
    },
  });
  const fixedPrefix = logGroupEventPrefix(policy.logGroupName);
  return {
    ec2: pattern("aws.ec2"),
    logs: pattern(
      "aws.logs",
      fixedPrefix ? { requestParameters: { logGroupName: [{ prefix: fixedPrefix }] } } : {},
    ),
    iam: pattern("aws.iam", { requestParameters: { roleName: [policy.roleName] } }),
  };
}

/**
 * The events that wait out `createVpcGraceSeconds` before they reach the function: a new VPC, and in
 * Subnet mode a new subnet (infrastructure as code that creates a VPC, its subnets and its VPC flow
 * log together is then seen with its flow log, and no subnet flow log is added).
 */
export const DELAYED_EVENT_NAMES: readonly string[] = ["CreateVpc", ...SUBNET_EVENT_NAMES];

/**
 * The home region's rules for a grace period: with `createVpcGraceSeconds` > 0, CreateVpc (and in
 * Subnet mode CreateSubnet and CreateDefaultSubnet) leaves the
 * EC2 rule (which then acts at once on the rest) for a rule of its own whose target is an SQS delay
 * queue in front of the function; with 0, everything acts at once, as before. Forwarding from other
 * regions keeps the full patterns: the split happens where the rules invoke the function.
 */
export function splitDelayedEvents(
  patterns: Record<"ec2" | "logs" | "iam", EventPattern>,
  graceSeconds: number,
): { immediate: Record<"ec2" | "logs" | "iam", EventPattern>; delayed?: EventPattern } {
  if (graceSeconds <= 0) return { immediate: patterns };
  const delayed = new Set<string>(DELAYED_EVENT_NAMES);
  const names = patterns.ec2.detail.eventName as string[];
  const delayedNames = names.filter((n) => delayed.has(n));
  return {
    immediate: {
      ...patterns,
      ec2: {
        ...patterns.ec2,
        detail: { ...patterns.ec2.detail, eventName: names.filter((n) => !delayed.has(n)) },
      },
    },
    delayed: { ...patterns.ec2, detail: { ...patterns.ec2.detail, eventName: delayedNames } },
  };
}
