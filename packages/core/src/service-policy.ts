import { type Policy, roleBoundaryFor } from "./config.ts";
import { parseKmsKeyArn, readKmsKeySetting } from "./kms-keys.ts";
import { logGroupNamePattern } from "./log-group-template.ts";
import { deliveryRoleArn } from "./naming.ts";
import type { PolicyDocument, PolicyStatement } from "./policy-documents.ts";
import { bucketArn, parseS3Destination } from "./s3-destination.ts";

export interface ServicePolicyOptions {
  partition: string;
  accountId: string;
  policy: Pick<Policy, "roleName" | "logGroupName" | "ledgerBus"> &
    Partial<
      Pick<
        Policy,
        "destinationType" | "logDestination" | "resourceType" | "kmsKeyArn" | "rolePermissionsBoundary"
      >
    >;
  /** Region of the ledger bus when `ledgerBus` is a name, not an ARN. `*` when absent. */
  ledgerRegion?: string;
  /**
   * The S3 destination bucket is this account's and its policy does not yet let log delivery write:
   * then AWS attaches the delivery statement itself, but only for a caller allowed
   * s3:GetBucketPolicy and s3:PutBucketPolicy on the bucket (see {@link needsBucketPolicyAccess}).
   */
  bucketPolicyAccess?: boolean;
}

/**
 * Whether the runner needs s3:GetBucketPolicy/PutBucketPolicy: only when the bucket is in the runner's
 * own account and its policy does not already let log delivery write (a pre-provisioned policy, e.g.
 * from `flowlog-guard bucket-policy`, needs neither; another account's bucket cannot be changed anyway).
 */
export function needsBucketPolicyAccess(bucket: { ownedByCaller: boolean; deliveryAllowed: boolean }) {
  return bucket.ownedByCaller && !bucket.deliveryAllowed;
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
  const s3 = policy.destinationType === "s3";
  const subnets = policy.resourceType === "Subnet";
  const statements: PolicyStatement[] = [
    {
      Sid: "ReadNetworkInventory",
      Effect: "Allow",
      Action: [
        "ec2:DescribeFlowLogs",
        "ec2:DescribeInternetGateways",
        "ec2:DescribeRegions",
        ...(subnets ? ["ec2:DescribeSubnets"] : []),
        "ec2:DescribeVpcs",
      ],
      Resource: "*",
    },
    {
      Sid: "CreateFlowLogs",
      Effect: "Allow",
      Action: ["ec2:CreateFlowLogs"],
      Resource: [
        `arn:${partition}:ec2:*:${accountId}:${subnets ? "subnet" : "vpc"}/*`,
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
    ...(s3 ? s3DeliveryStatements(options) : cloudWatchDeliveryStatements(options)),
  ];
  const bus = ledgerBusArn(options);
  if (bus)
    statements.push({
      Sid: "PublishChangeRecords",
      Effect: "Allow",
      // DescribeEventBus: fix-all checks the bus exists before its first change.
      Action: ["events:DescribeEventBus", "events:PutEvents"],
      Resource: bus,
    });
  return { Version: "2012-10-17", Statement: statements };
}

/** CloudWatch Logs destination: log groups from the template and the delivery role, nothing wider. */
function cloudWatchDeliveryStatements(options: ServicePolicyOptions): PolicyStatement[] {
  const { partition, accountId, policy } = options;
  const role = deliveryRoleArn(partition, accountId, policy.roleName);
  const groups = `arn:${partition}:logs:*:${accountId}:log-group:${logGroupNamePattern(policy.logGroupName, accountId)}`;
  return [
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
      // ListTagsForResource: after a lost response, the group's run tag tells whether this run made it.
      Action: [
        "logs:CreateLogGroup",
        "logs:PutRetentionPolicy",
        "logs:TagResource",
        "logs:ListTagsForResource",
        // With KMS keys: a managed group found without its region's key gets it back.
        ...(policy.kmsKeyArn ? ["logs:AssociateKmsKey"] : []),
      ],
      Resource: [groups, `${groups}:*`],
    },
    ...logGroupKeyStatements(options),
    ...deliveryRoleStatements(role, roleBoundaryFor(policy, accountId)),
    {
      Sid: "PassDeliveryRoleToFlowLogs",
      Effect: "Allow",
      Action: ["iam:PassRole"],
      Resource: role,
    },
  ];
}

/**
 * What the service may do to the delivery role, on that role only. Without a required boundary: create
 * it, and remove a managed policy or a boundary put on it (both can deny delivery). With one
 * (`rolePermissionsBoundary`): CreateRole and PutRolePermissionsBoundary only with exactly that
 * boundary (condition key iam:PermissionsBoundary, which IAM evaluates for both calls), and no
 * DeleteRolePermissionsBoundary (the boundary is never removed).
 */
function deliveryRoleStatements(role: string, boundary: string | undefined): PolicyStatement[] {
  const manage: PolicyStatement = {
    Sid: "ManageDeliveryRole",
    Effect: "Allow",
    // ListAttachedRolePolicies, DetachRolePolicy: a managed policy attached to the delivery role is detached.
    Action: [
      ...(boundary ? [] : ["iam:CreateRole", "iam:DeleteRolePermissionsBoundary"]),
      "iam:DetachRolePolicy",
      "iam:GetRole",
      "iam:GetRolePolicy",
      "iam:ListAttachedRolePolicies",
      "iam:PutRolePolicy",
      "iam:TagRole",
      "iam:UpdateAssumeRolePolicy",
    ],
    Resource: role,
  };
  if (!boundary) return [manage];
  return [
    manage,
    {
      Sid: "BoundDeliveryRole",
      Effect: "Allow",
      Action: ["iam:CreateRole", "iam:PutRolePermissionsBoundary"],
      Resource: role,
      Condition: { StringEquals: { "iam:PermissionsBoundary": boundary } },
    },
  ];
}

/**
 * S3 destination: no role, no log group. AWS requires logs:CreateLogDelivery and logs:DeleteLogDelivery
 * of whoever creates a flow log to S3 (they cannot be scoped to a resource), and the bucket-policy
 * actions only when AWS must attach the delivery statement to a bucket of this account.
 */
function s3DeliveryStatements(options: ServicePolicyOptions): PolicyStatement[] {
  const statements: PolicyStatement[] = [
    {
      Sid: "DeliverFlowLogsToS3",
      Effect: "Allow",
      Action: ["logs:CreateLogDelivery", "logs:DeleteLogDelivery"],
      Resource: "*",
    },
  ];
  const destination = parseS3Destination(options.policy.logDestination ?? "");
  if (options.bucketPolicyAccess && destination) {
    statements.push({
      Sid: "LetAwsAttachDeliveryBucketPolicy",
      Effect: "Allow",
      Action: ["s3:GetBucketPolicy", "s3:PutBucketPolicy"],
      Resource: bucketArn(options.partition, destination.bucket),
    });
  }
  return statements;
}

/**
 * With KMS keys for the log groups: `doctor` reads each key (DescribeKey, GetKeyPolicy). Scoped to
 * the configured key ids in any region, so a multi-Region key's replicas are covered.
 */
function logGroupKeyStatements(options: ServicePolicyOptions): PolicyStatement[] {
  const { plan } = readKmsKeySetting(options.policy.kmsKeyArn);
  const keys = [...plan.byRegion.values()].flatMap((arn) => {
    const key = parseKmsKeyArn(arn);
    return key ? [`arn:${key.partition}:kms:*:${key.account}:key/${key.keyId}`] : [];
  });
  if (keys.length === 0) return [];
  return [
    {
      Sid: "CheckLogGroupKeys",
      Effect: "Allow",
      Action: ["kms:DescribeKey", "kms:GetKeyPolicy"],
      Resource: [...new Set(keys)].sort(),
    },
  ];
}
