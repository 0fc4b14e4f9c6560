/**
 * The organization-wide sweep as an AWS Step Functions Distributed Map: one state lists the accounts,
 * a Distributed Map runs the worker once per batch of accounts (child workflows, up to
 * `maxConcurrency` at a time), tolerates a share of failed batches, and writes every batch's result
 * to S3. Plain data: the stacks deploy it, tests validate it with asl-validator and run it locally.
 */

export interface SweepDefinitionOptions {
  /** Lambda that resolves the organization's accounts: `{}` -> `{ runId, dryRun, accounts: [{accountId}] }`. */
  listAccountsFunctionArn: string;
  /** Lambda that fixes a batch of accounts: `{ Items: [{accountId, runId, dryRun}] }` -> batch summary. */
  workerFunctionArn: string;
  /** Child workflows at once. Default 40 (each fixes `accountsPerBatch` accounts). */
  maxConcurrency?: number;
  /** Batches that may fail before the run is failed. Default 5 %. */
  toleratedFailurePercentage?: number;
  /** Accounts per worker invocation. Default 10. */
  accountsPerBatch?: number;
  /** Where the Map writes its results (manifest + SUCCEEDED/FAILED files). */
  resultBucket: string;
  resultPrefix?: string;
}

export const SWEEP_DEFAULTS = {
  maxConcurrency: 40,
  toleratedFailurePercentage: 5,
  accountsPerBatch: 10,
} as const;

/** AWS's advice for Lambda tasks: retry the service's transient errors with backoff. */
const LAMBDA_RETRY = {
  ErrorEquals: [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
  ],
  IntervalSeconds: 2,
  MaxAttempts: 6,
  BackoffRate: 2,
};

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export type StateMachineDefinition = { Comment: string; StartAt: string; States: Record<string, Json> };

/**
 * @example
 * const definition = buildSweepDefinition({ listAccountsFunctionArn, workerFunctionArn, resultBucket: "sweep-results" });
 * new aws.sfn.StateMachine("Sweep", { definition: JSON.stringify(definition), roleArn });
 */
export function buildSweepDefinition(options: SweepDefinitionOptions): StateMachineDefinition {
  const settings = { ...SWEEP_DEFAULTS, ...options };
  return {
    Comment: "flowlog-guard: fix-all across every account of the organization",
    StartAt: "ListAccounts",
    States: {
      ListAccounts: {
        Type: "Task",
        Resource: settings.listAccountsFunctionArn,
        Retry: [LAMBDA_RETRY],
        Next: "SweepAccounts",
      },
      SweepAccounts: {
        Type: "Map",
        Label: "SweepAccounts",
        ItemsPath: "$.accounts",
        ItemSelector: {
          "accountId.$": "$$.Map.Item.Value.accountId",
          "runId.$": "$.runId",
          "dryRun.$": "$.dryRun",
        },
        ItemBatcher: { MaxItemsPerBatch: settings.accountsPerBatch },
        MaxConcurrency: settings.maxConcurrency,
        ToleratedFailurePercentage: settings.toleratedFailurePercentage,
        ItemProcessor: {
          ProcessorConfig: { Mode: "DISTRIBUTED", ExecutionType: "STANDARD" },
          StartAt: "FixAccounts",
          States: {
            FixAccounts: {
              Type: "Task",
              Resource: settings.workerFunctionArn,
              Retry: [LAMBDA_RETRY],
              End: true,
            },
          },
        },
        ResultWriter: {
          Resource: "arn:aws:states:::s3:putObject",
          Parameters: { Bucket: settings.resultBucket, Prefix: settings.resultPrefix ?? "sweeps" },
        },
        End: true,
      },
    },
  };
}
