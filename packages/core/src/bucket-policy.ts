/**
 * What an S3 bucket needs to receive flow logs: the bucket policy AWS documents for
 * `delivery.logs.amazonaws.com` (https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-s3-permissions.html),
 * a lifecycle rule to a cheaper storage class, and a reader that says whether an existing policy
 * lets one account deliver. Data only: `flowlog-guard bucket-policy` prints it, `doctor` checks against it.
 */
import type { PolicyDocument, PolicyStatement } from "./policy-documents.ts";
import { evaluateServiceGrant, type GrantVerdict } from "./resource-policy-check.ts";
import { accountLogKeyPrefixes, bucketArn, LOG_DELIVERY_SERVICE } from "./s3-destination.ts";

/** S3's limit on the size of a bucket policy. */
export const BUCKET_POLICY_MAX_BYTES = 20_480;

/** Whose flow logs the bucket takes: listed accounts, or every account of one organization. */
export type DeliverySources = { accounts: string[] } | { organizationId: string };

export interface LogArchiveBucketOptions {
  partition: string;
  bucket: string;
  /** Folders before `AWSLogs/`, without leading or trailing `/`. */
  prefix?: string;
  sources: DeliverySources;
}

/** The aws:SourceAccount / aws:SourceOrgID and aws:SourceArn conditions that stop a confused deputy. */
function sourceConditions(partition: string, sources: DeliverySources): PolicyStatement["Condition"] {
  if ("organizationId" in sources) {
    return {
      StringEquals: { "aws:SourceOrgID": sources.organizationId },
      ArnLike: { "aws:SourceArn": `arn:${partition}:logs:*:*:*` },
    };
  }
  return {
    StringEquals: { "aws:SourceAccount": sources.accounts },
    ArnLike: { "aws:SourceArn": sources.accounts.map((account) => `arn:${partition}:logs:*:${account}:*`) },
  };
}

/**
 * The bucket policy a (central) flow-log bucket needs so that the listed accounts, or a whole
 * organization, can deliver: `s3:PutObject` under each account's `AWSLogs/` folders (default and Hive
 * layouts) with `bucket-owner-full-control`, and `s3:GetBucketAcl` + `s3:ListBucket` on the bucket, all
 * conditioned on the source account (or organization) and the source ARN.
 *
 * @example logArchiveBucketPolicy({ partition: "aws", bucket: "log-archive", sources: { accounts: ["111122223333"] } })
 */
export function logArchiveBucketPolicy(options: LogArchiveBucketOptions): PolicyDocument {
  const { partition, bucket, sources } = options;
  const prefix = options.prefix ?? "";
  const arn = bucketArn(partition, bucket);
  const conditions = sourceConditions(partition, sources);
  const objects =
    "organizationId" in sources
      ? [`${arn}/${prefix ? `${prefix}/` : ""}AWSLogs/*`]
      : sources.accounts.flatMap((account) =>
          accountLogKeyPrefixes(prefix, account).map((key) => `${arn}/${key}*`),
        );
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "AWSLogDeliveryAclCheck",
        Effect: "Allow",
        Principal: { Service: LOG_DELIVERY_SERVICE },
        Action: ["s3:GetBucketAcl", "s3:ListBucket"],
        Resource: arn,
        Condition: conditions,
      },
      {
        Sid: "AWSLogDeliveryWrite",
        Effect: "Allow",
        Principal: { Service: LOG_DELIVERY_SERVICE },
        Action: "s3:PutObject",
        Resource: objects,
        Condition: {
          ...conditions,
          StringEquals: { ...conditions?.StringEquals, "s3:x-amz-acl": "bucket-owner-full-control" },
        },
      },
    ],
  };
}

export interface LifecycleConfiguration {
  Rules: {
    ID: string;
    Status: "Enabled";
    Filter: { Prefix: string };
    Transitions: { Days: number; StorageClass: string }[];
    AbortIncompleteMultipartUpload: { DaysAfterInitiation: number };
  }[];
}

/**
 * A lifecycle rule for the flow-log folders: Standard-IA after 30 days (S3's minimum for IA), Glacier
 * Instant Retrieval after 90. Nothing expires: how long to keep evidence is the owner's decision
 * (CIS asks for at least a year), so the rule only makes it cheaper.
 */
export function logArchiveLifecycleConfiguration(prefix = ""): LifecycleConfiguration {
  return {
    Rules: [
      {
        ID: "flowlog-guard-cheaper-storage",
        Status: "Enabled",
        Filter: { Prefix: `${prefix ? `${prefix}/` : ""}AWSLogs/` },
        Transitions: [
          { Days: 30, StorageClass: "STANDARD_IA" },
          { Days: 90, StorageClass: "GLACIER_IR" },
        ],
        AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
      },
    ],
  };
}

/** Size of a policy as S3 counts it (the JSON text, whitespace excluded). */
export function bucketPolicySize(document: PolicyDocument): number {
  return Buffer.byteLength(JSON.stringify(document), "utf8");
}

export interface DeliveryTarget {
  partition: string;
  bucket: string;
  prefix: string;
  accountId: string;
  region: string;
  /** The Hive-compatible layout (`aws-account-id=`) is in use. */
  hive: boolean;
  /** The caller's organization, when known, for policies conditioned on aws:SourceOrgID. */
  organizationId?: string;
}

/** What the delivery service's requests carry, so that a policy's conditions can be evaluated. */
function deliveryContext(target: DeliveryTarget): Record<string, string> {
  return {
    "aws:SourceAccount": target.accountId,
    "aws:SourceArn": `arn:${target.partition}:logs:${target.region}:${target.accountId}:delivery-source:vpc-flow-logs`,
    ...(target.organizationId ? { "aws:SourceOrgID": target.organizationId } : {}),
  };
}

/**
 * Whether a bucket policy lets `delivery.logs.amazonaws.com` write this account's flow-log files
 * (`s3:PutObject` with `bucket-owner-full-control`) and check the bucket ACL (`s3:GetBucketAcl`).
 */
export function checkBucketPolicyForDelivery(
  document: PolicyDocument | undefined,
  target: DeliveryTarget,
): { write: GrantVerdict; aclCheck: GrantVerdict } {
  const arn = bucketArn(target.partition, target.bucket);
  const [plain, hive] = accountLogKeyPrefixes(target.prefix, target.accountId);
  const key = target.hive
    ? `${hive}aws-service=vpcflowlogs/aws-region=${target.region}/year=2026/month=01/day=01/sample.log.gz`
    : `${plain}vpcflowlogs/${target.region}/2026/01/01/sample.log.gz`;
  const context = deliveryContext(target);
  return {
    write: evaluateServiceGrant(document, {
      service: LOG_DELIVERY_SERVICE,
      action: "s3:PutObject",
      resource: `${arn}/${key}`,
      context: { ...context, "s3:x-amz-acl": "bucket-owner-full-control" },
    }),
    aclCheck: evaluateServiceGrant(document, {
      service: LOG_DELIVERY_SERVICE,
      action: "s3:GetBucketAcl",
      resource: arn,
      context,
    }),
  };
}

/** The KMS actions the delivery service needs on a bucket's SSE-KMS key (CloudWatch Logs guide). */
export const DELIVERY_KMS_ACTIONS = [
  "kms:Encrypt",
  "kms:Decrypt",
  "kms:ReEncrypt*",
  "kms:GenerateDataKey*",
  "kms:DescribeKey",
] as const;

/** Whether a key policy lets the delivery service encrypt with the key (kms:GenerateDataKey). */
export function checkKeyPolicyForDelivery(
  document: PolicyDocument | undefined,
  target: DeliveryTarget,
): GrantVerdict {
  return evaluateServiceGrant(document, {
    service: LOG_DELIVERY_SERVICE,
    action: "kms:GenerateDataKey",
    resource: "*",
    context: deliveryContext(target),
  });
}
