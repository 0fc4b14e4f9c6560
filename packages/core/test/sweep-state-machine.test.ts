import validator from "asl-validator";
import { describe, expect, it } from "vitest";
import { buildSweepDefinition, SWEEP_DEFAULTS } from "../src/index.ts";

const definition = buildSweepDefinition({
  listAccountsFunctionArn: "arn:aws:lambda:eu-west-1:111122223333:function:flowlog-guard-list-accounts",
  workerFunctionArn: "arn:aws:lambda:eu-west-1:111122223333:function:flowlog-guard-sweep-worker",
  resultBucket: "flowlog-guard-sweeps",
  maxConcurrency: 25,
  toleratedFailurePercentage: 10,
});
interface MapState {
  ItemSelector: unknown;
  ToleratedFailurePercentage: number;
  ItemProcessor: {
    ProcessorConfig: { ExecutionType?: string };
    States: { FixAccounts: { Resource: string; Retry: { ErrorEquals: string[] }[] } };
  };
}
const map = definition.States.SweepAccounts as unknown as MapState;

describe("organization sweep state machine (Step Functions Distributed Map)", () => {
  it("is valid Amazon States Language (asl-validator)", () => {
    const result = validator(definition);
    expect(result.errorsText()).toBe("");
    expect(result.isValid).toBe(true);
  });

  it("the validator catches what AWS refuses: DISTRIBUTED without ExecutionType, a failure share over 100", () => {
    const broken = structuredClone(definition) as unknown as { States: Record<string, MapState> };
    delete broken.States.SweepAccounts!.ItemProcessor.ProcessorConfig.ExecutionType;
    expect(validator(broken).isValid).toBe(false);
    const tooTolerant = structuredClone(definition) as unknown as { States: Record<string, MapState> };
    tooTolerant.States.SweepAccounts!.ToleratedFailurePercentage = 150;
    expect(validator(tooTolerant).isValid).toBe(false);
  });

  it("fans out over accounts in batches, with the configured concurrency and tolerance, results to S3", () => {
    expect(map).toMatchObject({
      Type: "Map",
      ItemsPath: "$.accounts",
      ItemBatcher: { MaxItemsPerBatch: SWEEP_DEFAULTS.accountsPerBatch },
      MaxConcurrency: 25,
      ToleratedFailurePercentage: 10,
      ItemProcessor: { ProcessorConfig: { Mode: "DISTRIBUTED", ExecutionType: "STANDARD" } },
      ResultWriter: {
        Resource: "arn:aws:states:::s3:putObject",
        Parameters: { Bucket: "flowlog-guard-sweeps", Prefix: "sweeps" },
      },
    });
    expect(map.ItemSelector).toEqual({
      "accountId.$": "$$.Map.Item.Value.accountId",
      "runId.$": "$.runId",
      "dryRun.$": "$.dryRun",
    });
    expect(map.ItemProcessor.States.FixAccounts.Resource).toContain("flowlog-guard-sweep-worker");
    expect(map.ItemProcessor.States.FixAccounts.Retry[0]?.ErrorEquals).toContain("Lambda.ServiceException");
  });
});
