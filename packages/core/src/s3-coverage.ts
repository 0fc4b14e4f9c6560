/**
 * How a VPC is judged when the policy sends flow logs to S3. Pure: flow-log facts and the policy in,
 * a verdict out. Any qualifying flow log (CloudWatch Logs, S3, Firehose; flowlog-guard's or not)
 * keeps the VPC compliant, so changing the destination setting never adds a second flow log to a
 * covered VPC. flowlog-guard's S3 flow log that the bucket refuses is reported with the fix, not
 * re-created (AWS would refuse a duplicate) and never "repaired" by editing the bucket policy.
 */
import type { Policy } from "./config.ts";
import { describeTrafficShortfall, flowLogQualifies } from "./flow-log-qualification.ts";
import type { FlowLogFacts } from "./model.ts";
import { parseS3Destination, sameS3Destination } from "./s3-destination.ts";

export interface S3Coverage {
  status: "compliant" | "non-compliant";
  reason: string;
  /** Flow logs that make the VPC compliant (or the refused one that will, once the bucket lets it). */
  flowLogIds: string[];
  /** A new S3 flow log is needed (false: compliant, or ours exists and only the bucket must change). */
  needsFlowLog: boolean;
}

function describe(flowLog: FlowLogFacts): string {
  const destination = flowLog.logGroupName ?? flowLog.logDestination ?? flowLog.destinationType ?? "?";
  return `${flowLog.flowLogId} (${flowLog.trafficType ?? "?"} to ${destination})`;
}

/**
 * Why a flow log fails delivery, and for an S3 destination what to do about it: the bucket (or its
 * KMS key) must let delivery.logs.amazonaws.com write for this account.
 */
export function describeFailedDelivery(flowLog: FlowLogFacts, accountId?: string): string {
  const base = `${flowLog.flowLogId} fails delivery (${flowLog.deliverLogsErrorMessage ?? "no message"})`;
  if (flowLog.destinationType !== "s3") return base;
  const destination = parseS3Destination(flowLog.logDestination ?? "");
  const bucket = destination?.bucket ?? flowLog.logDestination ?? "?";
  const command = [
    `flowlog-guard bucket-policy --bucket ${bucket}`,
    ...(accountId ? [`--accounts ${accountId}`] : []),
    ...(destination?.prefix ? [`--prefix ${destination.prefix}`] : []),
  ].join(" ");
  return (
    `${base}: bucket ${bucket} refuses delivery.logs.amazonaws.com. Fix it in the bucket owner's account: ` +
    `apply the policy \`${command}\` prints, and with SSE-KMS let the service use the key; ` +
    "`flowlog-guard doctor` checks both. flowlog-guard does not change bucket policies"
  );
}

/**
 * Why a VPC has no qualifying flow log, each flow log it has named with its problem: not active,
 * failing delivery, or capturing less traffic than the policy's `trafficType`.
 */
export function describeMissingCoverage(
  flowLogs: readonly FlowLogFacts[],
  policy: Pick<Policy, "trafficType">,
  accountId?: string,
): string {
  if (flowLogs.length === 0) return "no flow log";
  const problems = flowLogs.map((flowLog) => {
    if (flowLog.flowLogStatus !== "ACTIVE")
      return `${flowLog.flowLogId} is ${flowLog.flowLogStatus ?? "not active"}`;
    if (flowLog.deliverLogsStatus === "FAILED") return describeFailedDelivery(flowLog, accountId);
    return describeTrafficShortfall(flowLog, policy.trafficType);
  });
  return `no qualifying flow log: ${problems.join(", ")}`;
}

/**
 * The S3-mode verdict for a VPC that is not exempt.
 *
 * @example evaluateS3Coverage([], policy, "111122223333") // { status: "non-compliant", needsFlowLog: true, ... }
 */
export function evaluateS3Coverage(
  flowLogs: readonly FlowLogFacts[],
  policy: Pick<Policy, "logDestination" | "trafficType">,
  accountId: string,
): S3Coverage {
  const qualifying = flowLogs.filter((flowLog) => flowLogQualifies(flowLog, policy.trafficType));
  const first = qualifying[0];
  if (first) {
    return {
      status: "compliant",
      reason: `flow log ${describe(first)} is active`,
      flowLogIds: qualifying.map((flowLog) => flowLog.flowLogId),
      needsFlowLog: false,
    };
  }
  const refused = flowLogs.find(
    (flowLog) =>
      flowLog.destinationType === "s3" &&
      flowLog.flowLogStatus === "ACTIVE" &&
      flowLog.deliverLogsStatus === "FAILED" &&
      sameS3Destination(flowLog.logDestination, policy.logDestination),
  );
  if (refused) {
    return {
      status: "non-compliant",
      reason: `flow log ${describeFailedDelivery(refused, accountId)}`,
      flowLogIds: [refused.flowLogId],
      needsFlowLog: false,
    };
  }
  return {
    status: "non-compliant",
    reason: describeMissingCoverage(flowLogs, policy, accountId),
    flowLogIds: [],
    needsFlowLog: true,
  };
}
