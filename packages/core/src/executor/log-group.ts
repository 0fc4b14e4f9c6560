import {
  CreateLogGroupCommand,
  ListTagsForResourceCommand,
  PutRetentionPolicyCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import { awsErrorName } from "../errors.ts";
import { readLogGroups } from "../inventory.ts";
import { createdByRun, creationTags, logGroupArn } from "../naming.ts";
import type { Action } from "../plan.ts";
import { type RetryOptions, retryWithBackoff } from "../retry.ts";
import type { ActionContext, ActionHandler } from "./context.ts";
import { type ChangeSite, failureOf } from "./run-state.ts";

type CreateLogGroup = Extract<Action, { kind: "create-log-group" }>;
type PutRetention = Extract<Action, { kind: "put-retention-policy" }>;

/** The key of the action that creates a region's log group (the planner's key). */
export function logGroupActionKey(region: string, logGroupName: string): string {
  return `log-group:${region}:${logGroupName}`;
}

/** A log group's record site: its VPC when only one uses it, else none (a shared change). */
export function logGroupSite(
  context: ActionContext,
  action: { region: string; logGroupName: string; vpcIds: readonly string[] },
): ChangeSite {
  return {
    region: action.region,
    vpcId: action.vpcIds.length === 1 ? (action.vpcIds[0] ?? null) : null,
    target: {
      type: "log-group",
      id: action.logGroupName,
      arn: logGroupArn(context.plan.partition, action.region, context.plan.account, action.logGroupName),
    },
  };
}

/** Retries the named (transient) AWS errors with backoff for up to 30 s. */
export function retryOn(context: ActionContext, errorNames: string[]): RetryOptions {
  return {
    retryable: (error) => errorNames.includes(awsErrorName(error) ?? ""),
    timeoutMs: 30_000,
    sleep: context.sleep,
  };
}

/** CreateLogGroup (tagged, with the policy's KMS key); one that exists already is left as it is. */
export const createLogGroup: ActionHandler<CreateLogGroup> = {
  scope: "region",
  run: async (context, action) => {
    const site = logGroupSite(context, action);
    try {
      await retryWithBackoff(
        () =>
          context.clients.logs.send(
            new CreateLogGroupCommand({
              logGroupName: action.logGroupName,
              kmsKeyId: action.kmsKeyArn,
              tags: Object.fromEntries(
                creationTags(context.trigger.runId).map((tag) => [tag.Key, tag.Value]),
              ),
            }),
          ),
        retryOn(context, ["OperationAbortedException"]),
      );
      context.state.settle(action, site, created(action));
    } catch (error) {
      if (awsErrorName(error) !== "ResourceAlreadyExistsException") {
        context.state.settle(action, site, failureOf(error));
        return;
      }
      // An earlier attempt of this run may have made it (its response was lost): its run tag says so.
      // If the tags cannot be read now, the failure is settled (retryable), and a later pass asks again.
      try {
        const ours = await groupCreatedByRun(context, site.target.arn ?? "");
        context.state.settle(action, site, ours ? created(action) : { status: "unchanged" });
      } catch (tagError) {
        context.state.settle(action, site, failureOf(tagError));
      }
    }
  },
};

/** PutRetentionPolicy, never lowering a retention: the group is read again right before the change. */
export const putRetentionPolicy: ActionHandler<PutRetention> = {
  scope: "region",
  blockedBy: (context, action) => {
    const failure = context.state.failureOf(logGroupActionKey(action.region, action.logGroupName));
    return failure === undefined ? undefined : `log group was not created: ${failure}`;
  },
  run: async (context, action) => {
    const site = logGroupSite(context, action);
    try {
      const before = await retentionBefore(context, action);
      if (before === "unchanged") {
        context.state.settle(action, site, { status: "unchanged" });
        return;
      }
      await retryWithBackoff(
        () =>
          context.clients.logs.send(
            new PutRetentionPolicyCommand({
              logGroupName: action.logGroupName,
              retentionInDays: action.retentionDays,
            }),
          ),
        // Right after CreateLogGroup the group may not be visible yet (eventual consistency).
        retryOn(context, ["ResourceNotFoundException", "OperationAbortedException"]),
      );
      context.state.settle(action, site, {
        status: "applied",
        before: { retentionInDays: before },
        after: { retentionInDays: action.retentionDays },
      });
    } catch (error) {
      context.state.settle(action, site, failureOf(error));
    }
  },
};

/**
 * The retention to record as "before": none for a group this run just created, or for a managed one
 * left never expiring (null: never expire); otherwise the group's current one, read right now so that
 * a concurrent change is respected, or "unchanged" when it is already as long as (or longer than) the
 * policy's.
 */
async function retentionBefore(
  context: ActionContext,
  action: PutRetention,
): Promise<number | null | "unchanged"> {
  const creation = context.state.outcomes.get(logGroupActionKey(action.region, action.logGroupName));
  if (action.newGroup && creation?.status === "applied") return null;
  const current = (await readLogGroups(context.clients, action.logGroupName)).find(
    (group) => group.name === action.logGroupName,
  );
  if (!current) throw new Error(`log group ${action.logGroupName} no longer exists`);
  // A group that never expires is given a retention only when the plan found it managed and younger
  // than the retention (see evaluation.ts): then no event can be lost.
  if (current.retentionInDays === undefined)
    return action.before === null && !action.newGroup ? null : "unchanged";
  if (current.retentionInDays >= action.retentionDays) return "unchanged";
  return current.retentionInDays;
}

function created(action: CreateLogGroup) {
  return {
    status: "applied" as const,
    before: null,
    after: { logGroupName: action.logGroupName, kmsKeyArn: action.kmsKeyArn ?? null },
  };
}

/** True when the log group carries this run's tag: this run created it. */
async function groupCreatedByRun(context: ActionContext, arn: string): Promise<boolean> {
  const { tags } = await context.clients.logs.send(new ListTagsForResourceCommand({ resourceArn: arn }));
  return createdByRun(
    Object.entries(tags ?? {}).map(([Key, Value]) => ({ Key, Value })),
    context.trigger.runId,
  );
}
