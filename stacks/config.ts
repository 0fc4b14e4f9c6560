import {
  IAM_EVENTS_REGION,
  kmsKeyCoverageProblems,
  type Policy,
  type PolicyInput,
} from "@flowlog-guard/core/data";

/** Everything a platform team sets for one deployment. Edit this file, then `npx sst deploy --stage prod`. */
export interface GuardConfig {
  /** Region of the functions, the ledger bus and the rules that invoke remediation. */
  homeRegion: string;
  /**
   * Regions whose CloudTrail events are watched, and which fix-all sweeps. Default: the regions every
   * account has enabled; add opt-in regions your account has enabled. us-east-1 is always watched
   * (IAM events arrive only there).
   */
  watchedRegions: string[];
  /** The remediation policy: same fields and defaults as the CLI and FLOWLOG_GUARD_* (docs/configuration.md). */
  policy: Omit<PolicyInput, "ledgerBus">;
  /** When the daily fix-all sweep runs (EventBridge Scheduler expression, UTC). */
  schedule: `cron(${string})` | `rate(${string})`;
  /** Keep the ledger bus, its archive and the dead-letter queues when the stage is removed. */
  retainOnRemove: boolean;
  /**
   * Who gets the alarms (remediation failures, undelivered records, refused events, any message in the
   * dead-letter queue) by e-mail; AWS mails a confirmation link first. Absent: subscribe to the topic yourself.
   */
  alertEmail?: string;
  /** Organization mode: every account of an AWS Organization from this one deployment (docs/organizations.md). */
  organization?: OrganizationDeployConfig;
}

/**
 * Organization mode. Deploy the stage in the management account, or in a member account registered
 * as a delegated administrator for CloudFormation StackSets (and given Organizations read access).
 */
export interface OrganizationDeployConfig {
  /** The organization (o-...): the member role's trust and the central bus policy admit only it. */
  organizationId: string;
  /** Where this stage is deployed: StackSets are created as SELF or as DELEGATED_ADMIN accordingly. */
  deployedFrom: "management-account" | "delegated-admin";
  /** The management account's id: StackSets never deploy there, so it is handled explicitly (below). */
  managementAccountId: string;
  /**
   * StackSets skip the management account. `central`: this stage runs in the management account and
   * covers it with its own role (deployedFrom must be management-account). `manual-stack`: you deploy
   * `flowlog-guard member-template` there yourself (docs/organizations.md). `exclude`: never covered,
   * reported as skipped in every sweep.
   */
  managementAccount: "central" | "manual-stack" | "exclude";
  /** OUs (ou-...) or the root (r-...) whose accounts get the member role; accounts added later too. */
  organizationalUnits: string[];
  /** Accounts never touched (and left out of the StackSet's existing accounts). */
  excludedAccounts: string[];
  /** Default flowlog-guard-member. */
  memberRoleName: string;
  /** Roles (in the organization) that may also assume the member role, to run the CLI across accounts. */
  operatorRoleArns: string[];
  /** The Distributed Map sweep: child workflows at once, accounts per worker, failed batches tolerated. */
  sweep: { maxConcurrency: number; accountsPerBatch: number; toleratedFailurePercentage: number };
}

/** Every problem in an organization config, with the fix; empty when it is deployable. */
export function organizationConfigProblems(config: OrganizationDeployConfig): string[] {
  const problems: string[] = [];
  if (!/^o-[a-z0-9]{10,32}$/.test(config.organizationId))
    problems.push(
      `organizationId "${config.organizationId}" is not an organization id (o-...): aws organizations describe-organization`,
    );
  if (!/^\d{12}$/.test(config.managementAccountId))
    problems.push(`managementAccountId "${config.managementAccountId}" is not a 12-digit account id`);
  if (config.organizationalUnits.length === 0)
    problems.push(
      "organizationalUnits is empty: give OU ids (ou-...) or the root (r-...) to deploy the member role to",
    );
  for (const ou of config.organizationalUnits)
    if (!/^(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|r-[0-9a-z]{4,32})$/.test(ou))
      problems.push(`"${ou}" is not an OU id (ou-...) or root id (r-...)`);
  for (const account of config.excludedAccounts)
    if (!/^\d{12}$/.test(account))
      problems.push(`excludedAccounts: "${account}" is not a 12-digit account id`);
  if (config.managementAccount === "central" && config.deployedFrom !== "management-account")
    problems.push(
      'managementAccount "central" needs deployedFrom "management-account": from a delegated administrator, ' +
        'use "manual-stack" (deploy flowlog-guard member-template in the management account) or "exclude"',
    );
  const { maxConcurrency, accountsPerBatch, toleratedFailurePercentage } = config.sweep;
  if (!(maxConcurrency >= 1 && maxConcurrency <= 10_000))
    problems.push("sweep.maxConcurrency must be 1..10000");
  if (!(accountsPerBatch >= 1 && accountsPerBatch <= 100))
    problems.push("sweep.accountsPerBatch must be 1..100");
  if (!(toleratedFailurePercentage >= 0 && toleratedFailurePercentage <= 100))
    problems.push("sweep.toleratedFailurePercentage must be 0..100");
  return problems;
}

/**
 * The regions a deployment acts in: the watched ones, the home region, and us-east-1 (IAM events).
 * With KMS keys configured, each needs a key (problems name the regions missing one and the fix).
 */
export function kmsKeyDeployProblems(
  config: Pick<GuardConfig, "watchedRegions" | "homeRegion">,
  policy: Pick<Policy, "kmsKeyArn">,
): string[] {
  const regions = [...new Set([...config.watchedRegions, config.homeRegion, IAM_EVENTS_REGION])].sort();
  return kmsKeyCoverageProblems(policy.kmsKeyArn, regions).map((problem) => `policy.${problem}`);
}

/** Regions enabled by default in every AWS account (opt-in regions are not listed). */
export const DEFAULT_ENABLED_REGIONS = [
  "ap-northeast-1",
  "ap-northeast-2",
  "ap-northeast-3",
  "ap-south-1",
  "ap-southeast-1",
  "ap-southeast-2",
  "ca-central-1",
  "eu-central-1",
  "eu-north-1",
  "eu-west-1",
  "eu-west-2",
  "eu-west-3",
  "sa-east-1",
  "us-east-1",
  "us-east-2",
  "us-west-1",
  "us-west-2",
];

export function guardConfig(
  stage: string,
  env: Record<string, string | undefined> = process.env,
): GuardConfig {
  return {
    homeRegion: env.FLOWLOG_GUARD_HOME_REGION ?? "us-east-1",
    watchedRegions: DEFAULT_ENABLED_REGIONS,
    policy: {
      trafficType: "REJECT",
      retentionDays: 365,
      logGroupName: "/aws/vpc-flow-logs/{vpcId}",
      includeDefaultVpcs: true,
      // KMS keys for the log groups, one per watched region (CloudWatch Logs only uses a key of its own
      // region), or one multi-Region key (mrk-...) with a replica in each; docs/configuration.md.
      // kmsKeyArn: { "us-east-1": "arn:aws:kms:us-east-1:111122223333:key/...", "eu-west-1": "arn:aws:kms:eu-west-1:..." },
      // kmsKeyArn: "arn:aws:kms:us-east-1:111122223333:key/mrk-...",
      // An SCP that requires a permissions boundary on every role: the delivery role (and, in organization
      // mode, the member role) carries this one; {accountId} is each account's own (docs/what-gets-created.md).
      // rolePermissionsBoundary: "arn:aws:iam::{accountId}:policy/OrgBoundary",
      // Flow logs straight to a (central) S3 bucket instead: no delivery role, no log groups.
      // The bucket needs the policy `npx flowlog-guard bucket-policy --bucket NAME` prints (docs/destinations.md).
      // destinationType: "s3",
      // logDestination: "arn:aws:s3:::org-log-archive/vpc-flow-logs",
      // fileFormat: "parquet",
      // hiveCompatiblePartitions: true,
      // perHourPartition: false,
      // resourceType: "VPC", // or "Subnet": one flow log per subnet not covered by a VPC flow log
    },
    schedule: "cron(0 3 * * ? *)",
    retainOnRemove: stage === "prod" || stage === "production",
    // alertEmail: "platform-oncall@example.com",
    // Organization mode (docs/organizations.md): uncomment and fill in.
    // organization: {
    //   organizationId: "o-abc123def4",
    //   deployedFrom: "management-account",
    //   managementAccountId: "111122223333",
    //   managementAccount: "central",
    //   organizationalUnits: ["r-ab12"],
    //   excludedAccounts: [],
    //   memberRoleName: "flowlog-guard-member",
    //   operatorRoleArns: [],
    //   sweep: { maxConcurrency: 40, accountsPerBatch: 10, toleratedFailurePercentage: 5 },
    // },
  };
}
