import {
  type AccountSelection,
  type ClientPool,
  coercePolicyValue,
  createClientPool,
  isRegionName,
  listEnabledRegions,
  MEMBER_ROLE_NAME,
  type Policy,
  PolicySchema,
  parsePolicy,
  policyInputFromEnv,
  validateAccountSelection,
} from "@flowlog-guard/core";
import { type Command, Option } from "commander";
import { UsageError } from "./errors.ts";

type Env = Record<string, string | undefined>;

const kebab = (name: string) => name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
const camel = (name: string) => name.replace(/-([a-z])/g, (_match, letter: string) => letter.toUpperCase());

/** Flag help for each policy field; the flag is the field in kebab-case (`--retention-days`). */
const POLICY_FLAG_HELP: Record<keyof Policy, string> = {
  trafficType: "traffic the flow logs capture: REJECT (CIS, cheaper) or ALL (default: REJECT)",
  retentionDays: "days the log groups keep events, >= 365 (default: 365)",
  logGroupName: "log group name template; {vpcId} {region} {accountId} (default: /aws/vpc-flow-logs/{vpcId})",
  roleName: "name of the delivery role, under path /flowlog-guard/ (default: flowlog-guard-delivery)",
  includeDefaultVpcs: "true or false: remediate default VPCs too (default: true)",
  maxAggregationInterval: "60 or 600 seconds (default: 600)",
  logFormat: "custom flow log record format, e.g. '${srcaddr} ${dstaddr} ${action}'",
  kmsKeyArn: "KMS key ARN to encrypt new log groups",
  maxExceptionDays: "how far out an exception may expire (default: 365)",
  createVpcGraceSeconds:
    "seconds a CreateVpc event waits so IaC can add its own flow log; 0 acts at once, max 900 (default: 60)",
  ledgerBus: "EventBridge bus (name or ARN) that receives change records",
  destinationType: "where new flow logs deliver: cloud-watch-logs or s3 (default: cloud-watch-logs)",
  logDestination:
    "with s3: bucket ARN and optional prefix, arn:aws:s3:::BUCKET[/PREFIX]; may be another account's",
  fileFormat: "with s3: plain-text or parquet (default: plain-text)",
  hiveCompatiblePartitions: "with s3: true or false, Hive-compatible S3 prefixes for Athena (default: false)",
  perHourPartition: "with s3: true or false, one partition per hour instead of per day (default: false)",
  resourceType: "what a new flow log covers: VPC (default; Subnet is reserved and refused by runs for now)",
};

const POLICY_FIELDS = Object.keys(PolicySchema.shape) as (keyof Policy)[];

/** Accepts the config schema's names as flags too: `--retentionDays 731` is `--retention-days 731`. */
export function normaliseFlagNames(argv: string[]): string[] {
  return argv.map((arg) => {
    const match = /^--([a-z]+[A-Z][A-Za-z]*)(=.*)?$/.exec(arg);
    return match ? `--${kebab(match[1]!)}${match[2] ?? ""}` : arg;
  });
}

export function addPolicyOptions(command: Command): Command {
  for (const field of POLICY_FIELDS) {
    command.addOption(
      new Option(`--${kebab(field)} <value>`, POLICY_FLAG_HELP[field]).helpGroup(
        "Policy (also FLOWLOG_GUARD_* variables):",
      ),
    );
  }
  return command;
}

/** Options every command that reads AWS shares. */
export function addRunOptions(command: Command): Command {
  command
    .option("--regions <list>", "comma-separated regions (default: every region enabled for the account)")
    .option("--json", "print only the JSON report on stdout")
    .option("--output <file>", "also write the JSON report to this file")
    .option("--concurrency <n>", "changes in flight at once per region (default: 8)")
    .option(
      "--api-rate <n>",
      "requests per second per API and region; 0 turns the limiter off (default: AWS's own limits)",
    );
  return addPolicyOptions(command);
}

/** Organization flags of scan and fix-all; any of --accounts / --ou switches to organization mode. */
export function addAccountOptions(command: Command): Command {
  const group = "Organization (run from the management or a delegated-administrator account):";
  const options = [
    new Option("--accounts <all|ids>", "all (every ACTIVE account) or comma-separated account ids"),
    new Option("--ou <ids>", "accounts under these OUs (or r-... root), recursively; comma-separated"),
    new Option("--exclude-accounts <ids>", "comma-separated account ids never touched"),
    new Option("--member-role-name <name>", "role assumed in each account (default: flowlog-guard-member)"),
    new Option("--account-concurrency <n>", "accounts worked on at once (default: 8)"),
  ];
  for (const option of options) command.addOption(option.helpGroup(group));
  return command;
}

export interface AccountSettings {
  selection: AccountSelection;
  memberRoleName: string;
  accountConcurrency: number;
}

const list = (raw: string | undefined) =>
  (raw ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);

/** Undefined in single-account mode (no --accounts, no --ou); every problem in one message otherwise. */
export function resolveAccountSettings(
  options: Record<string, unknown>,
  env: Env,
): AccountSettings | undefined {
  const accountsRaw = (options.accounts as string | undefined) ?? env.FLOWLOG_GUARD_ACCOUNTS;
  const ouRaw = (options.ou as string | undefined) ?? env.FLOWLOG_GUARD_OU;
  if (accountsRaw === undefined && ouRaw === undefined) {
    for (const flag of ["excludeAccounts", "memberRoleName", "accountConcurrency"])
      if (options[flag] !== undefined)
        throw new UsageError(
          `--${kebab(flag)} needs organization mode: add --accounts all (or --accounts ID,ID or --ou ou-...)`,
        );
    return undefined;
  }
  const selection: AccountSelection = {
    ...(accountsRaw !== undefined
      ? { accounts: accountsRaw.trim() === "all" ? "all" : list(accountsRaw) }
      : {}),
    ...(ouRaw !== undefined ? { ous: list(ouRaw) } : {}),
    exclude: list((options.excludeAccounts as string | undefined) ?? env.FLOWLOG_GUARD_EXCLUDE_ACCOUNTS),
  };
  if (Array.isArray(selection.accounts) && selection.accounts.length === 0)
    throw new UsageError('--accounts takes "all" or comma-separated 12-digit account ids');
  try {
    validateAccountSelection(selection);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const memberRoleName = (options.memberRoleName as string | undefined) ?? MEMBER_ROLE_NAME;
  if (!/^[\w+=,.@-]{1,64}$/.test(memberRoleName))
    throw new UsageError(
      `--member-role-name must be an IAM role name, not ${JSON.stringify(memberRoleName)}`,
    );
  const concurrencyRaw = options.accountConcurrency as string | undefined;
  return {
    selection,
    memberRoleName,
    accountConcurrency:
      concurrencyRaw === undefined ? 8 : positiveInteger(concurrencyRaw, "--account-concurrency", 256),
  };
}

export interface RunSettings {
  policy: Policy;
  /** Undefined: every enabled region (DescribeRegions). */
  regions: string[] | undefined;
  json: boolean;
  output: string | undefined;
  concurrency: number;
  apiRate: number | undefined;
}

function positiveInteger(raw: string, flag: string, max: number): number {
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > max) {
    throw new UsageError(`${flag} must be a whole number from 1 to ${max}, not ${JSON.stringify(raw)}`);
  }
  return Number(raw);
}

/** Policy from `FLOWLOG_GUARD_*` with flags on top; every problem in one message. */
export function resolvePolicy(options: Record<string, unknown>, env: Env): Policy {
  const input: Record<string, unknown> = policyInputFromEnv(env);
  for (const field of POLICY_FIELDS) {
    const value = options[field] ?? options[camel(kebab(field))];
    if (typeof value === "string") input[field] = coercePolicyValue(field, value);
  }
  return parsePolicy(input, "settings (flags and FLOWLOG_GUARD_* variables)");
}

export function resolveRunSettings(options: Record<string, unknown>, env: Env): RunSettings {
  const regionsRaw = (options.regions as string | undefined) ?? env.FLOWLOG_GUARD_REGIONS;
  let regions: string[] | undefined;
  if (regionsRaw !== undefined) {
    regions = regionsRaw
      .split(",")
      .map((region) => region.trim())
      .filter(Boolean);
    const bad = regions.filter((region) => !isRegionName(region));
    if (regions.length === 0 || bad.length > 0) {
      throw new UsageError(
        `--regions takes region names like eu-west-1,us-east-1; not valid: ${JSON.stringify(bad.join(",") || regionsRaw)}`,
      );
    }
  }
  const concurrencyRaw = (options.concurrency as string | undefined) ?? env.FLOWLOG_GUARD_CONCURRENCY;
  const apiRateRaw = (options.apiRate as string | undefined) ?? env.FLOWLOG_GUARD_API_RATE;
  let apiRate: number | undefined;
  if (apiRateRaw !== undefined) {
    if (!/^\d+(\.\d+)?$/.test(apiRateRaw)) {
      throw new UsageError(
        `--api-rate must be a number of requests per second (0 = no limiter), not ${JSON.stringify(apiRateRaw)}`,
      );
    }
    apiRate = Number(apiRateRaw);
  }
  return {
    policy: resolvePolicy(options, env),
    regions,
    json: Boolean(options.json),
    output: options.output as string | undefined,
    concurrency: concurrencyRaw === undefined ? 8 : positiveInteger(concurrencyRaw, "--concurrency", 64),
    apiRate,
  };
}

/** The region for account-wide calls: the SDK's usual AWS_REGION, else the first region asked for. */
export function homeRegionOf(regions: string[] | undefined, env: Env): string {
  return env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? regions?.[0] ?? "us-east-1";
}

export function createPool(settings: Pick<RunSettings, "apiRate">): ClientPool {
  return createClientPool(settings.apiRate === undefined ? {} : { apiRate: settings.apiRate });
}

export async function regionsToRun(
  settings: RunSettings,
  pool: ClientPool,
  homeRegion: string,
): Promise<string[]> {
  return settings.regions ?? (await listEnabledRegions(pool.clientsFor(homeRegion)));
}
