import type { Action } from "../plan.ts";
import type { ActionContext, ActionHandler, ActionHandlers } from "./context.ts";
import { createFlowLog } from "./flow-log.ts";
import { associateKmsKey } from "./kms-key.ts";
import { createLogGroup, putRetentionPolicy } from "./log-group.ts";
import {
  createRole,
  deleteRolePermissionsBoundary,
  detachRolePolicy,
  putRolePermissionsBoundary,
  putRolePolicy,
  updateRoleTrust,
} from "./role.ts";
import { createS3FlowLog } from "./s3-flow-log.ts";

/**
 * Every action kind and the module that runs it. A new kind (an S3 destination, a subnet flow log)
 * is one module and one line here; the type makes a missing kind a compile error.
 */
export const ACTION_HANDLERS: ActionHandlers = {
  "create-role": createRole,
  "update-role-trust": updateRoleTrust,
  "put-role-policy": putRolePolicy,
  "detach-role-policy": detachRolePolicy,
  "delete-role-permissions-boundary": deleteRolePermissionsBoundary,
  "put-role-permissions-boundary": putRolePermissionsBoundary,
  "create-log-group": createLogGroup,
  "put-retention-policy": putRetentionPolicy,
  "associate-kms-key": associateKmsKey,
  "create-flow-log": createFlowLog,
  "create-s3-flow-log": createS3FlowLog,
};

/** The handler of an action's kind. */
export function handlerOf(action: Action): ActionHandler {
  // The table pairs each kind with its own handler; TypeScript cannot follow that through the lookup.
  return ACTION_HANDLERS[action.kind] as unknown as ActionHandler;
}

/** Runs an action, or skips it (each of its VPCs, if it has them) when something it needs failed. */
export async function runAction(context: ActionContext, action: Action): Promise<void> {
  const handler = handlerOf(action);
  const blocker = handler.blockedBy?.(context, action);
  if (blocker !== undefined) {
    context.state.skip(action, blocker, handler.resourceIdsOf?.(action));
    return;
  }
  await handler.run(context, action);
}

/** Skips an action because the run's time limit came first. */
export function skipForTimeLimit(context: ActionContext, action: Action): void {
  context.state.skip(
    action,
    "not started: the run stopped before its time limit",
    handlerOf(action).resourceIdsOf?.(action),
  );
}
