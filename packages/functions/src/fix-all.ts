import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import { createLogger, lazyHandler } from "./runtime.ts";

const logger = createLogger();

/** Lambda entry point (`packages/functions/src/fix-all.handler`): manual invocation and the daily schedule. */
export const handler = middy(
  lazyHandler(logger, async (runtime) => {
    const { createFixAllHandler } = await import("./fix-all-handler.ts");
    const fixAll = createFixAllHandler(runtime);
    return (event: unknown, context?: { getRemainingTimeInMillis(): number }) => fixAll(event, context);
  }),
).use(injectLambdaContext(logger));
