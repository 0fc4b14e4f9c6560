/**
 * Per-function settings that are decisions, as plain data so that they are unit-tested (SST's Function
 * cannot run under Pulumi mocks): timeouts, retries, and where failed invocations go.
 */
import type * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";

/** Lambda keeps an asynchronous event this long (the maximum, 6 hours) while it retries. */
export const MAXIMUM_EVENT_AGE_SECONDS = 21_600;

/**
 * The `transform` that sends an asynchronous invocation which failed after Lambda's retries to the
 * dead-letter queue, with the event inside the invocation record (`requestPayload`), which
 * `flowlog-guard redrive` and `handle-event` accept as they are.
 */
export function onFailureTo(destination: pulumi.Input<string>) {
  return {
    eventInvokeConfig: (args: aws.lambda.FunctionEventInvokeConfigArgs): undefined => {
      args.maximumEventAgeInSeconds = MAXIMUM_EVENT_AGE_SECONDS;
      args.destinationConfig = { onFailure: { destination } };
    },
  };
}

/**
 * FixAll's settings. No reserved concurrency: a new account's concurrency quota (10, sometimes 50)
 * makes a deploy that reserves any fail, and overlapping runs are safe (each re-reads the state; EC2
 * and CloudWatch Logs refuse duplicates; test/fix-all-lambda.test.ts runs two at once).
 */
export function fixAllSettings(deadLetterQueueArn: pulumi.Input<string>) {
  return {
    handler: "packages/functions/src/fix-all.handler",
    timeout: "15 minutes",
    transform: onFailureTo(deadLetterQueueArn),
  } as const;
}

/** Remediate's settings: CreateFlowLogs is retried for up to two minutes while a new delivery role propagates. */
export function remediateSettings(deadLetterQueueArn: pulumi.Input<string>) {
  return {
    handler: "packages/functions/src/remediate.handler",
    timeout: "3 minutes",
    retries: 2,
    transform: onFailureTo(deadLetterQueueArn),
  } as const;
}
