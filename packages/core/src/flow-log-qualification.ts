/**
 * Which flow logs count: one place for CloudWatch Logs and S3 modes, and for the reasons a flow log
 * does not count. Pure.
 */
import type { Policy } from "./config.ts";
import type { FlowLogFacts } from "./model.ts";

/** Traffic types that satisfy the policy's `trafficType`: ALL asks ALL; REJECT takes REJECT or ALL. */
const SATISFYING_TRAFFIC: Record<Policy["trafficType"], readonly string[]> = {
  ALL: ["ALL"],
  REJECT: ["REJECT", "ALL"],
};

/** True when a flow log captures at least the traffic the policy asks (ACCEPT-only never does). */
export function capturesPolicyTraffic(flowLog: FlowLogFacts, trafficType: Policy["trafficType"]): boolean {
  return SATISFYING_TRAFFIC[trafficType].includes(flowLog.trafficType ?? "");
}

/**
 * True when a flow log makes its VPC compliant on its own: ACTIVE, capturing the traffic the policy
 * asks (`trafficType` ALL: only ALL; REJECT: REJECT or ALL), and not failing delivery. The destination
 * does not matter (a customer's S3 flow log counts).
 *
 * @example flowLogQualifies(rejectOnlyFlowLog, "ALL") // false: flowlog-guard adds an ALL flow log
 */
export function flowLogQualifies(flowLog: FlowLogFacts, trafficType: Policy["trafficType"]): boolean {
  return (
    flowLog.flowLogStatus === "ACTIVE" &&
    capturesPolicyTraffic(flowLog, trafficType) &&
    flowLog.deliverLogsStatus !== "FAILED"
  );
}

/** `flow log fl-0abc captures only REJECT traffic; the policy asks ALL`. */
export function describeTrafficShortfall(flowLog: FlowLogFacts, trafficType: Policy["trafficType"]): string {
  return `flow log ${flowLog.flowLogId} captures only ${flowLog.trafficType ?? "unknown"} traffic; the policy asks ${trafficType}`;
}
