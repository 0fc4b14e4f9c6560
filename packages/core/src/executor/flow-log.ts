import {
  CreateFlowLogsCommand,
  type CreateFlowLogsRequest,
  type DescribeFlowLogsRequest,
  paginateDescribeFlowLogs,
} from "@aws-sdk/client-ec2";
import type { AwsClients } from "../aws-clients.ts";
import { describeError, isRetryableError } from "../errors.ts";
import { creationTags, flowLogClientToken } from "../naming.ts";
import type { Action } from "../plan.ts";
import { retryWithBackoff } from "../retry.ts";
import type { ActionContext, ActionHandler, CreatedFlowLog } from "./context.ts";
import {
  type BatchVerdict,
  type CreateFlowLogsReply,
  classifyCreateFlowLogs,
  classifyReadBack,
  type ExistingFlowLog,
  existingByVpc,
  isIamPropagationError,
  pairWithoutReading,
  type ReadBack,
  verdictsOf,
} from "./flow-log-outcomes.ts";
import {
  type FlowLogAction,
  narrowFlowLogAction,
  resourceIdsOf,
  resourceTypeOf,
  siteOf,
  subnetFields,
  targetsOf,
} from "./flow-log-targets.ts";
import { logGroupActionKey } from "./log-group.ts";

type CreateFlowLog = Extract<Action, { kind: "create-flow-log" }>;

/**
 * CreateFlowLogs for a batch of VPCs (or, in Subnet mode, subnets) that share a log group, retried
 * while a new delivery role propagates. Flow logs it creates are settled only after the region's read-back (`finishRegion`):
 * applied when seen, failed when not; VPCs refused or already covered are settled right away.
 */
export const createFlowLog: ActionHandler<CreateFlowLog> = {
  scope: "region",
  resourceIdsOf,
  narrowTo: narrowFlowLogAction,
  blockedBy: (context, action) => {
    if (context.role.problem !== undefined) return context.role.problem;
    const failure = context.state.failureOf(logGroupActionKey(action.region, action.logGroupName));
    return failure === undefined ? undefined : `log group was not created: ${failure}`;
  },
  run: async (context, action) => {
    settleVerdicts(context, action, await createWithIamRetry(context, action));
  },
  finishRegion: readBackCreated,
};

/**
 * Settles each VPC (or subnet) of a flow-log action by its CreateFlowLogs verdict, keyed by resource
 * id: created ones wait for the region's read-back, already covered ones are unchanged, refused ones
 * failed (`explain` adds the fix).
 */
export function settleVerdicts(
  context: ActionContext,
  action: FlowLogAction,
  verdicts: ReadonlyMap<string, BatchVerdict>,
  explain: (error: string) => string = (error) => error,
): void {
  for (const target of targetsOf(action)) {
    const verdict = verdicts.get(target.resourceId) ?? {
      kind: "failed",
      error: `CreateFlowLogs did not answer for ${target.resourceId}`,
    };
    const site = siteOf(action, target, target.resourceId);
    const made = madeByThisRun(verdict);
    if (made) context.created.push({ action, target, flowLogId: made });
    else if (verdict.kind === "exists") {
      context.state.settleVpc(action, site, { status: "unchanged", flowLogId: verdict.flowLogId });
    } else if (verdict.kind === "failed") {
      const error = explain(verdict.error);
      context.state.settleVpc(action, site, { status: "failed", error, retryable: verdict.retryable });
    }
  }
}

/**
 * One CreateFlowLogs call for VPCs (or subnets: `ResourceType`), tagged as flowlog-guard's and as this
 * run's, its answer or error as a reply. The caller gives the destination and the ClientToken (same on
 * every retry of the same request).
 */
export async function sendCreateFlowLogsRequest(
  context: Pick<ActionContext, "clients" | "trigger">,
  input: Omit<CreateFlowLogsRequest, "ResourceType" | "TagSpecifications"> & {
    ResourceType: "VPC" | "Subnet";
  },
): Promise<CreateFlowLogsReply> {
  try {
    const response = await context.clients.ec2.send(
      new CreateFlowLogsCommand({
        ...input,
        TagSpecifications: [{ ResourceType: "vpc-flow-log", Tags: creationTags(context.trigger.runId) }],
      }),
    );
    return {
      kind: "response",
      flowLogIds: response.FlowLogIds ?? [],
      unsuccessful: response.Unsuccessful ?? [],
    };
  } catch (error) {
    return { kind: "error", message: describeError(error), retryable: isRetryableError(error) };
  }
}

async function createWithIamRetry(
  context: ActionContext,
  action: CreateFlowLog,
): Promise<Map<string, BatchVerdict>> {
  const verdicts = new Map<string, BatchVerdict>();
  const refusedForNow = (vpcId: string) => {
    const verdict = verdicts.get(vpcId);
    return verdict?.kind === "failed" && isIamPropagationError(verdict.error);
  };
  let remaining = resourceIdsOf(action);
  try {
    await retryWithBackoff(
      async () => {
        const request: FlowLogRequest = {
          send: (vpcIds) => sendCreateFlowLogs(context, action, vpcIds),
          findExisting: (vpcIds) => findFlowLogsInto(context.clients, vpcIds, action, context.trigger.runId),
        };
        for (const [vpcId, verdict] of await createBatch(context.clients, request, remaining))
          verdicts.set(vpcId, verdict);
        remaining = remaining.filter(refusedForNow);
        const first = remaining[0] === undefined ? undefined : verdicts.get(remaining[0]);
        if (first?.kind === "failed") throw new Error(first.error);
      },
      {
        // Never past the run's time limit: a Lambda cut off in this wait would lose its records.
        retryable: (error) => isIamPropagationError(describeError(error)) && !context.shouldStop?.(),
        timeoutMs: iamRetryBudgetMs(context),
        baseDelayMs: 2_000,
        sleep: context.sleep,
        onRetry: (_error, attempt, delay) =>
          context.log.info("delivery role not assumable yet, retrying", {
            action: action.key,
            attempt,
            delay,
          }),
      },
    );
  } catch (error) {
    // A VPC the calls never answered for fails with what stopped them (a VPC still refused keeps AWS's words).
    const stopped = stoppedByTimeLimit(context) && isIamPropagationError(describeError(error));
    for (const vpcId of resourceIdsOf(action)) {
      if (!verdicts.has(vpcId) || (stopped && refusedForNow(vpcId))) {
        const retryable = isRetryableError(error) || isIamPropagationError(describeError(error));
        const message = describeError(error);
        verdicts.set(vpcId, {
          kind: "failed",
          error: stopped
            ? `${TIME_LIMIT_STOP}, the delivery role was still propagating: ${message}`
            : message,
          retryable,
        });
      }
    }
  }
  return verdicts;
}

/** Not started again: the run's time limit (or Ctrl-C) came first. */
const TIME_LIMIT_STOP = "not created before the run's time limit";

/** How long CreateFlowLogs may be retried while a new role propagates: its timeout, within the run's limit. */
function iamRetryBudgetMs(context: ActionContext): number {
  if (context.deadline === undefined) return context.iamPropagationTimeoutMs;
  return Math.max(0, Math.min(context.iamPropagationTimeoutMs, context.deadline - Date.now()));
}

function stoppedByTimeLimit(context: ActionContext): boolean {
  return (
    context.shouldStop?.() === true || (context.deadline !== undefined && Date.now() >= context.deadline)
  );
}

/** How one kind of flow log is requested, and how an existing one for a VPC is found. */
export interface FlowLogRequest {
  send(vpcIds: string[]): Promise<CreateFlowLogsReply>;
  /** VPC id -> the flow log that already exists for it (AWS said "already exists"). */
  findExisting(vpcIds: string[]): Promise<Map<string, ExistingFlowLog>>;
}

/** One CreateFlowLogs call, then the reads that pair its result with VPCs. */
export async function createBatch(
  clients: AwsClients,
  request: FlowLogRequest,
  vpcIds: string[],
): Promise<Map<string, BatchVerdict>> {
  const batch = classifyCreateFlowLogs(vpcIds, await request.send(vpcIds));
  if (batch.kind === "split") {
    const verdicts = new Map<string, BatchVerdict>();
    for (const vpcId of vpcIds) {
      for (const [id, verdict] of await createBatch(clients, request, [vpcId])) verdicts.set(id, verdict);
    }
    return verdicts;
  }
  const existingIds =
    batch.existing.length > 0
      ? await request.findExisting(batch.existing)
      : new Map<string, ExistingFlowLog>();
  // The response lists ids, not which VPC each belongs to: read them back to pair them up.
  const createdIds = pairWithoutReading(batch) ?? (await findFlowLogsById(clients, batch.created));
  return verdictsOf(vpcIds, batch, existingIds, createdIds);
}

async function sendCreateFlowLogs(
  context: ActionContext,
  action: CreateFlowLog,
  vpcIds: string[],
): Promise<CreateFlowLogsReply> {
  // A retry with fewer VPCs is a different request and gets its own token (same token with other
  // parameters is IdempotentParameterMismatch); a retry of the same request reuses it.
  const clientToken = flowLogClientToken(context.trigger.runId, [
    context.plan.account,
    action.region,
    vpcIds.join(","),
    action.logGroupName,
    action.roleArn,
    action.trafficType,
    action.maxAggregationInterval,
    action.logFormat,
  ]);
  return sendCreateFlowLogsRequest(context, {
    ResourceIds: vpcIds,
    ResourceType: resourceTypeOf(action),
    TrafficType: action.trafficType,
    LogDestinationType: "cloud-watch-logs",
    LogGroupName: action.logGroupName,
    DeliverLogsPermissionArn: action.roleArn,
    MaxAggregationInterval: action.maxAggregationInterval,
    LogFormat: action.logFormat,
    ClientToken: clientToken,
  });
}

/**
 * The flow log id to read back and record when this run made the VPC's flow log: created now, or
 * found "already existing" with this run's tag (an earlier attempt's response was lost).
 */
export function madeByThisRun(verdict: BatchVerdict): string | undefined {
  if (verdict.kind === "created") return verdict.flowLogId;
  if (verdict.kind === "exists" && verdict.ours) return verdict.flowLogId;
  return undefined;
}

/**
 * Reads every flow log the region created back from the API (1,000 ids a call) and settles each VPC:
 * applied, with its change record, only when its flow log is seen.
 */
async function readBackCreated(context: ActionContext): Promise<void> {
  const created = context.created.filter(
    (entry): entry is CreatedFlowLog & { action: CreateFlowLog } => entry.action.kind === "create-flow-log",
  );
  for (let start = 0; start < created.length; start += 1000) {
    const chunk = created.slice(start, start + 1000);
    let readBack: ReadBack;
    try {
      const seen = await describeFlowLogs(context.clients, {
        FlowLogIds: chunk.map((entry) => entry.flowLogId),
      });
      readBack = { kind: "read", found: new Set(seen.map((flowLog) => flowLog.flowLogId)) };
    } catch (error) {
      readBack = { kind: "failed", error: describeError(error), retryable: isRetryableError(error) };
    }
    for (const { action, target, flowLogId } of chunk) {
      const site = siteOf(action, target, flowLogId);
      const result = classifyReadBack(flowLogId, readBack);
      context.state.settleVpc(
        action,
        site,
        result.status === "failed"
          ? { status: "failed", error: result.error, flowLogId, retryable: result.retryable }
          : {
              status: "applied",
              flowLogId,
              before: null,
              after: {
                flowLogId,
                trafficType: action.trafficType,
                logGroupName: action.logGroupName,
                deliverLogsPermissionArn: action.roleArn,
                maxAggregationInterval: action.maxAggregationInterval,
                ...subnetFields(target),
              },
            },
      );
    }
  }
}

/** A flow log as the executor's lookups need it. */
export interface FoundFlowLog {
  vpcId: string;
  flowLogId: string;
  trafficType: string | undefined;
  tags: { Key?: string; Value?: string }[];
}

/** The flow logs a DescribeFlowLogs request finds, 1000 a page. */
export async function describeFlowLogs(
  clients: AwsClients,
  input: DescribeFlowLogsRequest,
): Promise<FoundFlowLog[]> {
  const found: FoundFlowLog[] = [];
  for await (const page of paginateDescribeFlowLogs({ client: clients.ec2, pageSize: 1000 }, input)) {
    for (const { ResourceId, FlowLogId, TrafficType, Tags } of page.FlowLogs ?? []) {
      if (ResourceId && FlowLogId)
        found.push({ vpcId: ResourceId, flowLogId: FlowLogId, trafficType: TrafficType, tags: Tags ?? [] });
    }
  }
  return found;
}

/** VPC id -> flow log id, for the given flow log ids (1000 ids a request). */
async function findFlowLogsById(clients: AwsClients, flowLogIds: string[]): Promise<Map<string, string>> {
  const byVpc = new Map<string, string>();
  for (let start = 0; start < flowLogIds.length; start += 1000) {
    const found = await describeFlowLogs(clients, { FlowLogIds: flowLogIds.slice(start, start + 1000) });
    for (const { vpcId, flowLogId } of found) byVpc.set(vpcId, flowLogId);
  }
  return byVpc;
}

/**
 * VPC id -> its flow log into the action's log group, for flow logs that already existed (see
 * {@link existingByVpc}: an older REJECT one where the policy now asks ALL is not taken for it).
 */
async function findFlowLogsInto(
  clients: AwsClients,
  vpcIds: string[],
  action: Pick<CreateFlowLog, "logGroupName" | "trafficType">,
  runId: string,
) {
  const found = await describeFlowLogs(clients, {
    Filter: [
      { Name: "resource-id", Values: vpcIds },
      { Name: "log-group-name", Values: [action.logGroupName] },
    ],
  });
  return existingByVpc(found, action.trafficType, runId);
}
