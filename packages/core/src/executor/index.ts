import { silentLogger } from "../change-records.ts";
import type { Action, Plan } from "../plan.ts";
import { mapWithConcurrency, realSleep } from "../retry.ts";
import { handlerOf, runAction } from "./action-kinds.ts";
import type { ActionContext, RunContext } from "./context.ts";
import { executeRegion } from "./region.ts";
import { RunState } from "./run-state.ts";
import type { ExecutionResult, ExecutorOptions } from "./types.ts";

export type {
  ActionOutcome,
  ActionStatus,
  ExecutionResult,
  ExecutorOptions,
  VpcActionOutcome,
} from "./types.ts";

/**
 * Applies a plan through the given clients. For each action: read the current state, skip it if it
 * is already right, apply it, and read back. Account-wide actions (the delivery role) run first, then
 * up to four regions at once. A failed action fails only the VPCs that depend on it; the run goes on.
 * Never deletes anything and never lowers a retention. Every outcome and its change record are
 * written together (see `RunState`).
 */
export async function executePlan(plan: Plan, options: ExecutorOptions): Promise<ExecutionResult> {
  const log = options.log ?? silentLogger;
  const state = new RunState({
    plan,
    trigger: options.trigger,
    now: options.now ?? (() => new Date()),
    log,
    onRecord: options.onRecord,
  });
  const run: RunContext = {
    plan,
    state,
    trigger: options.trigger,
    sleep: options.sleep ?? realSleep,
    log,
    iamPropagationTimeoutMs: options.iamPropagationTimeoutMs ?? 120_000,
    role: { problem: undefined, createdByOtherRun: false },
  };
  const home: ActionContext = { ...run, clients: options.clientsFor(options.homeRegion), created: [] };
  for (const action of plan.actions) {
    if (handlerOf(action).scope === "account") await runAction(home, action);
  }
  const byRegion = new Map<string, Action[]>();
  for (const action of plan.actions) {
    if (!("region" in action)) continue;
    const actions = byRegion.get(action.region) ?? [];
    if (actions.length === 0) byRegion.set(action.region, actions);
    actions.push(action);
  }
  await mapWithConcurrency([...byRegion], 4, ([region, actions]) =>
    executeRegion(run, options.clientsFor(region), actions, {
      concurrency: options.concurrency ?? 8,
      shouldStop: options.shouldStop,
    }),
  );
  return { outcomes: state.outcomes, records: state.records };
}
