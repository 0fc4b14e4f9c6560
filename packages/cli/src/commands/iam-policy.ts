import {
  MEMBER_ROLE_NAME,
  needsBucketPolicyAccess,
  operatorStatements,
  partitionOf,
  probeDestinationBucket,
  queueArnOfUrl,
  readAccountIdentity,
  servicePolicyDocument,
} from "@flowlog-guard/core";
import { Option } from "commander";
import type { RegisterCommand } from "../command.ts";
import { createPoolFor } from "../context.ts";
import { UsageError } from "../errors.ts";
import type { Io } from "../io.ts";
import {
  addAwsOptions,
  addPolicyOptions,
  homeRegionOf,
  ROLE_POLICY_FIELDS,
  resolveAccessSettings,
  resolvePolicy,
} from "../options.ts";

/** The flags that add what an operator's commands need beyond remediation; checked before any call. */
function operatorOptions(options: Record<string, unknown>, partition: string) {
  const queue = options.queue as string | undefined;
  const queueArn = queue === undefined ? undefined : queueArnOfUrl(queue, partition);
  if (queue !== undefined && !queueArn) {
    throw new UsageError(
      `--queue takes the dead-letter queue's URL, like https://sqs.eu-west-1.amazonaws.com/111122223333/RemediationDlq, not ${JSON.stringify(queue)}`,
    );
  }
  const memberRoleName = options.memberRoleName as string | undefined;
  if (memberRoleName !== undefined && !/^[\w+=,.@-]{1,64}$/.test(memberRoleName))
    throw new UsageError(
      `--member-role-name must be an IAM role name, not ${JSON.stringify(memberRoleName)}`,
    );
  return {
    securityHub: Boolean(options.securityHub),
    cost: Boolean(options.cost),
    doctor: Boolean(options.doctor),
    queueArn,
    memberRoleName: memberRoleName ?? (options.organization ? MEMBER_ROLE_NAME : undefined),
  };
}

/** `iam-policy`: the least-privilege policy the CLI and the functions need, as JSON. */
async function iamPolicy(options: Record<string, unknown>, io: Io): Promise<number> {
  const policy = resolvePolicy(options, io.env);
  operatorOptions(options, (options.partition as string | undefined) ?? "aws");
  let accountId = options.accountId as string | undefined;
  let partition = options.partition as string | undefined;
  if (accountId !== undefined && !/^\d{12}$/.test(accountId)) {
    throw new UsageError(`--account-id must be a 12-digit AWS account id, not ${JSON.stringify(accountId)}`);
  }
  const region = homeRegionOf(undefined, io.env);
  let bucketPolicyAccess = Boolean(options.letAwsAttachBucketPolicy);
  if (!accountId) {
    const pool = await createPoolFor(resolveAccessSettings(options, io.env), io.env);
    const clients = pool.clientsFor(region);
    const identity = await readAccountIdentity(clients);
    accountId = identity.accountId;
    partition ??= identity.partition;
    // Same-account S3 delivery without a delivery statement yet: AWS attaches it, if we may.
    const bucket = await probeDestinationBucket({ clients, policy, identity });
    if (bucket && needsBucketPolicyAccess(bucket)) {
      bucketPolicyAccess = true;
      io.stderr.write(
        "flowlog-guard: the destination bucket is this account's and its policy does not let log delivery write yet, " +
          "so this policy includes s3:GetBucketPolicy/PutBucketPolicy on it (AWS then attaches the statement). " +
          "To avoid that, apply `flowlog-guard bucket-policy` to the bucket first.\n",
      );
    }
  }
  const arnPartition = partition ?? partitionOf(region);
  const document = servicePolicyDocument({
    partition: arnPartition,
    accountId,
    policy,
    bucketPolicyAccess,
    ledgerRegion: options.ledgerRegion as string | undefined,
  });
  document.Statement.push(
    ...operatorStatements({
      ...operatorOptions(options, arnPartition),
      partition: arnPartition,
      accountId,
      policy,
    }),
  );
  io.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
  return 0;
}

const OPERATOR_GROUP = "For the operator's commands (not needed by the deployed functions):";

export const registerIamPolicy: RegisterCommand = (program, wire) => {
  const command = program
    .command("iam-policy")
    .description("Print the least-privilege IAM policy the CLI and the Lambda functions need")
    .option("--account-id <id>", "account to scope the ARNs to (default: the caller's, from STS)")
    .addOption(new Option("--partition <name>", "ARN partition").choices(["aws", "aws-cn", "aws-us-gov"]))
    .option("--ledger-region <region>", "region of the ledger bus when --ledger-bus is a name")
    .option(
      "--let-aws-attach-bucket-policy",
      "with s3: include s3:GetBucketPolicy/PutBucketPolicy on the bucket (default: only when the bucket is the caller's and lacks a delivery statement)",
    )
    .addOption(
      new Option(
        "--security-hub",
        "also what scan/fix-all --security-hub need: securityhub:BatchImportFindings and GetFindings, this account's only",
      ).helpGroup(OPERATOR_GROUP),
    )
    .addOption(
      new Option(
        "--cost",
        "also what the cost command reads: cloudwatch:GetMetricData (and s3:ListBucket on an S3 destination's bucket)",
      ).helpGroup(OPERATOR_GROUP),
    )
    .addOption(
      new Option(
        "--queue <url>",
        "also what redrive --queue URL needs: sqs:ReceiveMessage and DeleteMessage on that queue",
      ).helpGroup(OPERATOR_GROUP),
    )
    .addOption(
      new Option(
        "--doctor",
        "also what doctor reads: trails, the caller's own permissions (IAM simulator), an S3 destination's bucket",
      ).helpGroup(OPERATOR_GROUP),
    )
    .addOption(
      new Option(
        "--organization",
        "also what --accounts/--ou runs need in the central account: read the organization, assume the member role",
      ).helpGroup(OPERATOR_GROUP),
    )
    .addOption(
      new Option(
        "--member-role-name <name>",
        `with --organization: the role assumed in each account (default: ${MEMBER_ROLE_NAME})`,
      ).helpGroup(OPERATOR_GROUP),
    )
    .addHelpText(
      "after",
      `
The same policy document the SST stacks grant the functions. No '*' actions; IAM and log actions are
scoped to the delivery role and to the log groups the --log-group-name template can produce. It follows
the settings: with --destination-type s3 there is no role or log-group action, only the
logs:CreateLogDelivery/DeleteLogDelivery AWS requires; --resource-type Subnet adds ec2:DescribeSubnets.
What the operator's other commands need is added only when asked for (--security-hub, --cost, --queue,
--doctor, --organization), so the deployed functions are never granted it.

Examples:
  flowlog-guard iam-policy --account-id 111122223333 > flowlog-guard-policy.json
  flowlog-guard iam-policy --destination-type s3 --log-destination arn:aws:s3:::org-log-archive
  flowlog-guard iam-policy --security-hub --cost --queue https://sqs.eu-west-1.amazonaws.com/111122223333/Dlq
  aws iam create-policy --policy-name flowlog-guard --policy-document file://flowlog-guard-policy.json`,
    );
  addPolicyOptions(addAwsOptions(command), ROLE_POLICY_FIELDS);
  wire(command, ({ io, options }) => iamPolicy(options, io));
};
