import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { AccountIdentity, ClientPool, EventOrganization, ResolvedAccounts } from "@flowlog-guard/core";
import {
  loadConfig,
  loadOrganizationConfig,
  METRIC,
  METRICS_NAMESPACE,
  METRICS_SERVICE,
  type OrganizationConfig,
  type Policy,
  PRODUCT_NAME,
  type RunMetrics,
} from "@flowlog-guard/core/data";

/** Organization mode of a container: the event-side check and pools, plus account resolution for sweeps. */
export type RuntimeOrganization = EventOrganization & {
  config: OrganizationConfig;
  /** The ACTIVE accounts in scope (OUs), exclusions applied: what a sweep covers. */
  resolveAccounts(): Promise<ResolvedAccounts>;
};

/** What a Lambda container builds once and reuses across invocations. */
export interface Runtime {
  policy: Policy;
  pool: ClientPool;
  logger: Logger;
  /** CloudWatch metrics in Embedded Metric Format, flushed by the entry's `logMetrics` middleware. */
  metrics: Metrics;
  /** Who the function runs as; read once through STS. */
  identity(region: string): Promise<AccountIdentity>;
  /** Organization mode (FLOWLOG_GUARD_ORGANIZATION_ID): member accounts through their member role. */
  organization?: RuntimeOrganization;
}

export function createLogger(): Logger {
  return new Logger({ serviceName: PRODUCT_NAME });
}

export function createMetrics(): Metrics {
  return new Metrics({ namespace: METRICS_NAMESPACE, serviceName: METRICS_SERVICE });
}

/** Adds one run's counts to the invocation's metrics (zeros too: an alarm then sees data, not gaps). */
export function recordRunMetrics(metrics: Metrics, counts: RunMetrics): void {
  metrics.addMetric(METRIC.remediations, MetricUnit.Count, counts.remediations);
  metrics.addMetric(METRIC.failures, MetricUnit.Count, counts.failures);
  metrics.addMetric(METRIC.refusedEvents, MetricUnit.Count, counts.refusedEvents);
  metrics.addMetric(METRIC.undeliveredRecords, MetricUnit.Count, counts.undeliveredRecords);
}

/**
 * Builds the container's runtime: the policy from `FLOWLOG_GUARD_*` (a bad value fails with every
 * problem listed), one client pool, and a JSON logger. Loads the engine and the AWS SDK.
 */
export async function createRuntime(
  env: Record<string, string | undefined> = process.env,
  logger: Logger = createLogger(),
  metrics: Metrics = createMetrics(),
): Promise<Runtime> {
  const policy = loadConfig(env);
  const organizationConfig = loadOrganizationConfig(env);
  const core = await import("@flowlog-guard/core");
  const pool = core.createClientPool();
  let identity: Promise<AccountIdentity> | undefined;
  const region = env.AWS_REGION ?? "us-east-1";
  const organizations = organizationConfig && core.createOrganizationsClient(region);
  const organization: RuntimeOrganization | undefined = organizationConfig && {
    config: organizationConfig,
    resolveAccounts: () =>
      core.resolveAccounts(organizations!, {
        ...(organizationConfig.ous.length > 0 ? { ous: organizationConfig.ous } : { accounts: "all" }),
        exclude: organizationConfig.excludeAccounts,
      }),
    memberRoleName: organizationConfig.memberRoleName,
    pools: core.createAccountPools({
      partition: core.partitionOf(region),
      homeRegion: region,
      memberRoleName: organizationConfig.memberRoleName,
      sessionName: env.AWS_LAMBDA_FUNCTION_NAME ?? "flowlog-guard",
    }),
    membership: core.createMembershipCheck(organizations!, organizationConfig),
  };
  const readAccountIdentity = core.readAccountIdentity;
  return {
    policy,
    pool,
    logger,
    metrics,
    ...(organization ? { organization } : {}),
    identity(region) {
      identity ??= readAccountIdentity(pool.clientsFor(region)).catch((error) => {
        identity = undefined;
        throw error;
      });
      return identity;
    },
  };
}

/**
 * A Lambda entry's lazily built handler. The configuration is validated while the module loads, so a
 * bad setting fails the cold start, not an event; the engine and the AWS SDK (most of a cold start)
 * load with the first invocation, in their own bundle chunk.
 */
export function lazyHandler<E, R>(
  logger: Logger,
  build: (runtime: Runtime) => Promise<(event: E, context?: never) => Promise<R>>,
  metrics: Metrics = createMetrics(),
): (event: E, context?: never) => Promise<R> {
  if (process.env.AWS_LAMBDA_FUNCTION_NAME) {
    loadConfig(process.env);
    loadOrganizationConfig(process.env);
  }
  let handler: Promise<(event: E, context?: never) => Promise<R>> | undefined;
  return async (event, context) => {
    handler ??= createRuntime(process.env, logger, metrics).then(build);
    return (await handler)(event, context);
  };
}

/** What Lambda passes as the handler's context, as far as the time-limit guard needs it. */
export interface LambdaTimeContext {
  getRemainingTimeInMillis(): number;
}

/**
 * The stop-before-the-limit guard of a handler: `shouldStop` turns true, and `deadline` (epoch ms)
 * falls, `marginMs` before the function's time limit, so that changes in flight finish and their
 * change records are flushed to the ledger bus while the function still runs. No context (a test, a
 * script): no limit.
 */
export function timeLimitOf(
  context: LambdaTimeContext | undefined,
  marginMs: number,
): { shouldStop?: () => boolean; deadline?: number } {
  if (!context) return {};
  return {
    shouldStop: () => context.getRemainingTimeInMillis() < marginMs,
    deadline: Date.now() + context.getRemainingTimeInMillis() - marginMs,
  };
}
