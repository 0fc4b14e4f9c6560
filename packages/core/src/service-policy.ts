import type { Policy } from "./config.ts";
import { deliveryRoleArn } from "./naming.ts";
import { logGroupNamePattern, type PolicyDocument, type PolicyStatement } from "./policy-documents.ts";

export interface ServicePolicyOptions {
  partition: string;
  accountId: string;
  policy: Pick<Policy, "roleName" | "logGroupName" | "ledgerBus">;
  /** Region of the ledger bus when `ledgerBus` is a name, not an ARN. `*` when absent. */
  ledgerRegion?: string;
}

/**
 * The region to publish change records in: a bus given by ARN lives in the ARN's region (the home
 * region of the deployment), which is not always where a run started (IAM events arrive in us-east-1);
 * a bus given by name is in `fallbackRegion`.
 */
export function ledgerRegionOf(ledgerBus: string, fallbackRegion: string): string {
  return ledgerBus.startsWith("arn:") ? (ledgerBus.split(":")[3] ?? fallbackRegion) : fallbackRegion;
}

/** The ARN of the ledger bus, whether the policy names it by name or by ARN. */
export function ledgerBusArn(options: ServicePolicyOptions): string | undefined {
  const bus = options.policy.ledgerBus;
  if (!bus) return undefined;
  if (bus.startsWith("arn:")) return bus;
  return `arn:${options.partition}:events:${options.ledgerRegion ?? "*"}:${options.accountId}:event-bus/${bus}`;
}

/**
 * The least-privilege IAM policy flowlog-guard's functions and CLI need: what `flowlog-guard iam-policy`
 * prints and what the stacks grant. No `*` action; IAM and log-group actions are scoped to the delivery
 * role and to the log groups the template can produce; `iam:PassRole` only on the delivery role.
 * Read-only EC2 calls and DescribeLogGroups cannot be scoped to resources (AWS requires `*`).
 */
export function servicePolicyDocument(options: ServicePolicyOptions): PolicyDocument {
  const { partition, accountId, policy } = options;
  const role = deliveryRoleArn(partition, accountId, policy.roleName);
  const groups = `arn:${partition}:logs:*:${accountId}:log-group:${logGroupNamePattern(policy.logGroupName, accountId)}`;
  const statements: PolicyStatement[] = [
    {
      Sid: "ReadNetworkInventory",
      Effect: "Allow",
      Action: [
        "ec2:DescribeFlowLogs",
        "ec2:DescribeInternetGateways",
        "ec2:DescribeRegions",
        "ec2:DescribeVpcs",
      ],
      Resource: "*",
    },
    {
      Sid: "CreateFlowLogs",
      Effect: "Allow",
      Action: ["ec2:CreateFlowLogs"],
      Resource: [
        `arn:${partition}:ec2:*:${accountId}:vpc/*`,
        `arn:${partition}:ec2:*:${accountId}:vpc-flow-log/*`,
      ],
    },
    {
      Sid: "TagFlowLogsAtCreation",
      Effect: "Allow",
      Action: ["ec2:CreateTags"],
      Resource: `arn:${partition}:ec2:*:${accountId}:vpc-flow-log/*`,
      Condition: { StringEquals: { "ec2:CreateAction": "CreateFlowLogs" } },
    },
    {
      // DescribeLogGroups has no resource type in the Service Authorization Reference: IAM evaluates it
      // against "*", and a statement scoped to log-group ARNs never matches (test/least-privilege.test.ts).
      Sid: "FindLogGroups",
      Effect: "Allow",
      Action: ["logs:DescribeLogGroups"],
      Resource: "*",
    },
    {
      Sid: "ManageFlowLogGroups",
      Effect: "Allow",
      Action: ["logs:CreateLogGroup", "logs:PutRetentionPolicy", "logs:TagResource"],
      Resource: [groups, `${groups}:*`],
    },
    {
      Sid: "ManageDeliveryRole",
      Effect: "Allow",
      Action: [
        "iam:CreateRole",
        "iam:GetRole",
        "iam:GetRolePolicy",
        "iam:PutRolePolicy",
        "iam:TagRole",
        "iam:UpdateAssumeRolePolicy",
      ],
      Resource: role,
    },
    {
      Sid: "PassDeliveryRoleToFlowLogs",
      Effect: "Allow",
      Action: ["iam:PassRole"],
      Resource: role,
    },
  ];
  const bus = ledgerBusArn(options);
  if (bus)
    statements.push({
      Sid: "PublishChangeRecords",
      Effect: "Allow",
      Action: ["events:PutEvents"],
      Resource: bus,
    });
  return { Version: "2012-10-17", Statement: statements };
}
