import type { PolicyInput } from "@flowlog-guard/core/data";

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
      // kmsKeyArn: "arn:aws:kms:us-east-1:111122223333:key/...",
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
  };
}
