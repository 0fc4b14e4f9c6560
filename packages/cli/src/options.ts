import {
  ConfigError,
  coercePolicyValue,
  DESTINATION_TYPES,
  FILE_FORMATS,
  POLICY_ENV_VARS,
  type Policy,
  PolicySchema,
  policyInputFromEnv,
  RESOURCE_TYPES,
} from "@flowlog-guard/core";
import { type Command, Option } from "commander";
import { UsageError } from "./errors.ts";

export type Env = Record<string, string | undefined>;

const kebab = (name: string) => name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);

/** Flag help for each policy field; the flag is the field in kebab-case (`--retention-days`). */
const POLICY_FLAG_HELP: Record<keyof Policy, string> = {
  trafficType: "traffic the flow logs capture: REJECT (CIS, cheaper) or ALL (default: REJECT)",
  retentionDays: "days the log groups keep events, >= 365 (default: 365)",
  logGroupName: "log group name template; {vpcId} {region} {accountId} (default: /aws/vpc-flow-logs/{vpcId})",
  roleName: "name of the delivery role, under path /flowlog-guard/ (default: flowlog-guard-delivery)",
  rolePermissionsBoundary:
    "permissions boundary the delivery role must carry, for an SCP that requires one: arn:aws:iam::ACCOUNT:policy/NAME, ACCOUNT may be {accountId} (each account's own) (default: none)",
  includeDefaultVpcs: "true or false: remediate default VPCs too (default: true)",
  maxAggregationInterval: "60 or 600 seconds (default: 600)",
  logFormat: "custom flow log record format, e.g. '${srcaddr} ${dstaddr} ${action}'",
  kmsKeyArn:
    "KMS key for new log groups, per region: ARN (its own region; a multi-Region mrk- key serves every region by its replica) or REGION=ARN; repeat or comma-separate for several regions",
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
  resourceType:
    "what a new flow log covers: VPC (default) or Subnet (each subnet not covered by a VPC flow log gets its own)",
};

/** The values of each enum field: accepted in any case (`--traffic-type all`), named in errors. */
const ENUM_VALUES: Partial<Record<keyof Policy, readonly string[]>> = {
  trafficType: ["REJECT", "ALL"],
  destinationType: DESTINATION_TYPES,
  fileFormat: FILE_FORMATS,
  resourceType: RESOURCE_TYPES,
};

const or = (values: readonly (string | number)[]) => `${values.slice(0, -1).join(", ")} or ${values.at(-1)}`;

/** The values a field takes, named in errors so that the fix is in the message. */
const ALLOWED: Partial<Record<keyof Policy, string>> = {
  ...Object.fromEntries(Object.entries(ENUM_VALUES).map(([field, values]) => [field, or(values)])),
  includeDefaultVpcs: "true or false",
  hiveCompatiblePartitions: "true or false",
  perHourPartition: "true or false",
  maxAggregationInterval: "60 or 600",
};

export const POLICY_FIELDS = Object.keys(PolicySchema.shape) as (keyof Policy)[];

/** The policy fields that change what `iam-policy` grants and `doctor` checks. */
export const ROLE_POLICY_FIELDS: (keyof Policy)[] = [
  "logGroupName",
  "roleName",
  "rolePermissionsBoundary",
  "ledgerBus",
  "destinationType",
  "logDestination",
  "resourceType",
  "hiveCompatiblePartitions",
  "kmsKeyArn",
];

/** Accepts the config schema's names as flags too: `--retentionDays 731` is `--retention-days 731`. */
export function normaliseFlagNames(argv: string[]): string[] {
  return argv.map((arg) => {
    const match = /^--([a-z]+[A-Z][A-Za-z]*)(=.*)?$/.exec(arg);
    return match ? `--${kebab(match[1]!)}${match[2] ?? ""}` : arg;
  });
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Policy fields whose flag may be repeated; the values join as a comma-separated list. */
const REPEATABLE_FIELDS = new Set<keyof Policy>(["kmsKeyArn"]);

export function addPolicyOptions(command: Command, fields: (keyof Policy)[] = POLICY_FIELDS): Command {
  for (const field of fields) {
    const option = new Option(`--${kebab(field)} <value>`, POLICY_FLAG_HELP[field]).helpGroup(
      "Policy (also FLOWLOG_GUARD_* variables):",
    );
    command.addOption(REPEATABLE_FIELDS.has(field) ? option.argParser(collect) : option);
  }
  return command;
}

/** A policy flag's value as typed: a repeated flag's values joined with commas. */
function policyFlag(options: Record<string, unknown>, field: keyof Policy): string | undefined {
  const flag = options[field];
  if (Array.isArray(flag)) return flag.join(",");
  return typeof flag === "string" ? flag : undefined;
}

/** Credentials and API pacing: every command that calls AWS. */
export function addAwsOptions(command: Command): Command {
  const group = "AWS access:";
  return command
    .addOption(
      new Option("--profile <name>", "AWS profile from ~/.aws/config (default: AWS_PROFILE)").helpGroup(
        group,
      ),
    )
    .addOption(
      new Option("--role-arn <arn>", "assume this IAM role first (cross-account, break-glass)").helpGroup(
        group,
      ),
    )
    .addOption(
      new Option(
        "--request-timeout <seconds>",
        "give up on an AWS request after this long (then retry; default: 30); connecting gives up after 5",
      ).helpGroup(group),
    )
    .addOption(
      new Option(
        "--api-rate <n>",
        "requests per second per API and region; 0 turns the limiter off (default: AWS's own limits)",
      ).helpGroup(group),
    );
}

/** Where the report goes. */
export function addReportOptions(command: Command, { quiet = true } = {}): Command {
  command
    .option("--json", "print only the JSON report on stdout")
    .option("--output <file>", "also write the JSON report to this file; - is stdout");
  if (quiet) command.option("--quiet", "print the summary and the problems only (large estates)");
  return command;
}

/** Which regions and VPCs a run covers. */
export function addScopeOptions(command: Command, { filters = true } = {}): Command {
  command.option(
    "--regions <list>",
    "comma-separated regions (default: every region enabled for the account)",
  );
  if (!filters) return command;
  const group = "Which VPCs:";
  return command
    .addOption(new Option("--vpc-ids <list>", "only these VPCs (comma-separated)").helpGroup(group))
    .addOption(
      new Option("--exclude-vpc-ids <list>", "leave these VPCs out (comma-separated)").helpGroup(group),
    )
    .addOption(
      new Option("--tag <key=value>", "only VPCs with this tag; repeat to require several")
        .argParser(collect)
        .helpGroup(group),
    );
}

/** Commands that read every region and print a report (doctor, exceptions, cost): no VPC filters, no --quiet. */
export function addReadOnlyRunOptions(command: Command, fields: (keyof Policy)[] = POLICY_FIELDS): Command {
  return addPolicyOptions(
    addAwsOptions(addReportOptions(addScopeOptions(command, { filters: false }), { quiet: false })),
    fields,
  );
}

export interface VpcFilters {
  vpcIds: string[] | undefined;
  excludeVpcIds: string[];
  tags: Record<string, string>;
}

export interface RunSettings {
  policy: Policy;
  /** Undefined: every enabled region (DescribeRegions). */
  regions: string[] | undefined;
  json: boolean;
  quiet: boolean;
  /** `-` is stdout. */
  output: string | undefined;
  concurrency: number;
  apiRate: number | undefined;
  /** How long fix-all keeps retrying work that failed for a retryable reason, from the run's start. */
  deadlineMs: number;
  /** Per-request timeout for every AWS client. */
  requestTimeoutMs: number | undefined;
  profile: string | undefined;
  roleArn: string | undefined;
  filters: VpcFilters;
}

/** Collects every problem with the settings, so that one run reports them all. */
export class Problems {
  readonly list: string[] = [];
  add(problem: string): void {
    this.list.push(problem);
  }
  /** Runs a parser; a UsageError or ConfigError becomes one or more listed problems. */
  take<T>(parse: () => T): T | undefined {
    try {
      return parse();
    } catch (error) {
      if (error instanceof ConfigError && error.problems.length > 0) this.list.push(...error.problems);
      else if (error instanceof UsageError || error instanceof ConfigError) this.list.push(error.message);
      else throw error;
      return undefined;
    }
  }
  throwIfAny(): void {
    if (this.list.length === 1) throw new UsageError(this.list[0]!);
    if (this.list.length > 1) {
      throw new UsageError(
        `${this.list.length} problems with the settings:\n${this.list.map((p) => `  - ${p}`).join("\n")}`,
      );
    }
  }
}

/** A flag's value, else its variable's, with the name the user typed (for messages). */
function setting(
  options: Record<string, unknown>,
  env: Env,
  key: string,
  variable?: string,
): { raw: string; name: string } | undefined {
  const flag = options[key];
  if (typeof flag === "string") return { raw: flag, name: `--${kebab(key)}` };
  const fromEnv = variable ? env[variable] : undefined;
  return fromEnv === undefined || variable === undefined ? undefined : { raw: fromEnv, name: variable };
}

const DEFAULT_DEADLINE_MS = 15 * 60_000;
const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** "90s", "15m", "1h30m", "500ms", or plain seconds ("900") -> milliseconds. */
export function parseDuration(raw: string, name: string): number {
  const text = raw.trim().toLowerCase();
  const parts = [...text.matchAll(/(\d+)(ms|s|m|h)/g)];
  const whole = parts.map((part) => part[0]).join("");
  const ms = /^\d+$/.test(text)
    ? Number(text) * 1_000
    : whole === text && parts.length > 0
      ? parts.reduce((sum, part) => sum + Number(part[1]) * (DURATION_UNITS_MS[part[2] ?? "s"] ?? 0), 0)
      : Number.NaN;
  if (!Number.isFinite(ms) || ms <= 0 || ms > 24 * 3_600_000) {
    throw new UsageError(
      `${name} takes a duration up to 24h such as 90s, 15m or 1h30m, not ${JSON.stringify(raw)}`,
    );
  }
  return ms;
}

/** A comma-separated list, trimmed and without repeats (`a,a` is one `a`). */
export function uniqueList(raw: string): string[] {
  return [
    ...new Set(
      raw
        .split(",")
        .map((item) => item.trim())
        .filter(Boolean),
    ),
  ];
}

function parseRegions(options: Record<string, unknown>, env: Env): string[] | undefined {
  const given = setting(options, env, "regions", "FLOWLOG_GUARD_REGIONS");
  if (!given) return undefined;
  const regions = uniqueList(given.raw);
  const bad = regions.filter((region) => !/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/.test(region));
  if (regions.length === 0 || bad.length > 0) {
    throw new UsageError(
      `${given.name} takes region names like eu-west-1,us-east-1; not valid: ${JSON.stringify(bad.join(",") || given.raw)}`,
    );
  }
  return regions;
}

function parseVpcIds(raw: unknown, flag: string): string[] | undefined {
  if (typeof raw !== "string") return undefined;
  const ids = uniqueList(raw);
  const bad = ids.filter((id) => !/^vpc-[0-9a-f]{8,17}$/.test(id));
  if (ids.length === 0 || bad.length > 0) {
    throw new UsageError(
      `${flag} takes VPC ids like vpc-0a1b2c3d; not valid: ${JSON.stringify(bad.join(",") || raw)}`,
    );
  }
  return ids;
}

function parseTags(raw: unknown): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const pair of (raw as string[] | undefined) ?? []) {
    const at = pair.indexOf("=");
    if (at < 1)
      throw new UsageError(`--tag takes KEY=VALUE (e.g. --tag env=prod), not ${JSON.stringify(pair)}`);
    tags[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return tags;
}

export function positiveInteger(
  given: { raw: string; name: string } | undefined,
  fallback: number,
  max: number,
): number {
  if (!given) return fallback;
  if (!/^\d+$/.test(given.raw) || Number(given.raw) < 1 || Number(given.raw) > max) {
    throw new UsageError(
      `${given.name} must be a whole number from 1 to ${max}, not ${JSON.stringify(given.raw)}`,
    );
  }
  return Number(given.raw);
}

function parseApiRate(given: { raw: string; name: string } | undefined): number | undefined {
  if (!given) return undefined;
  if (!/^\d+(\.\d+)?$/.test(given.raw)) {
    throw new UsageError(
      `${given.name} must be a number of requests per second (0 = no limiter), not ${JSON.stringify(given.raw)}`,
    );
  }
  return Number(given.raw);
}

function parseRoleArn(raw: unknown): string | undefined {
  if (typeof raw !== "string") return undefined;
  if (!/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/.test(raw)) {
    throw new UsageError(
      `--role-arn takes an IAM role ARN like arn:aws:iam::111122223333:role/flowlog-guard, not ${JSON.stringify(raw)}`,
    );
  }
  return raw;
}

/** A value as its field takes it: enums in any case (`--traffic-type all`). */
function coerce(field: keyof Policy, raw: string): unknown {
  const values = ENUM_VALUES[field];
  if (!values) return coercePolicyValue(field, raw);
  return values.find((value) => value.toLowerCase() === raw.trim().toLowerCase()) ?? raw;
}

/**
 * Policy from `FLOWLOG_GUARD_*` with flags on top. Each problem names what the user typed: the flag
 * (`--retention-days`) or the variable (`FLOWLOG_GUARD_RETENTION_DAYS`), with the allowed values.
 */
export function resolvePolicy(options: Record<string, unknown>, env: Env): Policy {
  const problems = new Problems();
  const policy = collectPolicy(options, env, problems);
  problems.throwIfAny();
  return policy!;
}

function collectPolicy(options: Record<string, unknown>, env: Env, problems: Problems): Policy | undefined {
  // An unknown variable is one problem; the known ones are still checked, so all show at once.
  const known = new Set(Object.values(POLICY_ENV_VARS));
  const input: Record<string, unknown> =
    problems.take(() => policyInputFromEnv(env)) ??
    policyInputFromEnv(Object.fromEntries(Object.entries(env).filter(([name]) => known.has(name))));
  const names: Partial<Record<keyof Policy, string>> = {};
  const typed: Partial<Record<keyof Policy, unknown>> = { ...input };
  for (const field of POLICY_FIELDS) {
    const flag = policyFlag(options, field);
    if (flag !== undefined) {
      typed[field] = flag;
      input[field] = coerce(field, flag);
      names[field] = `--${kebab(field)}`;
    } else if (typeof input[field] === "string") {
      input[field] = coerce(field, input[field] as string);
    }
  }
  const result = PolicySchema.safeParse(input);
  if (result.success) return result.data;
  for (const issue of result.error.issues) {
    const field = issue.path[0] as keyof Policy;
    const name = names[field] ?? POLICY_ENV_VARS[field] ?? String(field);
    const allowed = ALLOWED[field];
    const given = JSON.stringify(typed[field]);
    problems.add(allowed ? `${name}: must be ${allowed}, not ${given}` : `${name}: ${issue.message}`);
  }
  return undefined;
}

/** How a command reaches AWS: credentials (`--profile`, `--role-arn`), pacing and timeouts. */
export type AccessSettings = Pick<RunSettings, "profile" | "roleArn" | "apiRate" | "requestTimeoutMs">;

function collectAccess(options: Record<string, unknown>, env: Env, problems: Problems): AccessSettings {
  return {
    profile: options.profile as string | undefined,
    roleArn: problems.take(() => parseRoleArn(options.roleArn)),
    apiRate: problems.take(() => parseApiRate(setting(options, env, "apiRate", "FLOWLOG_GUARD_API_RATE"))),
    requestTimeoutMs: problems.take(() => {
      const given = setting(options, env, "requestTimeout");
      return given ? positiveInteger(given, 30, 600) * 1000 : undefined;
    }),
  };
}

/** The access settings alone (commands that only read who the caller is). */
export function resolveAccessSettings(options: Record<string, unknown>, env: Env): AccessSettings {
  const problems = new Problems();
  const access = collectAccess(options, env, problems);
  problems.throwIfAny();
  return access;
}

/** Every setting of a command that reads AWS; every problem reported at once. */
export function resolveRunSettings(options: Record<string, unknown>, env: Env): RunSettings {
  const problems = new Problems();
  const settings = {
    ...collectAccess(options, env, problems),
    regions: problems.take(() => parseRegions(options, env)),
    concurrency:
      problems.take(() =>
        positiveInteger(setting(options, env, "concurrency", "FLOWLOG_GUARD_CONCURRENCY"), 8, 64),
      ) ?? 8,
    deadlineMs:
      problems.take(() => {
        const given = setting(options, env, "deadline", "FLOWLOG_GUARD_DEADLINE");
        return given ? parseDuration(given.raw, given.name) : undefined;
      }) ?? DEFAULT_DEADLINE_MS,
    filters: {
      vpcIds: problems.take(() => parseVpcIds(options.vpcIds, "--vpc-ids")),
      excludeVpcIds: problems.take(() => parseVpcIds(options.excludeVpcIds, "--exclude-vpc-ids")) ?? [],
      tags: problems.take(() => parseTags(options.tag)) ?? {},
    },
  };
  const policy = collectPolicy(options, env, problems);
  problems.throwIfAny();
  return {
    ...settings,
    policy: policy!,
    json: Boolean(options.json),
    quiet: Boolean(options.quiet),
    output: options.output as string | undefined,
  };
}

/** The region for account-wide calls: the SDK's usual AWS_REGION, else the first region asked for. */
export function homeRegionOf(regions: string[] | undefined, env: Env): string {
  return env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? regions?.[0] ?? "us-east-1";
}
