import { DELIVERY_ROLE_PATH } from "./config.ts";
import { logGroupNamePattern } from "./log-group-template.ts";

export interface PolicyStatement {
  Sid?: string;
  Effect: "Allow" | "Deny";
  Principal?: Record<string, string | string[]>;
  Action: string | string[];
  Resource?: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface PolicyDocument {
  Version: "2012-10-17";
  Statement: PolicyStatement[];
}

/**
 * Trust policy of the delivery role: only the VPC Flow Logs service may assume it, and only for flow
 * logs of this account (the confused-deputy conditions AWS recommends).
 */
export function deliveryRoleTrustPolicy(partition: string, accountId: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "VpcFlowLogsDeliveryForThisAccountOnly",
        Effect: "Allow",
        Principal: { Service: "vpc-flow-logs.amazonaws.com" },
        Action: "sts:AssumeRole",
        Condition: {
          StringEquals: { "aws:SourceAccount": accountId },
          ArnLike: { "aws:SourceArn": `arn:${partition}:ec2:*:${accountId}:vpc-flow-log/*` },
        },
      },
    ],
  };
}

/**
 * Trust policy of the role the forwarding rules use to put events on the home bus: only EventBridge,
 * and only for rules of this account (`aws:SourceAccount`, "the account in which the rule specified by
 * aws:SourceArn exists", EventBridge's condition keys), so no other account's rule can use it.
 */
export function eventBridgeForwarderTrustPolicy(accountId: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "EventBridgeRulesOfThisAccountOnly",
        Effect: "Allow",
        Principal: { Service: "events.amazonaws.com" },
        Action: "sts:AssumeRole",
        Condition: { StringEquals: { "aws:SourceAccount": accountId } },
      },
    ],
  };
}

/**
 * Permissions of the delivery role: write log streams and events, only into the log groups the
 * template can produce. No `logs:CreateLogGroup`: flowlog-guard creates groups itself, with retention
 * and KMS; a group delivery created would have neither.
 */
export function deliveryRolePermissionsPolicy(
  template: string,
  partition: string,
  accountId: string,
): PolicyDocument {
  const groups = `arn:${partition}:logs:*:${accountId}:log-group:${logGroupNamePattern(template, accountId)}`;
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "WriteFlowLogRecords",
        Effect: "Allow",
        Action: ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
        Resource: [groups, `${groups}:*`],
      },
      {
        Sid: "FindLogGroups",
        Effect: "Allow",
        Action: ["logs:DescribeLogGroups"],
        Resource: `arn:${partition}:logs:*:${accountId}:log-group:*`,
      },
    ],
  };
}

/** IAM returns policy documents URL-encoded; accepts either form. */
export function parsePolicyDocument(text: string): PolicyDocument {
  const decoded = text.trimStart().startsWith("{") ? text : decodeURIComponent(text);
  return JSON.parse(decoded) as PolicyDocument;
}

/**
 * True when two policy documents mean the same thing, ignoring key order, a single value vs a
 * one-element list, and the order of actions and resources.
 */
export function policyDocumentsEqual(a: PolicyDocument | undefined, b: PolicyDocument | undefined): boolean {
  if (!a || !b) return a === b;
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(value: unknown, key?: string): unknown {
  if (Array.isArray(value)) {
    const items = value.map((item) => canonical(item));
    if (items.length === 1 && key !== "Statement") return items[0];
    return key === "Statement"
      ? items
      : [...items].sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));
  }
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, canonical((value as Record<string, unknown>)[k], k)]),
    );
  }
  return value;
}

export { DELIVERY_ROLE_PATH };
