import { z } from "zod";
import { ConfigError } from "./errors.ts";
import { unknownFlowLogFields } from "./flow-log-fields.ts";
import { kmsKeySettingProblems, normaliseKmsKeySetting } from "./kms-keys.ts";
import { logGroupTemplateProblems } from "./log-group-template.ts";
import { isBucketName, parseS3Destination } from "./s3-destination.ts";

/** Retention values CloudWatch Logs accepts (PutRetentionPolicy `retentionInDays`). */
export const ACCEPTED_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/** The longest grace for CreateVpc: the SQS delay queue that carries it delays a message 900 s at most. */
export const MAX_CREATE_VPC_GRACE_SECONDS = 900;

/** CIS asks for at least a year of flow logs; a lower policy value is a configuration error. */
export const MINIMUM_RETENTION_DAYS = 365;

/** The IAM path of the delivery role, so that the service's own IAM permissions can be scoped to it. */
export const DELIVERY_ROLE_PATH = "/flowlog-guard/";

/**
 * A managed policy ARN, as IAM takes it for a permissions boundary: `arn:PARTITION:iam::ACCOUNT:policy/NAME`
 * (an AWS managed policy has `aws` for the account), the name optionally under a path. For
 * `rolePermissionsBoundary` the account may be `{accountId}`: each account's own policy of that name
 * (IAM only takes a boundary from the role's own account, so organization mode needs it).
 */
export const IAM_POLICY_ARN_PATTERN =
  /^arn:aws(-[a-z]+)*:iam::(\d{12}|aws|\{accountId\}):policy\/([\w+=,.@-]+\/)*[\w+=,.@-]{1,128}$/;

/** The boundary the delivery role of `accountId` must carry (`{accountId}` filled in), if any. */
export function roleBoundaryFor(
  policy: Partial<Pick<Policy, "rolePermissionsBoundary">>,
  accountId: string,
): string | undefined {
  return policy.rolePermissionsBoundary?.replace("{accountId}", accountId);
}

const LogGroupTemplateSchema = z
  .string()
  .min(1)
  .superRefine((template, context) => {
    for (const message of logGroupTemplateProblems(template)) context.addIssue({ code: "custom", message });
  });

/** Where new flow logs deliver (`LogDestinationType`): CloudWatch Logs (default) or straight to S3. */
export const DESTINATION_TYPES = ["cloud-watch-logs", "s3"] as const;
export type DestinationType = (typeof DESTINATION_TYPES)[number];

/** What a new flow log is attached to (`ResourceType`): each VPC (default) or each subnet. */
export const RESOURCE_TYPES = ["VPC", "Subnet"] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];

/** `DestinationOptions.FileFormat` of an S3 flow log. */
export const FILE_FORMATS = ["plain-text", "parquet"] as const;

/**
 * `arn:<partition>:s3:::BUCKET[/PREFIX]`: bucket names follow S3's rules (3-63 characters, lowercase
 * letters, digits, dots and hyphens, starting and ending with a letter or digit); the prefix is one or
 * more folders, and AWS refuses `AWSLogs` as a folder name (it writes that folder itself).
 */
const LogDestinationSchema = z.string().superRefine((arn, context) => {
  const destination = parseS3Destination(arn);
  if (!destination) {
    context.addIssue({
      code: "custom",
      message:
        "an S3 bucket ARN with an optional prefix: arn:aws:s3:::BUCKET or arn:aws:s3:::BUCKET/PREFIX (not s3://, not a bucket name alone)",
    });
    return;
  }
  if (!isBucketName(destination.bucket)) {
    context.addIssue({
      code: "custom",
      message: `${JSON.stringify(destination.bucket)} is not an S3 bucket name: 3-63 characters, a-z 0-9 . -, starting and ending with a letter or digit`,
    });
  }
  const { prefix } = destination;
  if (prefix && (!/^[A-Za-z0-9!_.*'()/=-]+$/.test(prefix) || /^\/|\/\//.test(prefix))) {
    context.addIssue({
      code: "custom",
      message:
        "the prefix after the bucket takes folders of A-Z a-z 0-9 ! _ . * ' ( ) = - separated by single /",
    });
  } else if (prefix.split("/").includes("AWSLogs")) {
    context.addIssue({
      code: "custom",
      message:
        "AWS refuses 'AWSLogs' as a folder in the prefix (it adds AWSLogs/ itself); choose another name",
    });
  }
});

const KmsKeySettingSchema = z
  .union([z.string(), z.array(z.string()), z.record(z.string(), z.string())])
  .transform((value, context) => {
    const setting = normaliseKmsKeySetting(value);
    for (const message of kmsKeySettingProblems(setting))
      context.issues.push({ code: "custom", message, input: value });
    if (setting === "") {
      context.issues.push({
        code: "custom",
        message: "is empty: give a KMS key ARN, or leave it out",
        input: value,
      });
    }
    return setting;
  });

/** Settings that mean something only for an S3 destination, with their defaults. */
const S3_ONLY_DEFAULTS = {
  fileFormat: "plain-text",
  hiveCompatiblePartitions: false,
  perHourPartition: false,
} as const;

/**
 * The remediation policy: what "compliant" means and what gets created. One schema for the Lambda's
 * environment, CLI flags and the stacks' config. Unknown keys are errors.
 */
export const PolicySchema = z
  .strictObject({
    trafficType: z.enum(["REJECT", "ALL"]).default("REJECT"),
    retentionDays: z
      .number()
      .int()
      .refine((days) => (ACCEPTED_RETENTION_DAYS as readonly number[]).includes(days), {
        message: `must be a value CloudWatch Logs accepts: ${ACCEPTED_RETENTION_DAYS.filter((d) => d >= MINIMUM_RETENTION_DAYS).join(", ")}`,
      })
      .refine((days) => days >= MINIMUM_RETENTION_DAYS, {
        message: `must be at least ${MINIMUM_RETENTION_DAYS} days (CIS AWS Foundations asks for a year of flow logs)`,
      })
      .default(365),
    logGroupName: LogGroupTemplateSchema.default("/aws/vpc-flow-logs/{vpcId}"),
    roleName: z
      .string()
      .regex(/^[\w+=,.@-]{1,64}$/, "an IAM role name has 1-64 characters from A-Z a-z 0-9 + = , . @ _ -")
      .default("flowlog-guard-delivery"),
    /**
     * The permissions boundary the delivery role must carry (an IAM managed policy ARN), for
     * organizations whose SCP refuses a role without it. Set: CreateRole passes it and a role with no
     * boundary or another one gets it back (PutRolePermissionsBoundary). Absent: the role has none.
     */
    rolePermissionsBoundary: z
      .string()
      .regex(
        IAM_POLICY_ARN_PATTERN,
        "an IAM managed policy ARN such as arn:aws:iam::111122223333:policy/OrgBoundary, or arn:aws:iam::{accountId}:policy/OrgBoundary for each account's own (the policy your SCP requires on new roles; not a role ARN, not a policy name alone)",
      )
      .optional(),
    includeDefaultVpcs: z.boolean().default(true),
    maxAggregationInterval: z.union([z.literal(60), z.literal(600)]).default(600),
    logFormat: z
      .string()
      .regex(
        /^\$\{[a-z0-9-]+\}( \$\{[a-z0-9-]+\})*$/,
        "space-separated ${field} tokens such as ${srcaddr} ${dstaddr}, no leading or trailing space",
      )
      .refine((format) => unknownFlowLogFields(format).length === 0, {
        error: (issue) =>
          `unknown flow log field(s) ${unknownFlowLogFields(String(issue.input))
            .map((field) => `\${${field}}`)
            .join(
              ", ",
            )}; AWS's fields are listed at https://docs.aws.amazon.com/vpc/latest/userguide/flow-log-records.html`,
      })
      .optional(),
    /**
     * KMS keys for new log groups, per region: `ARN` (serves its own region; a multi-Region `mrk-` key
     * also every other region, by its replica), `REGION=ARN`, comma-separated; a list or a
     * `{ region: arn }` object in stack config. Normalised to the comma-separated form.
     */
    kmsKeyArn: KmsKeySettingSchema.optional(),
    maxExceptionDays: z.number().int().min(1).max(3653).default(365),
    ledgerBus: z
      .string()
      .regex(
        /^(arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus\/)?[/.\-_A-Za-z0-9]{1,256}$/,
        "an EventBridge bus name or ARN",
      )
      .optional(),
    destinationType: z.enum(DESTINATION_TYPES).default("cloud-watch-logs"),
    logDestination: LogDestinationSchema.optional(),
    fileFormat: z.enum(FILE_FORMATS).default("plain-text"),
    hiveCompatiblePartitions: z.boolean().default(false),
    perHourPartition: z.boolean().default(false),
    resourceType: z.enum(RESOURCE_TYPES).default("VPC"),
    /**
     * Seconds a CreateVpc event waits before its VPC is checked, so that infrastructure as code that
     * adds its own flow log seconds later is left alone (0: at once). SQS delays at most 900 s.
     */
    createVpcGraceSeconds: z.number().int().min(0).max(MAX_CREATE_VPC_GRACE_SECONDS).default(60),
  })
  .superRefine(checkDestinationCombination);

/** Refuses settings that contradict the destination type, each with what to change. */
function checkDestinationCombination(
  policy: {
    destinationType: DestinationType;
    logDestination?: string | undefined;
    kmsKeyArn?: string | undefined;
    rolePermissionsBoundary?: string | undefined;
    fileFormat: string;
    hiveCompatiblePartitions: boolean;
    perHourPartition: boolean;
  },
  context: z.RefinementCtx,
): void {
  const problem = (field: string, message: string) =>
    context.addIssue({ code: "custom", path: [field], message });
  if (policy.destinationType === "s3") {
    if (policy.logDestination === undefined) {
      problem(
        "logDestination",
        "required with destinationType s3: the bucket ARN, e.g. arn:aws:s3:::my-flow-logs or arn:aws:s3:::log-archive/vpc",
      );
    }
    if (policy.kmsKeyArn !== undefined) {
      problem(
        "kmsKeyArn",
        "encrypts log groups, which an s3 destination does not use; set the bucket's default encryption instead (see docs/destinations.md)",
      );
    }
    if (policy.rolePermissionsBoundary !== undefined) {
      problem(
        "rolePermissionsBoundary",
        "is for the delivery role, which an s3 destination does not use (no role is created); remove it",
      );
    }
    return;
  }
  if (policy.logDestination !== undefined) {
    problem(
      "logDestination",
      "is only used with destinationType s3; add destinationType s3 (FLOWLOG_GUARD_DESTINATION_TYPE=s3), or remove it (CloudWatch Logs uses logGroupName)",
    );
  }
  for (const [field, byDefault] of Object.entries(S3_ONLY_DEFAULTS)) {
    if (policy[field as keyof typeof S3_ONLY_DEFAULTS] !== byDefault) {
      problem(field, "is only valid with destinationType s3 (CloudWatch Logs stores records, not files)");
    }
  }
}

export type Policy = z.infer<typeof PolicySchema>;
export type PolicyInput = z.input<typeof PolicySchema>;

/** Environment variable for each policy field: `FLOWLOG_GUARD_` + the field in SCREAMING_SNAKE_CASE. */
export const POLICY_ENV_VARS: Record<keyof Policy, string> = {
  trafficType: "FLOWLOG_GUARD_TRAFFIC_TYPE",
  retentionDays: "FLOWLOG_GUARD_RETENTION_DAYS",
  logGroupName: "FLOWLOG_GUARD_LOG_GROUP_NAME",
  roleName: "FLOWLOG_GUARD_ROLE_NAME",
  rolePermissionsBoundary: "FLOWLOG_GUARD_ROLE_PERMISSIONS_BOUNDARY",
  includeDefaultVpcs: "FLOWLOG_GUARD_INCLUDE_DEFAULT_VPCS",
  maxAggregationInterval: "FLOWLOG_GUARD_MAX_AGGREGATION_INTERVAL",
  logFormat: "FLOWLOG_GUARD_LOG_FORMAT",
  kmsKeyArn: "FLOWLOG_GUARD_KMS_KEY_ARN",
  maxExceptionDays: "FLOWLOG_GUARD_MAX_EXCEPTION_DAYS",
  createVpcGraceSeconds: "FLOWLOG_GUARD_CREATE_VPC_GRACE_SECONDS",
  ledgerBus: "FLOWLOG_GUARD_LEDGER_BUS",
  destinationType: "FLOWLOG_GUARD_DESTINATION_TYPE",
  logDestination: "FLOWLOG_GUARD_LOG_DESTINATION",
  fileFormat: "FLOWLOG_GUARD_FILE_FORMAT",
  hiveCompatiblePartitions: "FLOWLOG_GUARD_HIVE_COMPATIBLE_PARTITIONS",
  perHourPartition: "FLOWLOG_GUARD_PER_HOUR_PARTITION",
  resourceType: "FLOWLOG_GUARD_RESOURCE_TYPE",
};

/** Other `FLOWLOG_GUARD_*` variables that are not policy but are known (so they are not "unknown keys"). */
export const OTHER_ENV_VARS = [
  "FLOWLOG_GUARD_REGIONS",
  "FLOWLOG_GUARD_API_RATE",
  "FLOWLOG_GUARD_CONCURRENCY",
  "FLOWLOG_GUARD_DEADLINE",
  "FLOWLOG_GUARD_PYTHON",
  "FLOWLOG_GUARD_HOME_REGION",
  // Organization mode (docs/organizations.md).
  "FLOWLOG_GUARD_ORGANIZATION_ID",
  "FLOWLOG_GUARD_ACCOUNTS",
  "FLOWLOG_GUARD_OU",
  "FLOWLOG_GUARD_EXCLUDE_ACCOUNTS",
  "FLOWLOG_GUARD_MEMBER_ROLE_NAME",
] as const;

const numericFields = new Set<keyof Policy>([
  "retentionDays",
  "maxAggregationInterval",
  "maxExceptionDays",
  "createVpcGraceSeconds",
]);
const booleanFields = new Set<keyof Policy>([
  "includeDefaultVpcs",
  "hiveCompatiblePartitions",
  "perHourPartition",
]);

/** Turns a string (env var or CLI flag) into the type its policy field takes; leaves bad values for zod to report. */
export function coercePolicyValue(field: keyof Policy, raw: string): unknown {
  if (numericFields.has(field)) return /^-?\d+$/.test(raw.trim()) ? Number(raw.trim()) : raw;
  if (booleanFields.has(field)) {
    const value = raw.trim().toLowerCase();
    if (value === "true") return true;
    if (value === "false") return false;
    return raw;
  }
  return raw;
}

/**
 * Validates a policy object and fills defaults. Throws a ConfigError listing every problem.
 *
 * @param source how the values were given, for the message ("environment", "flags", ...)
 */
export function parsePolicy(input: unknown, source = "configuration"): Policy {
  const result = PolicySchema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const field = issue.path.join(".");
    const env = POLICY_ENV_VARS[field as keyof Policy];
    const where = field ? `${field}${env ? ` (${env})` : ""}` : "(root)";
    return `${where}: ${issue.message}`;
  });
  throw new ConfigError(
    `Invalid flowlog-guard ${source}:\n${problems.map((p) => `  - ${p}`).join("\n")}\n` +
      "Fix the values above; docs/configuration.md lists every setting with its default.",
    problems,
  );
}

/**
 * Reads the policy from `FLOWLOG_GUARD_*` environment variables (the Lambda's configuration).
 * Unknown `FLOWLOG_GUARD_*` variables are errors, so that a typo cannot silently fall back to a default.
 *
 * @example loadConfig({ FLOWLOG_GUARD_TRAFFIC_TYPE: "ALL" }).retentionDays // 365
 */
export function loadConfig(env: Record<string, string | undefined>): Policy {
  return parsePolicy(policyInputFromEnv(env), "environment");
}

/** The policy fields set in the environment, as typed values (defaults not applied). */
export function policyInputFromEnv(env: Record<string, string | undefined>): Record<string, unknown> {
  const byEnvName = new Map(
    Object.entries(POLICY_ENV_VARS).map(([field, name]) => [name, field as keyof Policy]),
  );
  const input: Record<string, unknown> = {};
  const unknown: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith("FLOWLOG_GUARD_") || value === undefined) continue;
    const field = byEnvName.get(name);
    if (field) {
      if (value !== "") input[field] = coercePolicyValue(field, value);
    } else if (!(OTHER_ENV_VARS as readonly string[]).includes(name)) {
      unknown.push(name);
    }
  }
  if (unknown.length > 0) {
    const knownNames = [...Object.values(POLICY_ENV_VARS), ...OTHER_ENV_VARS];
    const named = unknown.map((name) => {
      const guess = closestName(name, knownNames);
      return guess ? `${name} (did you mean ${guess}?)` : name;
    });
    throw new ConfigError(
      `Unknown environment variable${unknown.length > 1 ? "s" : ""} ${named.join(", ")}. Known: ${knownNames.join(", ")}.`,
      named.map((name) => `Unknown environment variable ${name}`),
    );
  }
  return input;
}

/** The known name a typo most likely meant (edit distance <= 3), if any. */
export function closestName(name: string, known: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(name, candidate);
    if (distance <= 3 && (!best || distance < best.distance)) best = { name: candidate, distance };
  }
  return best?.name;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * The `FLOWLOG_GUARD_*` environment for a policy: what the stacks give the functions, which
 * `loadConfig` reads back at cold start. Unset optional fields are left out.
 */
export function policyToEnvironment(policy: Policy): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [field, name] of Object.entries(POLICY_ENV_VARS) as [keyof Policy, string][]) {
    const value = policy[field];
    if (value !== undefined) env[name] = String(value);
  }
  return env;
}
