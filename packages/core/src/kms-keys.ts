/**
 * KMS keys for the log groups flowlog-guard creates. A KMS key lives in one region, and CloudWatch
 * Logs only accepts a key of the log group's own region, so the `kmsKeyArn` setting names a key per
 * region: `ARN` (the key serves its own region), `REGION=ARN`, or a comma-separated list of both.
 * A multi-Region key (`mrk-` key id) given without a region also serves every other region of its
 * partition through its replica there: same account and key id, the region swapped. The replica must
 * exist (`doctor` checks it). Pure: no AWS calls.
 */
import type { PolicyDocument } from "./policy-documents.ts";
import { partitionOf, REGION_NAME_PATTERN } from "./regions.ts";
import { evaluateServiceGrant, type GrantVerdict } from "./resource-policy-check.ts";

/** `arn:<partition>:kms:<region>:<account>:key/<key-id>`: a key id or an alias is not enough. */
export const KMS_KEY_ARN_PATTERN = /^arn:(aws[a-z-]*):kms:([a-z0-9-]+):(\d{12}):key\/([A-Za-z0-9-]+)$/;

/** The parts of a KMS key ARN. */
export interface KmsKeyArn {
  arn: string;
  partition: string;
  region: string;
  account: string;
  keyId: string;
  /** A multi-Region key (`mrk-...`): its replicas share the key id in other regions. */
  multiRegion: boolean;
}

/** The parts of a key ARN, or undefined when it is not one. */
export function parseKmsKeyArn(arn: string): KmsKeyArn | undefined {
  const match = KMS_KEY_ARN_PATTERN.exec(arn);
  if (!match) return undefined;
  const [, partition, region, account, keyId] = match as unknown as [string, string, string, string, string];
  if (!REGION_NAME_PATTERN.test(region)) return undefined;
  return { arn, partition, region, account, keyId, multiRegion: keyId.startsWith("mrk-") };
}

/** The ARN of a multi-Region key's replica in `region`: same partition, account and key id. */
export function replicaKeyArn(key: KmsKeyArn, region: string): string {
  return `arn:${key.partition}:kms:${region}:${key.account}:key/${key.keyId}`;
}

/** What the `kmsKeyArn` setting means: a key for some regions, and maybe a multi-Region key for the rest. */
export interface KmsKeyPlan {
  /** Region -> key ARN, for regions named (`REGION=ARN`) or implied by a key's own ARN. */
  byRegion: ReadonlyMap<string, string>;
  /** A multi-Region key given without a region: its replica serves every region not named. */
  everywhere: KmsKeyArn | undefined;
}

/** The items of a `kmsKeyArn` value: comma-separated, trimmed, empty items dropped. */
function itemsOf(setting: string): string[] {
  return setting
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);
}

const FORMS =
  "arn:aws:kms:REGION:ACCOUNT:key/KEY-ID, or REGION=ARN, comma-separated for several regions (a key id or alias is not enough)";

/** One item checked: its key and the region it is given for, or the problem with it. */
function readItem(item: string): { key: KmsKeyArn; region: string; named: boolean } | string {
  const at = item.indexOf("=");
  const named = at >= 0;
  const region = named ? item.slice(0, at).trim() : undefined;
  const arn = named ? item.slice(at + 1).trim() : item;
  if (region !== undefined && !REGION_NAME_PATTERN.test(region)) {
    return `${JSON.stringify(region)} is not a region name (such as eu-west-1) in ${JSON.stringify(item)}; use ${FORMS}`;
  }
  const key = parseKmsKeyArn(arn);
  if (!key) return `${JSON.stringify(arn)} is not a KMS key ARN; use ${FORMS}`;
  if (region !== undefined && region !== key.region) {
    const hint = key.multiRegion
      ? `give the replica's ARN ${replicaKeyArn(key, region)}, or the key alone (it then serves every region)`
      : `give a key of ${region}: CloudWatch Logs only uses a key of the log group's region`;
    return `the key ${arn} is in ${key.region}, not ${region}: ${hint}`;
  }
  if (partitionOf(key.region) !== key.partition) {
    return `the key ${arn} names partition ${key.partition}, but ${key.region} is in ${partitionOf(key.region)}`;
  }
  return { key, region: key.region, named };
}

/**
 * Reads a `kmsKeyArn` setting into keys per region, with every problem: malformed ARNs, a key given
 * for another region than its own, two keys for one region, two multi-Region keys without a region.
 */
export function readKmsKeySetting(setting: string | undefined): { plan: KmsKeyPlan; problems: string[] } {
  const byRegion = new Map<string, string>();
  const multiRegion = new Map<string, KmsKeyArn>();
  const problems: string[] = [];
  for (const item of itemsOf(setting ?? "")) {
    const read = readItem(item);
    if (typeof read === "string") {
      problems.push(read);
      continue;
    }
    const { key, region, named } = read;
    const earlier = byRegion.get(region);
    if (earlier !== undefined && earlier !== key.arn) {
      problems.push(`two keys for ${region}: ${earlier} and ${key.arn}; give one key per region`);
    }
    byRegion.set(region, key.arn);
    if (key.multiRegion && !named) multiRegion.set(`${key.account}/${key.keyId}`, key);
  }
  if (multiRegion.size > 1) {
    problems.push(
      `${multiRegion.size} multi-Region keys without a region (${[...multiRegion.values()].map((key) => key.arn).join(", ")}): ` +
        "only one can serve the other regions; give the others as REGION=ARN",
    );
  }
  return { plan: { byRegion, everywhere: [...multiRegion.values()][0] }, problems };
}

/** Problems with a `kmsKeyArn` setting alone (no regions known), each with the fix. Empty: valid. */
export function kmsKeySettingProblems(setting: string | undefined): string[] {
  return readKmsKeySetting(setting).problems;
}

/**
 * The key ARN for the log groups of `region`, or undefined when the setting gives none: the region's
 * own key, else the replica of a multi-Region key given without a region (same partition only).
 *
 * @example kmsKeyForRegion("arn:aws:kms:eu-west-1:111122223333:key/mrk-1a2b", "us-east-1")
 * // "arn:aws:kms:us-east-1:111122223333:key/mrk-1a2b"
 */
export function kmsKeyForRegion(setting: string | undefined, region: string): string | undefined {
  if (!setting) return undefined;
  const { plan } = readKmsKeySetting(setting);
  const own = plan.byRegion.get(region);
  if (own !== undefined) return own;
  const everywhere = plan.everywhere;
  if (!everywhere || partitionOf(region) !== everywhere.partition) return undefined;
  return replicaKeyArn(everywhere, region);
}

/** Every key the setting names for `regions`, one per region (what `doctor` checks). */
export function kmsKeysForRegions(
  setting: string | undefined,
  regions: readonly string[],
): { region: string; keyArn: string; replica: boolean }[] {
  const keys: { region: string; keyArn: string; replica: boolean }[] = [];
  const named = readKmsKeySetting(setting).plan.byRegion;
  for (const region of regions) {
    const keyArn = kmsKeyForRegion(setting, region);
    if (keyArn !== undefined) keys.push({ region, keyArn, replica: !named.has(region) });
  }
  return keys;
}

/**
 * With any key configured, the regions of a run (or of a deployment) that would be left without
 * one, as one problem naming them and the fix. Empty when no key is configured or every region has one.
 */
export function kmsKeyCoverageProblems(setting: string | undefined, regions: readonly string[]): string[] {
  const { plan, problems } = readKmsKeySetting(setting);
  if (problems.length > 0) return problems;
  if (plan.byRegion.size === 0 && !plan.everywhere) return [];
  const missing = [...new Set(regions)].filter((region) => kmsKeyForRegion(setting, region) === undefined);
  if (missing.length === 0) return [];
  const account = plan.everywhere?.account ?? parseKmsKeyArn([...plan.byRegion.values()][0] ?? "")?.account;
  const example = `${missing[0]}=arn:${partitionOf(missing[0]!)}:kms:${missing[0]}:${account ?? "ACCOUNT"}:key/KEY-ID`;
  return [
    `kmsKeyArn (FLOWLOG_GUARD_KMS_KEY_ARN): no KMS key for region${missing.length > 1 ? "s" : ""} ${missing.join(", ")}; ` +
      `CloudWatch Logs only uses a key of the log group's own region. Add --kms-key-arn ${example} ` +
      "(one per region; in the environment or stack config as a comma-separated list), or use a multi-Region key " +
      "(mrk-...) with a replica in every region, or leave those regions out of the run",
  ];
}

/**
 * The canonical `kmsKeyArn` value from any accepted form: a string, a list of strings (the repeated
 * `--kms-key-arn` flag, a stack config list), or a `{ region: arn }` object (stack config).
 */
export function normaliseKmsKeySetting(value: string | readonly string[] | Record<string, string>): string {
  const items =
    typeof value === "string"
      ? itemsOf(value)
      : Array.isArray(value)
        ? (value as readonly string[]).flatMap(itemsOf)
        : Object.entries(value).map(([region, arn]) => `${region}=${arn}`);
  return [...new Set(items)].join(",");
}

/** The key actions CloudWatch Logs of a region needs on a log group's key (CloudWatch Logs guide). */
export const LOG_GROUP_KMS_ACTIONS = [
  "kms:Encrypt*",
  "kms:Decrypt*",
  "kms:ReEncrypt*",
  "kms:GenerateDataKey*",
  "kms:Describe*",
] as const;

/** The CloudWatch Logs service principal of a region, which a log group's key policy must admit. */
export function logsServicePrincipal(region: string): string {
  return `logs.${region}.amazonaws.com`;
}

/**
 * Whether a key policy lets CloudWatch Logs of the key's region encrypt and decrypt a log group's
 * events (kms:GenerateDataKey and kms:Decrypt, with the `kms:EncryptionContext:aws:logs:arn` the
 * service sends: the group's ARN). An explicit deny or an unreadable condition is never "allowed".
 */
export function checkKeyPolicyForLogGroup(
  document: PolicyDocument | undefined,
  target: { region: string; logGroupArn: string },
): GrantVerdict {
  const request = (action: string) =>
    evaluateServiceGrant(document, {
      service: logsServicePrincipal(target.region),
      action,
      resource: "*",
      context: { "kms:EncryptionContext:aws:logs:arn": target.logGroupArn },
    });
  const verdicts = ["kms:GenerateDataKey", "kms:Decrypt"].map(request);
  return verdicts.find((verdict) => verdict.decision !== "allowed") ?? verdicts[0]!;
}
