import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import { createLogger, lazyHandler } from "./runtime.ts";

const logger = createLogger();

/** `packages/functions/src/sweep.listAccounts`: the organization sweep's first state. */
export const listAccounts = middy(
  lazyHandler(logger, async (runtime) =>
    (await import("./sweep-handler.ts")).createListAccountsHandler(runtime),
  ),
).use(injectLambdaContext(logger));

/** `packages/functions/src/sweep.worker`: the Distributed Map's worker, one batch of accounts per invocation. */
export const worker = middy(
  lazyHandler(logger, async (runtime) =>
    (await import("./sweep-handler.ts")).createSweepWorkerHandler(runtime),
  ),
).use(injectLambdaContext(logger));
