import {
  needsBucketPolicyAccess,
  partitionOf,
  probeDestinationBucket,
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

/** `iam-policy`: the least-privilege policy the CLI and the functions need, as JSON. */
async function iamPolicy(options: Record<string, unknown>, io: Io): Promise<number> {
  const policy = resolvePolicy(options, io.env);
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
  const document = servicePolicyDocument({
    partition: partition ?? partitionOf(region),
    accountId,
    policy,
    bucketPolicyAccess,
    ledgerRegion: options.ledgerRegion as string | undefined,
  });
  io.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
  return 0;
}

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
    .addHelpText(
      "after",
      `
The same policy document the SST stacks grant the functions. No '*' actions; IAM and log actions are
scoped to the delivery role and to the log groups the --log-group-name template can produce. It follows
the settings: with --destination-type s3 there is no role or log-group action, only the
logs:CreateLogDelivery/DeleteLogDelivery AWS requires; --resource-type Subnet adds ec2:DescribeSubnets.

Examples:
  flowlog-guard iam-policy --account-id 111122223333 > flowlog-guard-policy.json
  flowlog-guard iam-policy --destination-type s3 --log-destination arn:aws:s3:::org-log-archive
  aws iam create-policy --policy-name flowlog-guard --policy-document file://flowlog-guard-policy.json`,
    );
  addPolicyOptions(addAwsOptions(command), ROLE_POLICY_FIELDS);
  wire(command, ({ io, options }) => iamPolicy(options, io));
};
