import { silentLogger } from "../change-records.ts";
import type { Action, Plan } from "../plan.ts";
import { mapWithConcurrency, realSleep } from "../retry.ts";
import { handlerOf, runAction } from "./action-kinds.ts";
import type { ActionContext, RunContext } from "./context.ts";
import { passDelayMs, retryableWork } from "./passes.ts";
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
 * Work that failed for a retryable reason (throttling, 5xx, a dropped connection) gets further passes
 * with backoff until `deadline`. Never deletes anything and never lowers a retention. Every outcome
 * and its change record are written together (see `RunState`).
 */
export async function executePlan(plan: Plan, options: ExecutorOptions): Promise<ExecutionResult> {
  const log = options.log ?? silentLogger;
  const now = options.now ?? (() => new Date());
  const state = new RunState({ plan, trigger: options.trigger, now, log, onRecord: options.onRecord });
  const run: RunContext = {
    plan,
    state,
    trigger: options.trigger,
    sleep: options.sleep ?? realSleep,
    log,
    iamPropagationTimeoutMs: options.iamPropagationTimeoutMs ?? 120_000,
    shouldStop: options.shouldStop,
    deadline: options.deadline,
    role: { problem: undefined, createdByOtherRun: false },
  };
  state.deferRetryableFailures = options.deadline !== undefined;
  await executePass(run, plan.actions, options);
  let passes = 1;
  let retriedWork = 0;
  for (;;) {
    const again = retryableWork(plan.actions, state.outcomes);
    if (again.length === 0 || options.deadline === undefined || options.shouldStop?.()) break;
    const delay = passDelayMs(passes + 1);
    if (now().getTime() + delay >= options.deadline) break;
    await run.sleep(delay);
    passes++;
    retriedWork += again.reduce((sum, action) => sum + workItems(action), 0);
    log.info("retrying work that failed for a retryable reason", { pass: passes, actions: again.length });
    options.onPass?.(passes, again.length);
    // A role action tried again may succeed: its earlier failure no longer blocks the flow logs.
    if (again.some((action) => handlerOf(action).scope === "account")) run.role.problem = undefined;
    await executePass(run, again, options);
  }
  state.flushDeferredFailures();
  return { outcomes: state.outcomes, records: state.records, passes, retriedWork };
}

function workItems(action: Action): number {
  return handlerOf(action).resourceIdsOf?.(action).length ?? 1;
}

/** One pass: account-wide actions in plan order, then each region's pipeline, four regions at once. */
async function executePass(run: RunContext, actions: readonly Action[], options: ExecutorOptions) {
  const home: ActionContext = { ...run, clients: options.clientsFor(options.homeRegion), created: [] };
  for (const action of actions) {
    if (handlerOf(action).scope === "account") await runAction(home, action);
  }
  const byRegion = new Map<string, Action[]>();
  for (const action of actions) {
    if (!("region" in action)) continue;
    const regionActions = byRegion.get(action.region) ?? [];
    if (regionActions.length === 0) byRegion.set(action.region, regionActions);
    regionActions.push(action);
  }
  await mapWithConcurrency([...byRegion], 4, ([region, regionActions]) =>
    executeRegion(run, options.clientsFor(region), regionActions, {
      concurrency: options.concurrency ?? 8,
      shouldStop: options.shouldStop,
    }),
  );
}
