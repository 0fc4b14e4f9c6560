/**
 * The deployed guard: functions, schedule, ledger bus, rules and forwarders. Thin on purpose: patterns,
 * policies and defaults come from @flowlog-guard/core; the wiring lives in wiring.ts (unit-tested).
 */
import {
  buildEventPatterns,
  parsePolicy,
  policyToEnvironment,
  SCHEDULED_FIX_ALL_EVENT,
  servicePolicyDocument,
} from "@flowlog-guard/core/data";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { LAMBDA_RUNTIME_PROVIDES, NODE22_BUNDLE } from "../scripts/build/esbuild-options.ts";
import type { GuardConfig } from "./config.ts";
import { fixAllSettings, remediateSettings } from "./function-settings.ts";
import { permissionsFromDocument } from "./permissions.ts";
import {
  createChangeRecordArchive,
  createForwarders,
  createHomeDeadLetterQueue,
  createHomeRules,
} from "./wiring.ts";

export function deployGuard(config: GuardConfig) {
  // Validated here as the functions will validate it at cold start: a bad value fails the deploy.
  const policy = parsePolicy(config.policy);
  const patterns = buildEventPatterns(policy);
  const account = aws.getCallerIdentityOutput({}).accountId;
  const partition = aws.getPartitionOutput({}).partition;
  const retain = config.retainOnRemove;

  const ledger = new sst.aws.Bus("ChangeRecords", {}, { retainOnDelete: retain });
  createChangeRecordArchive({ name: "ChangeRecordsArchive", busArn: ledger.arn, retain });
  const dlq = createHomeDeadLetterQueue("RemediationDlq", retain);

  const environment = ledger.arn.apply((ledgerArn) => ({
    ...policyToEnvironment({ ...policy, ledgerBus: ledgerArn }),
    FLOWLOG_GUARD_REGIONS: [...new Set([...config.watchedRegions, config.homeRegion])].join(","),
    POWERTOOLS_SERVICE_NAME: "flowlog-guard",
  }));
  const permissions = pulumi
    .all([account, partition, ledger.arn])
    .apply(([accountId, awsPartition, ledgerArn]) =>
      permissionsFromDocument(
        servicePolicyDocument({
          partition: awsPartition,
          accountId,
          policy: { ...policy, ledgerBus: ledgerArn },
        }),
      ),
    );
  const common = {
    runtime: "nodejs22.x",
    architecture: "arm64",
    memory: "512 MB",
    logging: { retention: "1 year", format: "json" },
    // The engine and the AWS SDK load on the first invocation (splitting), and the SDK comes from the
    // nodejs22.x runtime: see docs/adr/0004-function-bundles.md and `npm run bench:bundles`. SST bundles
    // with the settings `npm run build` uses for dist/functions (scripts/build/esbuild-options.ts).
    nodejs: {
      format: NODE22_BUNDLE.format,
      minify: NODE22_BUNDLE.minify,
      splitting: NODE22_BUNDLE.splitting,
      esbuild: { external: [...LAMBDA_RUNTIME_PROVIDES] as string[] },
    },
    environment,
    dev: false,
  } as const;

  // Both functions send what failed after Lambda's retries to the dead-letter queue.
  const withDlq = pulumi
    .all([permissions, dlq.arn])
    .apply(([granted, dlqArn]) => [...granted, { actions: ["sqs:SendMessage"], resources: [dlqArn] }]);
  const remediate = new sst.aws.Function("Remediate", {
    ...common,
    ...remediateSettings(dlq.arn),
    permissions: withDlq,
  });

  const fixAll = new sst.aws.Function("FixAll", {
    ...common,
    ...fixAllSettings(dlq.arn),
    permissions: withDlq,
  });
  new sst.aws.CronV2("FixAllDaily", {
    function: fixAll,
    schedule: config.schedule,
    // Scheduler sends this verbatim: the run (and its change records) say `schedule`, not `fix-all`.
    event: SCHEDULED_FIX_ALL_EVENT,
    retries: 2,
    dlq: dlq.arn,
  });

  const homeBusArn = $interpolate`arn:${partition}:events:${config.homeRegion}:${account}:event-bus/default`;
  createHomeRules({
    name: "Remediate",
    patterns,
    functionArn: remediate.arn,
    functionName: remediate.name,
    deadLetterQueue: { arn: dlq.arn, url: dlq.url },
  });
  createForwarders({
    name: "CloudTrail",
    watchedRegions: config.watchedRegions,
    homeRegion: config.homeRegion,
    homeBusArn,
    accountId: account,
    patterns,
    retain,
  });

  return {
    remediate: remediate.name,
    fixAll: fixAll.name,
    ledgerBus: ledger.name,
    deadLetterQueue: dlq.url,
  };
}
