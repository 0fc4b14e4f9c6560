import type { Policy } from "./config.ts";
import { MEMBER_ROLE_NAME } from "./member-template.ts";
import { centralOrganizationStatements } from "./organization-policies.ts";
import type { PolicyStatement } from "./policy-documents.ts";
import { bucketArn, parseS3Destination } from "./s3-destination.ts";

/**
 * What CLI options and commands beyond remediation need, each asked for by `iam-policy`'s own flag of
 * the same name, so that the printed policy grants only what the operator runs.
 */
export interface OperatorPolicyOptions {
  partition: string;
  accountId: string;
  policy: Partial<Pick<Policy, "destinationType" | "logDestination">>;
  /** `scan`/`fix-all --security-hub`: import this account's EC2.6 findings and read them back. */
  securityHub?: boolean;
  /** The `cost` command: IncomingBytes of the log groups, and the S3 destination's object sizes. */
  cost?: boolean;
  /** `redrive --queue URL`: the queue's ARN (see {@link queueArnOfUrl}). */
  queueArn?: string;
  /** `--accounts`/`--ou` runs from the central account: the member role's name, when they are run. */
  memberRoleName?: string;
  /** The `doctor` command: the trail, the caller's own permissions (simulator), an S3 destination's bucket. */
  doctor?: boolean;
}

/**
 * The SQS queue ARN of a queue URL: `https://sqs.eu-west-1.amazonaws.com/111122223333/Dlq` ->
 * `arn:aws:sqs:eu-west-1:111122223333:Dlq`. Undefined when the URL has no account and name; a URL
 * whose host names no region (a local endpoint) gives `*` as the region.
 */
export function queueArnOfUrl(url: string, partition: string): string | undefined {
  const match = /^https?:\/\/([^/]+)\/(\d{12})\/([\w-]{1,80})$/.exec(url);
  if (!match) return undefined;
  const region = /^sqs[.-]([a-z]{2}(-[a-z]+)+-\d{1,2})\./.exec(match[1]!)?.[1] ?? "*";
  return `arn:${partition}:sqs:${region}:${match[2]}:${match[3]}`;
}

function securityHubStatements(partition: string, accountId: string): PolicyStatement[] {
  const hub = (resource: string) => `arn:${partition}:securityhub:*:${accountId}:${resource}`;
  return [
    {
      Sid: "ImportSecurityHubFindings",
      Effect: "Allow",
      // Findings are imported (and archived) through the account's own default product integration.
      Action: ["securityhub:BatchImportFindings"],
      Resource: hub(`product/${accountId}/default`),
    },
    {
      Sid: "ReadSecurityHubFindings",
      Effect: "Allow",
      // A re-run reads its earlier findings to archive those whose VPC is gone.
      Action: ["securityhub:GetFindings"],
      Resource: hub("hub/default"),
    },
  ];
}

function costStatements(options: OperatorPolicyOptions): PolicyStatement[] {
  const statements: PolicyStatement[] = [
    {
      Sid: "MeasureFlowLogIngestion",
      Effect: "Allow",
      // GetMetricData reads metrics, which have no ARN: IAM evaluates it against "*".
      Action: ["cloudwatch:GetMetricData"],
      Resource: "*",
    },
  ];
  const destination =
    options.policy.destinationType === "s3"
      ? parseS3Destination(options.policy.logDestination ?? "")
      : undefined;
  if (destination)
    statements.push({
      Sid: "MeasureFlowLogObjects",
      Effect: "Allow",
      Action: ["s3:ListBucket"],
      Resource: bucketArn(options.partition, destination.bucket),
    });
  return statements;
}

/**
 * What `doctor` reads beyond the service policy: the account's trails (an organization trail lives in
 * the management account, hence any account), the caller's own principal for the IAM policy simulator
 * (an assumed-role session is mapped to its role with GetRole), and an S3 destination's bucket.
 */
function doctorStatements(options: OperatorPolicyOptions): PolicyStatement[] {
  const { partition, accountId } = options;
  const statements: PolicyStatement[] = [
    { Sid: "FindTrails", Effect: "Allow", Action: ["cloudtrail:DescribeTrails"], Resource: "*" },
    {
      Sid: "ReadTrailSettings",
      Effect: "Allow",
      Action: ["cloudtrail:GetEventSelectors", "cloudtrail:GetTrailStatus"],
      Resource: `arn:${partition}:cloudtrail:*:*:trail/*`,
    },
    {
      Sid: "SimulateOwnPermissions",
      Effect: "Allow",
      Action: ["iam:GetRole", "iam:SimulatePrincipalPolicy"],
      Resource: [`arn:${partition}:iam::${accountId}:role/*`, `arn:${partition}:iam::${accountId}:user/*`],
    },
  ];
  const destination =
    options.policy.destinationType === "s3"
      ? parseS3Destination(options.policy.logDestination ?? "")
      : undefined;
  if (destination)
    statements.push(
      { Sid: "FindOwnBuckets", Effect: "Allow", Action: ["s3:ListAllMyBuckets"], Resource: "*" },
      {
        Sid: "CheckDestinationBucket",
        Effect: "Allow",
        Action: ["s3:GetBucketPolicy", "s3:GetEncryptionConfiguration", "s3:ListBucket"],
        Resource: bucketArn(partition, destination.bucket),
      },
    );
  return statements;
}

/**
 * The statements the operator's CLI options add to the service policy (`iam-policy --security-hub`,
 * `--cost`, `--queue URL`, `--doctor`, `--member-role-name`/`--organization`); none without them.
 *
 * @example operatorStatements({ partition: "aws", accountId: "111122223333", policy: {}, cost: true })
 */
export function operatorStatements(options: OperatorPolicyOptions): PolicyStatement[] {
  const { partition, accountId } = options;
  return [
    ...(options.securityHub ? securityHubStatements(partition, accountId) : []),
    ...(options.cost ? costStatements(options) : []),
    ...(options.queueArn
      ? [
          {
            Sid: "RedriveDeadLetterQueue",
            Effect: "Allow" as const,
            Action: ["sqs:DeleteMessage", "sqs:ReceiveMessage"],
            Resource: options.queueArn,
          },
        ]
      : []),
    ...(options.doctor ? doctorStatements(options) : []),
    ...(options.memberRoleName !== undefined
      ? centralOrganizationStatements(partition, options.memberRoleName || MEMBER_ROLE_NAME)
      : []),
  ];
}
