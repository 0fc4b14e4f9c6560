import { DescribeOrganizationCommand } from "@aws-sdk/client-organizations";
import {
  BUCKET_POLICY_MAX_BYTES,
  bucketPolicySize,
  createOrganizationsClient,
  type DeliverySources,
  isBucketName,
  logArchiveBucketPolicy,
  logArchiveLifecycleConfiguration,
  parseS3Destination,
  partitionOf,
  readAccountIdentity,
} from "@flowlog-guard/core";
import { Option } from "commander";
import type { RegisterCommand } from "../command.ts";
import { createAccessFor, createPoolFor } from "../context.ts";
import { UsageError } from "../errors.ts";
import type { Io } from "../io.ts";
import { addAwsOptions, homeRegionOf, resolveAccessSettings } from "../options.ts";

/** `--accounts`: `all` (the caller's organization) or a comma-separated list of 12-digit ids. */
function parseAccounts(raw: string | undefined): string[] | "all" | undefined {
  if (raw === undefined) return undefined;
  if (raw.trim() === "all") return "all";
  const accounts = [
    ...new Set(
      raw
        .split(",")
        .map((id) => id.trim())
        .filter(Boolean),
    ),
  ];
  const bad = accounts.filter((id) => !/^\d{12}$/.test(id));
  if (accounts.length === 0 || bad.length > 0) {
    throw new UsageError(
      `--accounts takes all, or 12-digit account ids separated by commas (111122223333,444455556666); not valid: ${JSON.stringify(bad.join(",") || raw)}`,
    );
  }
  return accounts;
}

function parsePrefix(options: Record<string, unknown>, io: Io, bucket: string): string {
  const given = options.prefix as string | undefined;
  if (given !== undefined) {
    const prefix = given.replace(/^\/+|\/+$/g, "");
    if (prefix.split("/").includes("AWSLogs") || !/^[A-Za-z0-9!_.*'()/=-]*$/.test(prefix)) {
      throw new UsageError(
        `--prefix takes folders of A-Z a-z 0-9 ! _ . * ' ( ) = - (not AWSLogs, which AWS adds), not ${JSON.stringify(given)}`,
      );
    }
    return prefix;
  }
  // The deployment's own destination, when it names this bucket, tells the prefix.
  const configured = parseS3Destination(io.env.FLOWLOG_GUARD_LOG_DESTINATION ?? "");
  return configured?.bucket === bucket ? configured.prefix : "";
}

async function organizationIdOf(options: Record<string, unknown>, io: Io, region: string): Promise<string> {
  const given = options.organizationId as string | undefined;
  if (given !== undefined) {
    if (!/^o-[a-z0-9]{10,32}$/.test(given)) {
      throw new UsageError(`--organization-id takes an id like o-a1b2c3d4e5, not ${JSON.stringify(given)}`);
    }
    return given;
  }
  // The caller's --profile/--role-arn; a bad one is its own usage error, before the call.
  const { credentials, requestTimeoutMs } = await createAccessFor(
    resolveAccessSettings(options, io.env),
    io.env,
  );
  const organizations = createOrganizationsClient(region, { credentials, requestTimeoutMs });
  try {
    const organization = await organizations.send(new DescribeOrganizationCommand({}));
    if (organization.Organization?.Id) return organization.Organization.Id;
  } catch (error) {
    throw new UsageError(
      `--accounts all needs the organization's id and it could not be read (${(error as Error).name}: ${(error as Error).message}). ` +
        "Pass --organization-id o-..., or list the accounts: --accounts 111122223333,444455556666",
    );
  }
  throw new UsageError("--accounts all: this account is not in an organization; list the accounts instead");
}

/**
 * `bucket-policy`: the bucket policy (and a lifecycle rule) a central log-archive bucket needs so that
 * the given accounts, or the whole organization, can deliver flow logs to it. Prints JSON; changes nothing.
 */
async function bucketPolicyCommand(options: Record<string, unknown>, io: Io): Promise<number> {
  const bucket = options.bucket as string;
  if (!isBucketName(bucket)) {
    throw new UsageError(
      `--bucket takes an S3 bucket name (3-63 characters, a-z 0-9 . -, no arn: or s3://), not ${JSON.stringify(bucket)}`,
    );
  }
  const accounts = parseAccounts(options.accounts as string | undefined);
  const prefix = parsePrefix(options, io, bucket);
  const region = homeRegionOf(undefined, io.env);
  let partition = (options.partition as string | undefined) ?? partitionOf(region);
  let sources: DeliverySources;
  if (accounts === "all") {
    sources = { organizationId: await organizationIdOf(options, io, region) };
  } else if (accounts) {
    sources = { accounts };
  } else {
    const identity = await readAccountIdentity(
      (await createPoolFor(resolveAccessSettings(options, io.env), io.env)).clientsFor(region),
    );
    partition = (options.partition as string | undefined) ?? identity.partition;
    sources = { accounts: [identity.accountId] };
  }
  const bucketPolicy = logArchiveBucketPolicy({ partition, bucket, prefix, sources });
  const lifecycleConfiguration = logArchiveLifecycleConfiguration(prefix);
  io.stdout.write(`${JSON.stringify({ bucketPolicy, lifecycleConfiguration }, null, 2)}\n`);
  const size = bucketPolicySize(bucketPolicy);
  if (size > BUCKET_POLICY_MAX_BYTES) {
    io.stderr.write(
      `flowlog-guard: warning: this policy is ${size} bytes, over S3's ${BUCKET_POLICY_MAX_BYTES}-byte limit; use --accounts all (one organization condition) instead of listing accounts\n`,
    );
  }
  if (!options.quiet) {
    const again = [
      `flowlog-guard bucket-policy --bucket ${bucket}`,
      ...(options.accounts ? [`--accounts ${options.accounts as string}`] : []),
      ...(prefix ? [`--prefix ${prefix}`] : []),
      "--quiet",
    ].join(" ");
    io.stderr.write(
      "Apply it in the bucket owner's account (merge with statements the bucket already has):\n" +
        `  ${again} | jq .bucketPolicy > policy.json\n` +
        `  aws s3api put-bucket-policy --bucket ${bucket} --policy file://policy.json\n` +
        `  ${again} | jq .lifecycleConfiguration > lifecycle.json\n` +
        `  aws s3api put-bucket-lifecycle-configuration --bucket ${bucket} --lifecycle-configuration file://lifecycle.json\n`,
    );
  }
  return 0;
}

export const registerBucketPolicy: RegisterCommand = (program, wire) => {
  const command = program
    .command("bucket-policy")
    .description(
      "Print the bucket policy (and a lifecycle rule) an S3 bucket needs to receive flow logs from accounts",
    )
    .requiredOption("--bucket <name>", "the destination bucket's name (e.g. org-log-archive)")
    .option(
      "--accounts <list>",
      "all (every account of the caller's organization) or account ids: 111122223333,444455556666 (default: the caller's account)",
    )
    .option(
      "--prefix <folders>",
      "folders before AWSLogs/, as in logDestination arn:aws:s3:::BUCKET/PREFIX (default: from FLOWLOG_GUARD_LOG_DESTINATION when it names this bucket, else none)",
    )
    .option(
      "--organization-id <id>",
      "with --accounts all: the organization (default: read with organizations:DescribeOrganization)",
    )
    .addOption(new Option("--partition <name>", "ARN partition").choices(["aws", "aws-cn", "aws-us-gov"]))
    .option("--quiet", "print only the JSON, no instructions on stderr")
    .addHelpText(
      "after",
      `
Prints {"bucketPolicy": ..., "lifecycleConfiguration": ...} and changes nothing. The policy is the one
AWS documents for delivery.logs.amazonaws.com: s3:PutObject under each account's AWSLogs/ folders (both
the default and the Hive-compatible layout) with bucket-owner-full-control, and s3:GetBucketAcl +
s3:ListBucket on the bucket, conditioned on aws:SourceAccount and aws:SourceArn (aws:SourceOrgID for
--accounts all). The lifecycle rule moves flow-log files to Standard-IA after 30 days and Glacier
Instant Retrieval after 90, and deletes nothing. flowlog-guard never changes a bucket policy itself.

Examples:
  flowlog-guard bucket-policy --bucket org-log-archive --accounts all --quiet | jq .bucketPolicy
  flowlog-guard bucket-policy --bucket org-log-archive --accounts 111122223333,444455556666 --prefix vpc
  flowlog-guard bucket-policy --bucket my-flow-logs       just this account (from STS)`,
    );
  addAwsOptions(command);
  wire(command, ({ io, options }) => bucketPolicyCommand(options, io));
};
