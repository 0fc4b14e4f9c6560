import { SCHEDULED_FIX_ALL_EVENT } from "@flowlog-guard/core/data";
import { parseFixAllInput } from "@flowlog-guard/functions/fix-all-handler";
import { describe, expect, it } from "vitest";
import { fixAllSettings, MAXIMUM_EVENT_AGE_SECONDS, remediateSettings } from "../function-settings.ts";

const DLQ = "arn:aws:sqs:eu-west-1:111122223333:RemediationDlq";

function eventInvokeConfigOf(settings: ReturnType<typeof fixAllSettings | typeof remediateSettings>) {
  const args = { functionName: "fn" };
  settings.transform.eventInvokeConfig(args);
  return args;
}

describe("function settings", () => {
  it("FixAll reserves no concurrency (new accounts' quota of 10 makes such a deploy fail)", () => {
    expect(fixAllSettings(DLQ)).not.toHaveProperty("concurrency");
    expect(remediateSettings(DLQ)).not.toHaveProperty("concurrency");
  });

  it.each([
    ["FixAll", fixAllSettings],
    ["Remediate", remediateSettings],
  ])(
    "%s sends invocations that failed after Lambda's retries to the dead-letter queue",
    (_name, settings) => {
      expect(eventInvokeConfigOf(settings(DLQ))).toEqual({
        functionName: "fn",
        maximumEventAgeInSeconds: MAXIMUM_EVENT_AGE_SECONDS,
        destinationConfig: { onFailure: { destination: DLQ } },
      });
    },
  );

  it("the schedule's payload is recognised as scheduled by the fix-all handler; a manual {} is not", () => {
    expect(parseFixAllInput(JSON.parse(JSON.stringify(SCHEDULED_FIX_ALL_EVENT))).scheduled).toBe(true);
    expect(parseFixAllInput({}).scheduled).toBe(false);
  });
});
