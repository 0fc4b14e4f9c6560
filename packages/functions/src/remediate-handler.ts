import { type EventHandlingResult, handleCloudTrailEvent, RemediationError } from "@flowlog-guard/core";
import type { Runtime } from "./runtime.ts";

/** What the remediate Lambda returns (also in its log): the outcome and the report's summary. */
export type RemediateResult = Pick<EventHandlingResult, "status" | "reason" | "event"> & {
  summary?: NonNullable<EventHandlingResult["report"]>["summary"];
  vpcs?: { vpcId: string; region: string; status: string; reason: string }[];
};

/**
 * The remediate handler for CloudTrail events from EventBridge. Throws for an event it does not
 * handle (EventValidationError) and when a VPC could not be fixed, so that Lambda retries and the
 * on-failure destination keeps the event.
 */
export function createRemediateHandler(runtime: Runtime) {
  return async (event: unknown): Promise<RemediateResult> => {
    const region = (event as { region?: unknown })?.region;
    const identity = await runtime.identity(typeof region === "string" ? region : "us-east-1");
    const result = await handleCloudTrailEvent(event, { ...runtime, identity, log: runtime.logger });
    const output: RemediateResult = {
      status: result.status,
      reason: result.reason,
      event: result.event,
      ...(result.report
        ? {
            summary: result.report.summary,
            vpcs: result.report.vpcs.map(({ vpcId, region, status, reason }) => ({
              vpcId,
              region,
              status,
              reason,
            })),
          }
        : {}),
    };
    runtime.logger.info("event handled", { result: output });
    if (result.report && result.report.summary.failed > 0) {
      throw new RemediationError(
        `${result.report.summary.failed} VPC(s) could not be fixed: ${JSON.stringify(result.report.errors)}`,
        {
          action: "remediate",
          region: result.event.region,
        },
      );
    }
    return output;
  };
}
