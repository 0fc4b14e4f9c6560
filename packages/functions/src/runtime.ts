import { Logger } from "@aws-lambda-powertools/logger";
import {
  type AccountIdentity,
  type ClientPool,
  createClientPool,
  loadConfig,
  type Policy,
  PRODUCT_NAME,
  readAccountIdentity,
} from "@flowlog-guard/core";

/** What a Lambda container builds once and reuses across invocations. */
export interface Runtime {
  policy: Policy;
  pool: ClientPool;
  logger: Logger;
  /** Who the function runs as; read once through STS. */
  identity(region: string): Promise<AccountIdentity>;
}

/**
 * Builds the container's runtime: the policy from `FLOWLOG_GUARD_*` (a bad value fails the cold
 * start with every problem listed), one client pool, and a JSON logger.
 */
export function createRuntime(
  env: Record<string, string | undefined> = process.env,
  logger: Logger = createLogger(),
): Runtime {
  const policy = loadConfig(env);
  const pool = createClientPool();
  let identity: Promise<AccountIdentity> | undefined;
  return {
    policy,
    pool,
    logger,
    identity(region) {
      identity ??= readAccountIdentity(pool.clientsFor(region)).catch((error) => {
        identity = undefined;
        throw error;
      });
      return identity;
    },
  };
}

export function createLogger(): Logger {
  return new Logger({ serviceName: PRODUCT_NAME });
}

/**
 * The container's runtime, built on first use. In Lambda it is built while the module loads, so a
 * bad configuration fails the cold start, not an event.
 */
export function lazyRuntime(logger: Logger): () => Runtime {
  let runtime: Runtime | undefined;
  const get = () => {
    runtime ??= createRuntime(process.env, logger);
    return runtime;
  };
  if (process.env.AWS_LAMBDA_FUNCTION_NAME) get();
  return get;
}
