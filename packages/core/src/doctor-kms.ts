/**
 * `doctor`'s checks of the log groups' KMS keys: every watched region has a key, each key (a
 * multi-Region key's replica included) exists, is enabled and symmetric, and its policy lets
 * CloudWatch Logs of that region use it. Reads only (DescribeKey, GetKeyPolicy); never changes a key.
 */
import { DescribeKeyCommand, GetKeyPolicyCommand } from "@aws-sdk/client-kms";
import type { ClientPool } from "./aws-clients.ts";
import type { Policy } from "./config.ts";
import type { DoctorCheck } from "./doctor.ts";
import { awsErrorName, describeError } from "./errors.ts";
import type { AccountIdentity } from "./inventory.ts";
import {
  checkKeyPolicyForLogGroup,
  kmsKeyCoverageProblems,
  kmsKeysForRegions,
  LOG_GROUP_KMS_ACTIONS,
  logsServicePrincipal,
  parseKmsKeyArn,
} from "./kms-keys.ts";
import { renderLogGroupName } from "./log-group-template.ts";
import { logGroupArn } from "./naming.ts";
import { parsePolicyDocument } from "./policy-documents.ts";

const DENIED = new Set(["AccessDenied", "AccessDeniedException"]);

interface KeySite {
  region: string;
  keyArn: string;
  replica: boolean;
}

/** The statement a key policy needs for the log groups of `region`, as the fix in messages. */
function keyPolicyFix(region: string, identity: AccountIdentity): string {
  return (
    `add to the key policy: Allow Principal {"Service": "${logsServicePrincipal(region)}"} Action ` +
    `${LOG_GROUP_KMS_ACTIONS.join(", ")} on "*" with ArnLike kms:EncryptionContext:aws:logs:arn ` +
    `arn:${identity.partition}:logs:${region}:${identity.accountId}:log-group:* (docs/what-gets-created.md)`
  );
}

/** DescribeKey: the key exists (for a replica: was replicated), is enabled and symmetric. */
async function describeKeyProblem(pool: ClientPool, site: KeySite): Promise<DoctorCheck | undefined> {
  const name = `KMS key for ${site.region}`;
  const kms = pool.clientsFor(site.region).kms;
  try {
    const metadata = (await kms.send(new DescribeKeyCommand({ KeyId: site.keyArn }))).KeyMetadata;
    if (metadata?.KeyState !== "Enabled") {
      return {
        name,
        status: "fail",
        detail: `${site.keyArn} is ${metadata?.KeyState ?? "in an unknown state"}: CreateLogGroup with it fails`,
        fix: `aws kms enable-key --key-id ${site.keyArn} --region ${site.region}, or configure another key`,
      };
    }
    if (metadata.KeySpec && metadata.KeySpec !== "SYMMETRIC_DEFAULT") {
      return {
        name,
        status: "fail",
        detail: `${site.keyArn} is ${metadata.KeySpec}; CloudWatch Logs only uses symmetric keys`,
        fix: "configure a symmetric encryption key (SYMMETRIC_DEFAULT)",
      };
    }
    return undefined;
  } catch (error) {
    if (awsErrorName(error) !== "NotFoundException") throw error;
    const primary = parseKmsKeyArn(site.keyArn);
    return {
      name,
      status: "fail",
      detail: site.replica
        ? `the multi-Region key's replica ${site.keyArn} does not exist`
        : `${site.keyArn} does not exist`,
      fix: site.replica
        ? `aws kms replicate-key --key-id ${primary?.keyId ?? site.keyArn} --replica-region ${site.region} (run in the primary key's region), or give ${site.region} its own key`
        : `create the key in ${site.region}, or correct kmsKeyArn`,
    };
  }
}

/** One key: DescribeKey, then GetKeyPolicy read for logs.<region>.amazonaws.com. */
async function checkKey(
  pool: ClientPool,
  policy: Policy,
  identity: AccountIdentity,
  site: KeySite,
): Promise<DoctorCheck> {
  const name = `KMS key for ${site.region}`;
  const fix = keyPolicyFix(site.region, identity);
  let text: string | undefined;
  try {
    const problem = await describeKeyProblem(pool, site);
    if (problem) return problem;
    const kms = pool.clientsFor(site.region).kms;
    text = (await kms.send(new GetKeyPolicyCommand({ KeyId: site.keyArn, PolicyName: "default" }))).Policy;
  } catch (error) {
    if (!DENIED.has(awsErrorName(error) ?? "")) throw error;
    return {
      name,
      status: "warn",
      detail: `not allowed to read ${site.keyArn}: ${describeError(error)}`,
      fix,
    };
  }
  const sampleGroup = renderLogGroupName(policy.logGroupName, {
    vpcId: "vpc-0123456789abcdef0",
    region: site.region,
    accountId: identity.accountId,
  });
  const verdict = checkKeyPolicyForLogGroup(text ? parsePolicyDocument(text) : undefined, {
    region: site.region,
    logGroupArn: logGroupArn(identity.partition, site.region, identity.accountId, sampleGroup),
  });
  if (verdict.decision === "allowed") {
    return {
      name,
      status: "ok",
      detail: `${site.keyArn} is enabled and lets ${logsServicePrincipal(site.region)} use it`,
    };
  }
  return {
    name,
    status: verdict.decision === "unsure" ? "warn" : "fail",
    detail:
      `the policy of ${site.keyArn} does not let ${logsServicePrincipal(site.region)} use it ` +
      `(${verdict.decision}${verdict.notes.length ? `: ${verdict.notes.join("; ")}` : ""}); CreateLogGroup and AssociateKmsKey fail`,
    fix,
  };
}

/**
 * The KMS checks, when the policy names keys for CloudWatch Logs log groups (none otherwise): a
 * region without a key, then each region's key.
 */
export async function checkKmsKeys(options: {
  pool: ClientPool;
  policy: Policy;
  identity: AccountIdentity;
  regions: string[];
}): Promise<DoctorCheck[]> {
  const { pool, policy, identity, regions } = options;
  if (!policy.kmsKeyArn || policy.destinationType === "s3") return [];
  const checks: DoctorCheck[] = kmsKeyCoverageProblems(policy.kmsKeyArn, regions).map((problem) => ({
    name: "KMS keys per region",
    status: "fail",
    detail: problem,
    fix: "give every watched region a key (REGION=ARN), or use a multi-Region key; docs/configuration.md",
  }));
  for (const site of kmsKeysForRegions(policy.kmsKeyArn, regions)) {
    try {
      checks.push(await checkKey(pool, policy, identity, site));
    } catch (error) {
      checks.push({
        name: `KMS key for ${site.region}`,
        status: "fail",
        detail: `${site.keyArn}: ${describeError(error)}`,
        fix: "see the error; then run doctor again",
      });
    }
  }
  return checks;
}
