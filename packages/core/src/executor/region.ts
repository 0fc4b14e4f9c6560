import type { AwsClients } from "../aws-clients.ts";
import { type Action, kmsKeyActionKey } from "../plan.ts";
import { mapWithConcurrency } from "../retry.ts";
import { handlerOf, runAction, skipForTimeLimit } from "./action-kinds.ts";
import type { ActionContext, RunContext } from "./context.ts";
import { logGroupActionKey } from "./log-group.ts";

type FlowLogAction = Extract<Action, { kind: "create-flow-log" }>;

/**
 * Applies a region's actions as one pipeline per VPC (log group, then retention and flow log side by
 * side), many VPCs at once. Each API has its own AWS rate bucket, so the buckets drain together and
 * a region takes about as long as its slowest bucket allows, not the sum of them. Shared actions (a
 * log group several VPCs use) run once, and every VPC that needs them waits for that one run. Then
 * each kind finishes the region (the read-back of the flow logs it created).
 */
export async function executeRegion(
  run: RunContext,
  clients: AwsClients,
  actions: readonly Action[],
  options: { concurrency: number; shouldStop: (() => boolean) | undefined },
): Promise<void> {
  const context: ActionContext = { ...run, clients, created: [] };
  const started = new Map<string, Promise<void>>();
  const skipped = new Set<string>();
  // `finish`: part of work already under way (a log group's retention once the group was created),
  // so a stop (time limit, Ctrl-C) never leaves a new log group without its retention.
  const runOnce = (action: Action | undefined, finish = false): Promise<void> => {
    if (!action) return Promise.resolve();
    let running = started.get(action.key);
    if (!running) {
      const stop = !finish && options.shouldStop?.();
      if (stop) skipped.add(action.key);
      running = stop ? Promise.resolve(skipForTimeLimit(context, action)) : runAction(context, action);
      started.set(action.key, running);
    }
    return running;
  };
  const wasStarted = (action: Action | undefined) => action !== undefined && !skipped.has(action.key);
  const byKey = new Map(actions.map((action) => [action.key, action]));
  const groupSteps = (region: string, logGroupName: string) => ({
    create: byKey.get(logGroupActionKey(region, logGroupName)),
    retention: byKey.get(`retention:${region}:${logGroupName}`),
    kmsKey: byKey.get(kmsKeyActionKey(region, logGroupName)),
  });

  // Work items in plan order (internet-facing and production VPCs first): every flow log to create
  // (CloudWatch Logs, then S3), then log-group repairs that no new flow log depends on.
  const flowLogs = actions.filter((action): action is FlowLogAction => action.kind === "create-flow-log");
  const groups = logGroupsOf(actions);
  const items: (() => Promise<void>)[] = [
    ...flowLogs.map((flowLog) => async () => {
      const steps = groupSteps(flowLog.region, flowLog.logGroupName);
      await runOnce(steps.create);
      await Promise.all([runOnce(steps.retention, wasStarted(steps.create)), runOnce(flowLog)]);
    }),
    // S3 flow logs need no role or log group: nothing to wait for.
    ...actions
      .filter((action) => action.kind === "create-s3-flow-log")
      .map((action) => () => runOnce(action)),
    ...[...groups].map(([name, region]) => async () => {
      const steps = groupSteps(region, name);
      await runOnce(steps.create);
      await runOnce(steps.retention, wasStarted(steps.create));
      await runOnce(steps.kmsKey);
    }),
  ];
  await mapWithConcurrency(items, options.concurrency, (item) => item());
  const finishers = new Set(actions.map((action) => handlerOf(action).finishRegion));
  for (const finish of finishers) await finish?.(context);
}

/** The actions on a log group itself (not a flow log into it). */
const LOG_GROUP_KINDS = new Set<Action["kind"]>([
  "create-log-group",
  "put-retention-policy",
  "associate-kms-key",
]);

/** Each log group the actions change, by name, with its region. */
function logGroupsOf(actions: readonly Action[]): Map<string, string> {
  return new Map(
    actions.flatMap((action) =>
      LOG_GROUP_KINDS.has(action.kind) && "logGroupName" in action
        ? [[action.logGroupName, action.region]]
        : [],
    ),
  );
}
