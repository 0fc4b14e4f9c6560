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

/** Tag calls: they reach the function only when a `vpc-` resource is among those tagged. */
export const TAG_EVENT_NAMES: readonly string[] = ["CreateTags", "DeleteTags"];

/**
 * CloudTrail lists the tagged resources as objects (`requestParameters.resourcesSet.items[]`).
 * EventBridge matches a field of objects inside an array as if the array were not there (AWS's
 * Security Hub guide filters `detail.findings`, an array of objects, this way; Event Ruler, the
 * library that powers EventBridge, documents it as "JSON Array Matching"), and a prefix on an array
 * of values matches when one value has it. Evidence: docs/events.md.
 */
function taggedResources(prefixes: readonly string[]): Record<string, unknown> {
  return {
    requestParameters: { resourcesSet: { items: { resourceId: prefixes.map((prefix) => ({ prefix })) } } },
  };
}

/** Resources whose tag changes reach the function: VPCs, and in Subnet mode subnets (exception tags). */
export function taggedPrefixes(policy: Partial<Pick<Policy, "resourceType">>): string[] {
  return policy.resourceType === "Subnet" ? ["vpc-", "subnet-"] : ["vpc-"];
}

/**
 * The `detail` conditions on the EC2 calls `eventNames`: tag calls only on VPCs, the rest by name.
 * One branch is plain; two are an `$or` (EventBridge ANDs it with the other fields).
 */
function ec2Calls(eventNames: readonly string[], tagged: readonly string[]): Record<string, unknown> {
  const others = eventNames.filter((name) => !TAG_EVENT_NAMES.includes(name));
  const tags = eventNames.filter((name) => TAG_EVENT_NAMES.includes(name));
  const branches = [
    ...(others.length > 0 ? [{ eventName: others }] : []),
    ...(tags.length > 0 ? [{ eventName: tags, ...taggedResources(tagged) }] : []),
  ];
  return branches.length === 1 ? branches[0]! : { $or: branches };
}

/** The event names a pattern matches, wherever they sit (top level or `$or` branches). */
export function eventNamesOf(pattern: EventPattern): string[] {
  const { detail } = pattern;
  const branches = (detail.$or as Record<string, unknown>[] | undefined) ?? [detail];
  return branches.flatMap((branch) => (branch.eventName as string[] | undefined) ?? []);
}

/** A source's pattern: its CloudTrail calls that did not fail, with `conditions` (event names included). */
function sourcePattern(source: HandledSource, conditions: Record<string, unknown>): EventPattern {
  return {
    source: [source],
    "detail-type": [CLOUDTRAIL_DETAIL_TYPE],
    detail: {
      eventSource: [HANDLED_EVENTS[source].eventSource],
      errorCode: [{ exists: false }],
      ...conditions,
    },
  };
}

/** The EC2 pattern for `eventNames` (tag calls only on resources with one of the `tagged` prefixes). */
function ec2Pattern(eventNames: readonly string[], tagged: readonly string[]): EventPattern {
  return sourcePattern("aws.ec2", ec2Calls(eventNames, tagged));
}

/**
 * `pattern` narrowed to the event names `keep` accepts: each branch keeps its other conditions (the
 * tag branch its resource prefixes), and a branch left without names goes.
 */
function keepEventNames(pattern: EventPattern, keep: (name: string) => boolean): EventPattern {
  const { $or, ...common } = pattern.detail;
  const narrow = (branch: Record<string, unknown>) => ({
    ...branch,
    eventName: ((branch.eventName as string[] | undefined) ?? []).filter(keep),
  });
  if (!$or) return { ...pattern, detail: narrow(common) };
  const branches = ($or as Record<string, unknown>[])
    .map(narrow)
    .filter((branch) => branch.eventName.length > 0);
  const detail = branches.length === 1 ? { ...common, ...branches[0] } : { ...common, $or: branches };
  return { ...pattern, detail };
}

/**
 * The EventBridge patterns for the rules that trigger remediation: one source of truth for the
 * stacks, the demo and the tests. Failed calls (with an `errorCode`) never match. Log-group and
 * role events match only names the policy can produce. Tag events match only when a VPC is among
 * the tagged resources; the handler then picks out exception tags (EventBridge cannot tell a VPC's
 * exception tag from its other tags: keys and resources are separate arrays).
 * CreateSubnet and CreateDefaultSubnet are matched only in Subnet mode (`resourceType: Subnet`).
 *
 * @example
 * const patterns = buildEventPatterns(parsePolicy({}));
 * await events.send(new PutRuleCommand({ Name: "fg-ec2", EventPattern: JSON.stringify(patterns.ec2) }));
 */
export function buildEventPatterns(
  policy: Pick<Policy, "logGroupName" | "roleName"> & Partial<Pick<Policy, "resourceType">>,
): Record<"ec2" | "logs" | "iam", EventPattern> {
  const watched = (name: string) => policy.resourceType === "Subnet" || !SUBNET_EVENT_NAMES.includes(name);
  const names = (source: HandledSource) => ({ eventName: [...HANDLED_EVENTS[source].eventNames] });
  const fixedPrefix = logGroupEventPrefix(policy.logGroupName);
  return {
    ec2: ec2Pattern(HANDLED_EVENTS["aws.ec2"].eventNames.filter(watched), taggedPrefixes(policy)),
    logs: sourcePattern("aws.logs", {
      ...names("aws.logs"),
      ...(fixedPrefix ? { requestParameters: { logGroupName: [{ prefix: fixedPrefix }] } } : {}),
    }),
    iam: sourcePattern("aws.iam", {
      ...names("aws.iam"),
      requestParameters: { roleName: [policy.roleName] },
    }),
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
  return {
    immediate: { ...patterns, ec2: keepEventNames(patterns.ec2, (name) => !delayed.has(name)) },
    delayed: keepEventNames(patterns.ec2, (name) => delayed.has(name)),
  };
}
