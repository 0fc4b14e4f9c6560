import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import middy from "@middy/core";
import { createLogger, createMetrics, lazyHandler } from "./runtime.ts";

const logger = createLogger();
const metrics = createMetrics();

/** Lambda entry point (`packages/functions/src/remediate.handler`): CloudTrail events from EventBridge. */
export const handler = middy(
  lazyHandler(
    logger,
    async (runtime) => (await import("./remediate-handler.ts")).createRemediateHandler(runtime),
    metrics,
  ),
)
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
