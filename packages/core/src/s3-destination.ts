/**
 * The one place that knows the shape of an S3 flow-log destination: the bucket ARN with its optional
 * prefix, and the object keys AWS writes under it
 * (https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-s3-path.html).
 */

/** S3 bucket names: 3-63 characters, a-z 0-9 . -, starting and ending with a letter or digit. */
export const BUCKET_NAME_PATTERN = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** The service principal that writes flow-log files into S3 (and uses the bucket's KMS key). */
export const LOG_DELIVERY_SERVICE = "delivery.logs.amazonaws.com";

export interface S3Destination {
  partition: string;
  bucket: string;
  /** Folders before `AWSLogs/`, without leading or trailing `/`; "" when none. */
  prefix: string;
}

/** True when `name` is a valid S3 bucket name (no `..`, no IP-address look-alike checks beyond that). */
export function isBucketName(name: string): boolean {
  return BUCKET_NAME_PATTERN.test(name) && !name.includes("..");
}

/**
 * Splits `arn:aws:s3:::bucket/some/prefix/` into its parts; undefined when it is not an S3 ARN.
 *
 * @example parseS3Destination("arn:aws:s3:::archive/vpc") // { partition: "aws", bucket: "archive", prefix: "vpc" }
 */
export function parseS3Destination(arn: string): S3Destination | undefined {
  const match = /^arn:(aws|aws-cn|aws-us-gov):s3:::([^/]*)(?:\/(.*))?$/.exec(arn);
  if (!match) return undefined;
  return { partition: match[1]!, bucket: match[2]!, prefix: (match[3] ?? "").replace(/\/+$/, "") };
}

export function bucketArn(partition: string, bucket: string): string {
  return `arn:${partition}:s3:::${bucket}`;
}

/** The destination as CreateFlowLogs and DescribeFlowLogs spell it (no trailing `/`). */
export function s3DestinationArn(destination: S3Destination): string {
  const base = bucketArn(destination.partition, destination.bucket);
  return destination.prefix ? `${base}/${destination.prefix}` : base;
}

/** True when two destination ARNs name the same bucket and prefix (a trailing `/` does not matter). */
export function sameS3Destination(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return false;
  const left = parseS3Destination(a);
  const right = parseS3Destination(b);
  return (
    left !== undefined &&
    right !== undefined &&
    left.bucket === right.bucket &&
    left.prefix === right.prefix &&
    left.partition === right.partition
  );
}

/**
 * The key prefixes AWS writes one account's flow logs under: the default layout and the
 * Hive-compatible one (`aws-account-id=`), both below the configured prefix.
 */
export function accountLogKeyPrefixes(prefix: string, accountId: string): string[] {
  const base = prefix ? `${prefix}/AWSLogs/` : "AWSLogs/";
  return [`${base}${accountId}/`, `${base}aws-account-id=${accountId}/`];
}
