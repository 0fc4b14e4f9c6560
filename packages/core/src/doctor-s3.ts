/**
 * `doctor`'s checks of an S3 destination: the bucket exists and is reachable, its policy lets
 * delivery.logs.amazonaws.com write this account's files with the source conditions AWS documents,
 * and its SSE-KMS key, if any, lets the service encrypt. Reads only; never changes a bucket or key.
 */
import { GetKeyPolicyCommand } from "@aws-sdk/client-kms";
import {
  GetBucketEncryptionCommand,
  GetBucketPolicyCommand,
  HeadBucketCommand,
  ListBucketsCommand,
} from "@aws-sdk/client-s3";
import type { AwsClients } from "./aws-clients.ts";
import {
  checkBucketPolicyForDelivery,
  checkKeyPolicyForDelivery,
  DELIVERY_KMS_ACTIONS,
  type DeliveryTarget,
} from "./bucket-policy.ts";
import type { Policy } from "./config.ts";
import type { DoctorCheck } from "./doctor.ts";
import { awsErrorName, describeError } from "./errors.ts";
import type { AccountIdentity } from "./inventory.ts";
import { parsePolicyDocument } from "./policy-documents.ts";
import type { GrantVerdict } from "./resource-policy-check.ts";
import { parseS3Destination } from "./s3-destination.ts";

const DENIED = new Set(["AccessDenied", "AccessDeniedException", "Forbidden", "403"]);
const isDenied = (error: unknown) => DENIED.has(awsErrorName(error) ?? "");

interface BucketContext {
  clients: AwsClients;
  target: DeliveryTarget;
  regions: string[];
  ownedByCaller: boolean;
  /** The command that prints the policy this bucket needs. */
  policyCommand: string;
}

async function checkBucketReachable(
  clients: AwsClients,
  bucket: string,
): Promise<DoctorCheck & { reachable: boolean }> {
  const name = `S3 destination bucket ${bucket}`;
  try {
    await clients.s3.send(new HeadBucketCommand({ Bucket: bucket }));
    return { name, status: "ok", detail: "exists and is reachable", reachable: true };
  } catch (error) {
    const code = awsErrorName(error);
    if (code === "NotFound" || code === "NoSuchBucket" || code === "404") {
      return {
        name,
        status: "fail",
        detail: "does not exist: every flow log to it would fail (LogDestinationNotFoundException)",
        fix: "create the bucket (in the log-archive account for a central bucket), or correct logDestination",
        reachable: false,
      };
    }
    if (isDenied(error)) {
      return {
        name,
        status: "warn",
        detail:
          "exists but this account may not read it (usual for a central bucket in another account); its policy was not checked",
        fix: "in the bucket owner's account, apply the policy `flowlog-guard bucket-policy` prints for this account",
        reachable: false,
      };
    }
    throw error;
  }
}

function describeRefusal(verdicts: { region: string; verdict: GrantVerdict }[]): string {
  return verdicts
    .map(
      ({ region, verdict }) =>
        `${region}: ${verdict.decision}${verdict.notes.length ? ` (${verdict.notes.join("; ")})` : ""}`,
    )
    .join(", ");
}

async function checkDeliveryPolicy(context: BucketContext): Promise<DoctorCheck> {
  const { clients, target } = context;
  const name = `bucket policy of ${target.bucket} (delivery.logs.amazonaws.com may write this account's flow logs)`;
  const fix = `apply the statements \`${context.policyCommand}\` prints (in the bucket owner's account; flowlog-guard never changes a bucket policy)`;
  let text: string | undefined;
  try {
    text = (await clients.s3.send(new GetBucketPolicyCommand({ Bucket: target.bucket }))).Policy;
  } catch (error) {
    if (awsErrorName(error) === "NoSuchBucketPolicy") {
      return context.ownedByCaller
        ? {
            name,
            status: "warn",
            detail:
              "the bucket has no policy: AWS attaches one at the first CreateFlowLogs only if the caller may s3:PutBucketPolicy",
            fix,
          }
        : { name, status: "fail", detail: "the bucket has no policy: delivery would be refused", fix };
    }
    if (isDenied(error)) {
      return { name, status: "warn", detail: "not allowed to read the bucket policy; not checked", fix };
    }
    throw error;
  }
  const document = text ? parsePolicyDocument(text) : undefined;
  const results = context.regions.map((region) => ({
    region,
    ...checkBucketPolicyForDelivery(document, { ...target, region }),
  }));
  const refused = results.filter((r) => r.write.decision !== "allowed");
  const aclRefused = results.filter((r) => r.aclCheck.decision !== "allowed");
  if (refused.length > 0 || aclRefused.length > 0) {
    const unsure = [...refused, ...aclRefused].every(
      (r) => r.write.decision === "unsure" || r.aclCheck.decision === "unsure",
    );
    const detail = [
      refused.length
        ? `s3:PutObject ${describeRefusal(refused.map((r) => ({ region: r.region, verdict: r.write })))}`
        : "",
      aclRefused.length
        ? `s3:GetBucketAcl ${describeRefusal(aclRefused.map((r) => ({ region: r.region, verdict: r.aclCheck })))}`
        : "",
    ]
      .filter(Boolean)
      .join("; ");
    return { name, status: unsure ? "warn" : "fail", detail, fix };
  }
  if (results.some((r) => !r.write.sourceConditioned)) {
    return {
      name,
      status: "warn",
      detail:
        "allows delivery, but without aws:SourceAccount / aws:SourceArn conditions: any account's logs could be written here",
      fix,
    };
  }
  return {
    name,
    status: "ok",
    detail: `allows delivery in ${context.regions.length} region(s), with source conditions`,
  };
}

async function checkBucketKey(context: BucketContext): Promise<DoctorCheck> {
  const { clients, target } = context;
  const name = `encryption key of ${target.bucket}`;
  let rule: { SSEAlgorithm?: string; KMSMasterKeyID?: string } | undefined;
  try {
    const encryption = await clients.s3.send(new GetBucketEncryptionCommand({ Bucket: target.bucket }));
    rule = encryption.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault;
  } catch (error) {
    if (awsErrorName(error) === "ServerSideEncryptionConfigurationNotFoundError") rule = undefined;
    else if (isDenied(error)) {
      return {
        name,
        status: "warn",
        detail: "not allowed to read the bucket's default encryption; not checked",
      };
    } else throw error;
  }
  if (!rule?.SSEAlgorithm?.startsWith("aws:kms")) {
    return { name, status: "ok", detail: `${rule?.SSEAlgorithm ?? "SSE-S3 (default)"}: nothing to allow` };
  }
  const keyId = rule.KMSMasterKeyID;
  if (!keyId || /alias\/aws\/s3$/.test(keyId)) {
    return {
      name,
      status: context.ownedByCaller ? "warn" : "fail",
      detail: "SSE-KMS with the AWS managed key aws/s3, which other accounts' log delivery cannot use",
      fix: "set the bucket's default encryption to a customer managed key, named by its ARN",
    };
  }
  if (!/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\//.test(keyId)) {
    return {
      name,
      status: "fail",
      detail: `default encryption names the key as ${keyId}; log delivery needs the key ARN ("LogDestination is undeliverable")`,
      fix: "put-bucket-encryption with KMSMasterKeyID = the key's ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)",
    };
  }
  return checkKeyPolicy(context, keyId);
}

async function checkKeyPolicy(context: BucketContext, keyArn: string): Promise<DoctorCheck> {
  const name = `key policy of ${keyArn}`;
  const fix =
    `allow delivery.logs.amazonaws.com ${DELIVERY_KMS_ACTIONS.join(", ")} on the key, conditioned on ` +
    `aws:SourceAccount ${context.target.accountId} and aws:SourceArn arn:${context.target.partition}:logs:*:${context.target.accountId}:*`;
  const region = keyArn.split(":")[3] ?? context.clients.region;
  let text: string | undefined;
  try {
    const kms = region === context.clients.region ? context.clients.kms : undefined;
    if (!kms)
      return {
        name,
        status: "warn",
        detail: `the key is in ${region}; run doctor with that region to check it`,
        fix,
      };
    text = (await kms.send(new GetKeyPolicyCommand({ KeyId: keyArn, PolicyName: "default" }))).Policy;
  } catch (error) {
    if (isDenied(error))
      return { name, status: "warn", detail: "not allowed to read the key policy; not checked", fix };
    throw error;
  }
  const verdict = checkKeyPolicyForDelivery(text ? parsePolicyDocument(text) : undefined, context.target);
  if (verdict.decision === "allowed") return { name, status: "ok", detail: "lets log delivery encrypt" };
  return {
    name,
    status: verdict.decision === "unsure" ? "warn" : "fail",
    detail: `log delivery may not use the key (${verdict.decision}${verdict.notes.length ? `: ${verdict.notes.join("; ")}` : ""}); flow logs stay ACTIVE but DeliverLogsStatus turns FAILED ("Access error")`,
    fix,
  };
}

/**
 * The S3-destination checks, when the policy's destination is S3 (none otherwise).
 *
 * @param regions the watched regions: a bucket policy may grant some regions and not others
 */
export async function checkS3Destination(options: {
  clients: AwsClients;
  policy: Policy;
  identity: AccountIdentity;
  regions: string[];
}): Promise<DoctorCheck[]> {
  const { clients, policy, identity } = options;
  const destination = parseS3Destination(policy.logDestination ?? "");
  if (policy.destinationType !== "s3" || !destination) return [];
  const guarded = async (label: string, check: () => Promise<DoctorCheck>): Promise<DoctorCheck> => {
    try {
      return await check();
    } catch (error) {
      return {
        name: label,
        status: "fail",
        detail: describeError(error),
        fix: "see the error; then run doctor again",
      };
    }
  };
  let canRead = false;
  const bucketCheck = await guarded(`S3 destination bucket ${destination.bucket}`, async () => {
    const { reachable, ...check } = await checkBucketReachable(clients, destination.bucket);
    canRead = reachable;
    return check;
  });
  if (!canRead) return [bucketCheck];
  const owned = await clients.s3.send(new ListBucketsCommand({})).then(
    (list) => (list.Buckets ?? []).some((bucket) => bucket.Name === destination.bucket),
    () => false,
  );
  const context: BucketContext = {
    clients,
    regions: options.regions,
    ownedByCaller: owned,
    target: {
      partition: destination.partition,
      bucket: destination.bucket,
      prefix: destination.prefix,
      accountId: identity.accountId,
      region: clients.region,
      hive: policy.hiveCompatiblePartitions,
    },
    policyCommand: `flowlog-guard bucket-policy --bucket ${destination.bucket} --accounts ${identity.accountId}${destination.prefix ? ` --prefix ${destination.prefix}` : ""}`,
  };
  return [
    {
      ...bucketCheck,
      detail: `${bucketCheck.detail}${owned ? " (this account's)" : " (another account's)"}`,
    },
    await guarded("bucket policy", () => checkDeliveryPolicy(context)),
    await guarded("bucket encryption", () => checkBucketKey(context)),
  ];
}

/**
 * What `iam-policy` needs to know about the destination bucket: whether it is the caller's own and
 * whether its policy already lets log delivery write (then AWS needs no bucket-policy permission).
 * Undefined when the destination is not S3. A bucket this account cannot read counts as another's.
 */
export async function probeDestinationBucket(options: {
  clients: AwsClients;
  policy: Policy;
  identity: AccountIdentity;
}): Promise<{ ownedByCaller: boolean; deliveryAllowed: boolean } | undefined> {
  const { clients, policy, identity } = options;
  const destination = parseS3Destination(policy.logDestination ?? "");
  if (policy.destinationType !== "s3" || !destination) return undefined;
  const list = await clients.s3.send(new ListBucketsCommand({})).catch(() => ({ Buckets: [] }));
  const ownedByCaller = (list.Buckets ?? []).some((bucket) => bucket.Name === destination.bucket);
  if (!ownedByCaller) return { ownedByCaller, deliveryAllowed: false };
  const text = await clients.s3
    .send(new GetBucketPolicyCommand({ Bucket: destination.bucket }))
    .then((response) => response.Policy)
    .catch((error: unknown) => {
      if (awsErrorName(error) === "NoSuchBucketPolicy") return undefined;
      throw error;
    });
  const verdict = checkBucketPolicyForDelivery(text ? parsePolicyDocument(text) : undefined, {
    partition: destination.partition,
    bucket: destination.bucket,
    prefix: destination.prefix,
    accountId: identity.accountId,
    region: clients.region,
    hive: policy.hiveCompatiblePartitions,
  });
  return { ownedByCaller, deliveryAllowed: verdict.write.decision === "allowed" };
}
