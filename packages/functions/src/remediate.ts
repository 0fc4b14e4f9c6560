import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import { createLogger, lazyHandler } from "./runtime.ts";

const logger = createLogger();

/** Lambda entry point (`packages/functions/src/remediate.handler`): CloudTrail events from EventBridge. */
export const handler = middy(
  lazyHandler(logger, async (runtime) =>
    (await import("./remediate-handler.ts")).createRemediateHandler(runtime),
  ),
).use(injectLambdaContext(logger));
