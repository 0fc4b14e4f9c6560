/**
 * The deployed guard: functions, schedule, ledger bus, rules and forwarders. Thin on purpose: patterns,
 * policies and defaults come from @flowlog-guard/core; the wiring lives in wiring.ts (unit-tested).
 */
import {
  buildEventPatterns,
  CENTRAL_ROLE_PATH,
  centralOrganizationStatements,
  parsePolicy,
  policyToEnvironment,
  SCHEDULED_FIX_ALL_EVENT,
  servicePolicyDocument,
  splitDelayedEvents,
} from "@flowlog-guard/core/data";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { LAMBDA_RUNTIME_PROVIDES, NODE22_BUNDLE } from "../scripts/build/esbuild-options.ts";
import { createAlerts } from "./alerts.ts";
import type { GuardConfig } from "./config.ts";
import { kmsKeyDeployProblems, organizationConfigProblems } from "./config.ts";
import { fixAllSettings, remediateSettings } from "./function-settings.ts";
import {
  createCentralBusPolicy,
  createMemberStackSet,
  createSweep,
  managementAccountCoverage,
  organizationEnvironment,
} from "./organization.ts";
import { permissionsFromDocument } from "./permissions.ts";
import {
  createChangeRecordArchive,
  createDelayQueue,
  createForwarders,
  createHomeDeadLetterQueue,
  createHomeRules,
  routeDelayedEvents,
} from "./wiring.ts";

export function deployGuard(config: GuardConfig) {
  // Validated here as the functions will validate it at cold start: a bad value fails the deploy.
  const policy = parsePolicy(config.policy);
  const organization = config.organization;
  const problems = organization ? organizationConfigProblems(organization) : [];
  if (problems.length > 0) throw new Error(`stacks/config.ts organization:\n- ${problems.join("\n- ")}`);
  const keyProblems = kmsKeyDeployProblems(config, policy);
  if (keyProblems.length > 0) throw new Error(`stacks/config.ts:\n- ${keyProblems.join("\n- ")}`);
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
    ...(organization ? organizationEnvironment(organization) : {}),
  }));
  const permissions = pulumi
    .all([account, partition, ledger.arn])
    .apply(([accountId, awsPartition, ledgerArn]) => {
      const document = servicePolicyDocument({
        partition: awsPartition,
        accountId,
        policy: { ...policy, ledgerBus: ledgerArn },
      });
      if (organization)
        document.Statement.push(...centralOrganizationStatements(awsPartition, organization.memberRoleName));
      return permissionsFromDocument(document);
    });
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
  // Member roles trust exactly the roles under this path in this account.
  const centralRole = (args: aws.iam.RoleArgs): undefined => {
    if (organization) args.path = CENTRAL_ROLE_PATH;
  };

  // Both functions send what failed after Lambda's retries to the dead-letter queue.
  const withDlq = pulumi
    .all([permissions, dlq.arn])
    .apply(([granted, dlqArn]) => [...granted, { actions: ["sqs:SendMessage"], resources: [dlqArn] }]);
  // CreateVpc waits out the grace period in a delay queue that feeds Remediate (none when it is 0).
  const { immediate, delayed } = splitDelayedEvents(patterns, policy.createVpcGraceSeconds);
  const delayQueue =
    delayed &&
    createDelayQueue({
      name: "CreateVpcDelay",
      graceSeconds: policy.createVpcGraceSeconds,
      deadLetterQueueArn: dlq.arn,
    });
  const remediateFunction = remediateSettings(dlq.arn);
  const remediate = new sst.aws.Function("Remediate", {
    ...common,
    ...remediateFunction,
    transform: { ...remediateFunction.transform, role: centralRole },
    permissions: delayQueue
      ? pulumi.all([withDlq, delayQueue.arn]).apply(([granted, queueArn]) => [
          ...granted,
          {
            actions: [
              "sqs:ReceiveMessage",
              "sqs:DeleteMessage",
              "sqs:GetQueueAttributes",
              "sqs:ChangeMessageVisibility",
            ],
            resources: [queueArn],
          },
        ])
      : withDlq,
  });
  const delayedRoute =
    delayed &&
    delayQueue &&
    routeDelayedEvents({
      name: "RemediateDelayed",
      pattern: delayed,
      queue: delayQueue,
      functionName: remediate.name,
      deadLetterQueueArn: dlq.arn,
    });

  const fixAllFunction = fixAllSettings(dlq.arn);
  const fixAll = new sst.aws.Function("FixAll", {
    ...common,
    ...fixAllFunction,
    transform: { ...fixAllFunction.transform, role: centralRole },
    permissions: withDlq,
  });
  const homeBusArn = $interpolate`arn:${partition}:events:${config.homeRegion}:${account}:event-bus/default`;
  const org =
    organization &&
    deployOrganization({ config, organization, policy, account, partition, homeBusArn, common, permissions });
  // In organization mode the sweep state machine covers every account, this one included.
  if (!org)
    new sst.aws.CronV2("FixAllDaily", {
      function: fixAll,
      schedule: config.schedule,
      // Scheduler sends this verbatim: the run (and its change records) say `schedule`, not `fix-all`.
      event: SCHEDULED_FIX_ALL_EVENT,
      retries: 2,
      dlq: dlq.arn,
    });

  const alerts = createAlerts({
    name: "Alerts",
    ...(config.alertEmail ? { email: config.alertEmail } : {}),
    deadLetterQueues: { RemediationDlq: dlq },
  });

  createHomeRules({
    name: "Remediate",
    patterns: immediate,
    functionArn: remediate.arn,
    functionName: remediate.name,
    deadLetterQueue: { arn: dlq.arn, url: dlq.url },
    otherRuleArns: delayedRoute ? [delayedRoute.rule.arn] : [],
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
    alertTopic: alerts.topic.arn,
    ...(org ? { sweepStateMachine: org.machine.arn, managementAccount: org.management } : {}),
  };
}

/** Organization mode: member StackSet, central bus policy, the sweep's functions and state machine. */
function deployOrganization(args: {
  config: GuardConfig;
  organization: NonNullable<GuardConfig["organization"]>;
  policy: ReturnType<typeof parsePolicy>;
  account: pulumi.Output<string>;
  partition: pulumi.Output<string>;
  homeBusArn: pulumi.Output<string>;
  common: Record<string, unknown>;
  permissions: pulumi.Output<ReturnType<typeof permissionsFromDocument>>;
}) {
  const { config, organization } = args;
  createMemberStackSet({
    config: organization,
    policy: args.policy,
    homeRegion: config.homeRegion,
    watchedRegions: config.watchedRegions,
    centralAccountId: args.account,
    centralBusArn: args.homeBusArn,
  });
  createCentralBusPolicy({ busArn: args.homeBusArn, organizationId: organization.organizationId });
  const sweepFunction = (name: string, handler: string, timeout: "5 minutes" | "15 minutes") =>
    new sst.aws.Function(name, {
      ...(args.common as object),
      handler,
      timeout,
      permissions: args.permissions,
      transform: {
        role: (role: aws.iam.RoleArgs): undefined => {
          role.path = CENTRAL_ROLE_PATH;
        },
      },
    });
  const listAccounts = sweepFunction(
    "SweepListAccounts",
    "packages/functions/src/sweep.listAccounts",
    "5 minutes",
  );
  const worker = sweepFunction("SweepWorker", "packages/functions/src/sweep.worker", "15 minutes");
  const sweep = createSweep({
    config: organization,
    partition: args.partition,
    region: config.homeRegion,
    accountId: args.account,
    listAccountsArn: listAccounts.arn,
    workerArn: worker.arn,
    schedule: config.schedule,
    retain: config.retainOnRemove,
  });
  return { machine: sweep.machine, management: managementAccountCoverage(organization) };
}
