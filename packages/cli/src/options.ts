import {
  type ClientPool,
  coercePolicyValue,
  createClientPool,
  listEnabledRegions,
  type Policy,
  PolicySchema,
  parsePolicy,
  policyInputFromEnv,
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
  ledgerBus: "EventBridge bus (name or ARN) that receives change records",
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
    const bad = regions.filter((region) => !/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/.test(region));
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
