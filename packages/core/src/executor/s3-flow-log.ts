import { type FlowLog, paginateDescribeFlowLogs } from "@aws-sdk/client-ec2";
import type { AwsClients } from "../aws-clients.ts";
import { describeError, isRetryableError } from "../errors.ts";
import { flowLogClientToken } from "../naming.ts";
import type { Action } from "../plan.ts";
import { sameS3Destination } from "../s3-destination.ts";
import type { ActionContext, ActionHandler, CreatedFlowLog } from "./context.ts";
import { createBatch, type FlowLogRequest, sendCreateFlowLogsRequest, settleVerdicts } from "./flow-log.ts";
import {
  type CreateFlowLogsReply,
  classifyReadBack,
  existingByVpc,
  type ReadBack,
} from "./flow-log-outcomes.ts";
import {
  narrowFlowLogAction,
  resourceIdsOf,
  resourceTypeOf,
  siteOf,
  subnetFields,
} from "./flow-log-targets.ts";

type CreateS3FlowLog = Extract<Action, { kind: "create-s3-flow-log" }>;

/**
 * CreateFlowLogs straight to S3 for up to 300 VPCs of a region in one call: no delivery role, no log
 * group (the bucket policy lets the delivery service write). Flow logs it creates are settled after
 * the region's read-back, which checks what AWS recorded: destination type, bucket and prefix, file
 * format and partitions.
 */
export const createS3FlowLog: ActionHandler<CreateS3FlowLog> = {
  scope: "region",
  resourceIdsOf,
  narrowTo: narrowFlowLogAction,
  run: async (context, action) => {
    const request: FlowLogRequest = {
      send: (vpcIds) => sendCreateS3FlowLogs(context, action, vpcIds),
      findExisting: (vpcIds) => findS3FlowLogs(context.clients, vpcIds, action, context.trigger.runId),
    };
    let verdicts: Awaited<ReturnType<typeof createBatch>>;
    try {
      verdicts = await createBatch(context.clients, request, resourceIdsOf(action));
    } catch (error) {
      verdicts = new Map(
        resourceIdsOf(action).map((vpcId) => [
          vpcId,
          { kind: "failed", error: describeError(error), retryable: isRetryableError(error) },
        ]),
      );
    }
    settleVerdicts(context, action, verdicts, (error) => explainS3Refusal(error, action));
  },
  finishRegion: readBackS3FlowLogs,
};

/** AWS's refusal, plus what to do when it is about the bucket (flowlog-guard never edits a bucket policy). */
export function explainS3Refusal(error: string, action: Pick<CreateS3FlowLog, "logDestination">): string {
  if (!/LogDestination|Access Denied|does not exist|undeliverable|PermissionIssue/i.test(error)) return error;
  const bucket = action.logDestination.split(":::")[1]?.split("/")[0] ?? action.logDestination;
  return (
    `${error} (the bucket ${bucket} refused delivery: check it exists and apply the policy ` +
    `\`flowlog-guard bucket-policy --bucket ${bucket}\` prints for this account; run \`flowlog-guard doctor\`)`
  );
}

async function sendCreateS3FlowLogs(
  context: ActionContext,
  action: CreateS3FlowLog,
  vpcIds: string[],
): Promise<CreateFlowLogsReply> {
  const clientToken = flowLogClientToken(context.trigger.runId, [
    context.plan.account,
    action.region,
    vpcIds.join(","),
    action.logDestination,
    action.fileFormat,
    String(action.hiveCompatiblePartitions),
    String(action.perHourPartition),
    action.trafficType,
    action.maxAggregationInterval,
    action.logFormat,
  ]);
  return sendCreateFlowLogsRequest(context, {
    ResourceIds: vpcIds,
    ResourceType: resourceTypeOf(action),
    TrafficType: action.trafficType,
    LogDestinationType: "s3",
    LogDestination: action.logDestination,
    DestinationOptions: {
      FileFormat: action.fileFormat,
      HiveCompatiblePartitions: action.hiveCompatiblePartitions,
      PerHourPartition: action.perHourPartition,
    },
    MaxAggregationInterval: action.maxAggregationInterval,
    LogFormat: action.logFormat,
    ClientToken: clientToken,
  });
}

async function readFlowLogs(
  clients: AwsClients,
  input: { FlowLogIds?: string[]; Filter?: { Name: string; Values: string[] }[] },
) {
  const found: FlowLog[] = [];
  for await (const page of paginateDescribeFlowLogs({ client: clients.ec2, pageSize: 1000 }, input)) {
    found.push(...(page.FlowLogs ?? []));
  }
  return found;
}

/** VPC id -> id of its existing S3 flow log into `logDestination` (bucket and prefix). */
async function findS3FlowLogs(
  clients: AwsClients,
  vpcIds: string[],
  action: Pick<CreateS3FlowLog, "logDestination" | "trafficType">,
  runId: string,
) {
  const found = await readFlowLogs(clients, {
    Filter: [
      { Name: "resource-id", Values: vpcIds },
      { Name: "log-destination-type", Values: ["s3"] },
    ],
  });
  const into = found.filter((flowLog) => sameS3Destination(flowLog.LogDestination, action.logDestination));
  return existingByVpc(
    into.map((flowLog) => ({
      vpcId: flowLog.ResourceId ?? "",
      flowLogId: flowLog.FlowLogId ?? "",
      trafficType: flowLog.TrafficType,
      tags: flowLog.Tags ?? [],
    })),
    action.trafficType,
    runId,
  );
}

/** What is wrong with a flow log as read back, compared with what was asked; undefined when it matches. */
export function s3ReadBackMismatch(flowLog: FlowLog, action: CreateS3FlowLog): string | undefined {
  const options = flowLog.DestinationOptions;
  const problems = [
    flowLog.LogDestinationType === "s3" ? "" : `destination type ${flowLog.LogDestinationType}`,
    sameS3Destination(flowLog.LogDestination, action.logDestination)
      ? ""
      : `destination ${flowLog.LogDestination}`,
    (options?.FileFormat ?? "plain-text") === action.fileFormat ? "" : `file format ${options?.FileFormat}`,
    (options?.HiveCompatiblePartitions ?? false) === action.hiveCompatiblePartitions
      ? ""
      : `hiveCompatiblePartitions ${options?.HiveCompatiblePartitions}`,
    (options?.PerHourPartition ?? false) === action.perHourPartition
      ? ""
      : `perHourPartition ${options?.PerHourPartition}`,
  ].filter(Boolean);
  return problems.length === 0 ? undefined : `read back with ${problems.join(", ")}`;
}

/** Reads the region's new S3 flow logs back and settles each VPC: applied only when seen as asked. */
async function readBackS3FlowLogs(context: ActionContext): Promise<void> {
  const created = context.created.filter(
    (entry): entry is CreatedFlowLog & { action: CreateS3FlowLog } =>
      entry.action.kind === "create-s3-flow-log",
  );
  for (let start = 0; start < created.length; start += 1000) {
    const chunk = created.slice(start, start + 1000);
    let readBack: ReadBack;
    const byId = new Map<string, FlowLog>();
    try {
      for (const flowLog of await readFlowLogs(context.clients, {
        FlowLogIds: chunk.map((entry) => entry.flowLogId),
      })) {
        if (flowLog.FlowLogId) byId.set(flowLog.FlowLogId, flowLog);
      }
      readBack = { kind: "read", found: new Set(byId.keys()) };
    } catch (error) {
      readBack = { kind: "failed", error: describeError(error), retryable: isRetryableError(error) };
    }
    for (const { action, target, flowLogId } of chunk) {
      const site = siteOf(action, target, flowLogId);
      const result = classifyReadBack(flowLogId, readBack);
      const seen = byId.get(flowLogId);
      const mismatch = seen ? s3ReadBackMismatch(seen, action) : undefined;
      if (result.status === "failed" || mismatch) {
        const error = result.status === "failed" ? result.error : `flow log ${flowLogId} ${mismatch}`;
        const retryable = result.status === "failed" ? result.retryable : false;
        context.state.settleVpc(action, site, { status: "failed", error, flowLogId, retryable });
        continue;
      }
      context.state.settleVpc(action, site, {
        status: "applied",
        flowLogId,
        before: null,
        after: {
          flowLogId,
          trafficType: action.trafficType,
          logDestinationType: "s3",
          logDestination: action.logDestination,
          fileFormat: action.fileFormat,
          hiveCompatiblePartitions: action.hiveCompatiblePartitions,
          perHourPartition: action.perHourPartition,
          maxAggregationInterval: action.maxAggregationInterval,
          ...subnetFields(target),
        },
      });
    }
  }
}
