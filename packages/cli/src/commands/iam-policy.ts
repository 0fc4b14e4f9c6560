import {
  needsBucketPolicyAccess,
  partitionOf,
  probeDestinationBucket,
  readAccountIdentity,
  servicePolicyDocument,
} from "@flowlog-guard/core";
import { UsageError } from "../errors.ts";
import type { Io } from "../io.ts";
import { createPool, homeRegionOf, resolvePolicy } from "../options.ts";

/** `iam-policy`: the least-privilege policy the CLI and the functions need, as JSON. */
export async function iamPolicyCommand(options: Record<string, unknown>, io: Io): Promise<number> {
  const policy = resolvePolicy(options, io.env);
  let accountId = options.accountId as string | undefined;
  let partition = options.partition as string | undefined;
  if (accountId !== undefined && !/^\d{12}$/.test(accountId)) {
    throw new UsageError(`--account-id must be a 12-digit AWS account id, not ${JSON.stringify(accountId)}`);
  }
  const region = homeRegionOf(undefined, io.env);
  let bucketPolicyAccess = Boolean(options.letAwsAttachBucketPolicy);
  if (!accountId) {
    const clients = createPool({ apiRate: undefined }).clientsFor(region);
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
    ...(options.ledgerRegion ? { ledgerRegion: options.ledgerRegion as string } : {}),
  });
  io.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
  return 0;
}
