import type { Action } from "../plan.ts";
import { handlerOf } from "./action-kinds.ts";
import type { ActionOutcome } from "./types.ts";

const TIME_LIMIT_SKIP = /^not started: the run stopped/;

/**
 * The work a further pass retries: every action that failed for a retryable reason (for per-VPC
 * actions, narrowed to those VPCs), and what was skipped because something it needed failed.
 * Nothing when no failure is retryable: skips behind a lasting failure would only be skipped again.
 */
export function retryableWork(
  actions: readonly Action[],
  outcomes: ReadonlyMap<string, ActionOutcome>,
): Action[] {
  const again: Action[] = [];
  let anyRetryable = false;
  for (const action of actions) {
    const outcome = outcomes.get(action.key);
    if (!outcome) continue;
    const handler = handlerOf(action);
    const perVpc = handler.resourceIdsOf ? outcome.perVpc : undefined;
    if (perVpc && handler.resourceIdsOf && handler.narrowTo) {
      const ids = handler.resourceIdsOf(action).filter((id) => worthAnotherPass(perVpc.get(id)));
      anyRetryable ||= ids.some((id) => perVpc.get(id)?.retryable === true);
      if (ids.length > 0) again.push(handler.narrowTo(action, ids));
    } else if (worthAnotherPass(outcome)) {
      anyRetryable ||= outcome.retryable === true;
      again.push(action);
    }
  }
  return anyRetryable ? again : [];
}

function worthAnotherPass(
  outcome: { status: string; error?: string | undefined; retryable?: boolean | undefined } | undefined,
) {
  if (!outcome) return false;
  if (outcome.status === "failed") return outcome.retryable === true;
  return outcome.status === "skipped" && !TIME_LIMIT_SKIP.test(outcome.error ?? "");
}

/**
 * The wait before pass `pass` (2, 3, ...): exponential from 1 s, at most 10 s (AWS's buckets refill
 * every second; the SDK has already backed off within each call), with jitter.
 */
export function passDelayMs(pass: number, random: () => number = Math.random): number {
  const ceiling = Math.min(10_000, 1_000 * 2 ** (pass - 2));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
