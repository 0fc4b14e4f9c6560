import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import middy from "@middy/core";
import { createLogger, createMetrics, lazyHandler } from "./runtime.ts";

const logger = createLogger();
const metrics = createMetrics();

/** Lambda entry point (`packages/functions/src/fix-all.handler`): manual invocation and the daily schedule. */
export const handler = middy(
  lazyHandler(
    logger,
    async (runtime) => {
      const { createFixAllHandler } = await import("./fix-all-handler.ts");
      const fixAll = createFixAllHandler(runtime);
      return (event: unknown, context?: { getRemainingTimeInMillis(): number }) => fixAll(event, context);
    },
    metrics,
  ),
)
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
