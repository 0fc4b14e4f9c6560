import { type ChangeRecord, type Logger, newChangeRecord, type Trigger } from "../change-records.ts";
import { describeError, isRetryableError } from "../errors.ts";
import type { Action, Plan } from "../plan.ts";
import type { ActionOutcome, ActionStatus, VpcActionOutcome } from "./types.ts";

/** Where a change is made: the part of its change record that the action knows. */
export interface ChangeSite {
  /** The change's region; "global" for IAM. */
  region: string;
  vpcId: string | null;
  /** Subnet mode: the subnet a flow log is attached to (the record names it and its VPC). */
  subnetId?: string;
  target: ChangeRecord["target"];
}

/** How an action (or one VPC of it) ended. Applied and failed ones get a change record. */
export type Settlement =
  | { status: "applied"; before: unknown; after: unknown; flowLogId?: string | undefined }
  | { status: "failed"; error: string; flowLogId?: string | undefined; retryable?: boolean | undefined }
  | { status: "unchanged"; flowLogId?: string | undefined }
  | { status: "skipped"; error: string };

export interface RunStateOptions {
  plan: Pick<Plan, "account">;
  trigger: Trigger;
  now: () => Date;
  log: Logger;
  onRecord?: ((record: ChangeRecord, recordsSoFar: number) => void) | undefined;
}

/**
 * The one writer of a run's outcomes and change records. Each call settles an action (or one VPC of
 * it) and writes its record in the same step, so the report (outcomes) and the ledger (records)
 * cannot disagree. Records go to `onRecord` as they are written.
 */
export class RunState {
  readonly outcomes = new Map<string, ActionOutcome>();
  readonly records: ChangeRecord[] = [];
  private readonly options: RunStateOptions;
  /**
   * Retryable failures whose record waits for the run's last pass: a later pass that succeeds
   * settles them again, so the ledger holds one record per change, not one per attempt.
   */
  private readonly deferred = new Map<string, { action: Action; site: ChangeSite; settlement: Settlement }>();
  /** True while later passes may still settle a retryable failure (set by the executor). */
  deferRetryableFailures = false;

  constructor(options: RunStateOptions) {
    this.options = options;
  }

  /** Settles an action with a single target (a role, a log group). */
  settle(action: Action, site: ChangeSite, settlement: Settlement): void {
    const error = "error" in settlement ? settlement.error : undefined;
    const retryable = (settlement.status === "failed" && settlement.retryable === true) || undefined;
    this.outcomes.set(action.key, {
      key: action.key,
      kind: action.kind,
      status: settlement.status,
      error,
      retryable,
    });
    this.write(action, site, settlement);
  }

  /**
   * Settles one VPC (or, in Subnet mode, one subnet: `site.subnetId`) of a per-VPC action
   * (create-flow-log); the action's status follows its VPCs.
   */
  settleVpc(action: Action, site: ChangeSite & { vpcId: string }, settlement: Settlement): void {
    const outcome = this.perVpcOutcome(action);
    outcome.perVpc.set(site.subnetId ?? site.vpcId, {
      status: settlement.status,
      flowLogId: "flowLogId" in settlement ? settlement.flowLogId : undefined,
      error: "error" in settlement ? settlement.error : undefined,
      retryable: (settlement.status === "failed" && settlement.retryable === true) || undefined,
    });
    Object.assign(outcome, summarise(outcome.perVpc));
    this.write(action, site, settlement);
  }

  /** Skips an action that does not run (time limit, failed dependency); per-VPC actions skip each VPC. */
  skip(action: Action, reason: string, vpcIds?: readonly string[]): void {
    if (!vpcIds) {
      this.outcomes.set(action.key, { key: action.key, kind: action.kind, status: "skipped", error: reason });
      return;
    }
    const outcome = this.perVpcOutcome(action);
    for (const vpcId of vpcIds) outcome.perVpc.set(vpcId, { status: "skipped", error: reason });
    Object.assign(outcome, summarise(outcome.perVpc));
  }

  /** The error of a failed action, or undefined when it did not fail (or has not run). */
  failureOf(key: string): string | undefined {
    const outcome = this.outcomes.get(key);
    return outcome?.status === "failed" ? (outcome.error ?? "failed") : undefined;
  }

  private perVpcOutcome(action: Action): ActionOutcome & { perVpc: Map<string, VpcActionOutcome> } {
    const existing = this.outcomes.get(action.key);
    if (existing?.perVpc) return existing as ActionOutcome & { perVpc: Map<string, VpcActionOutcome> };
    const created = {
      key: action.key,
      kind: action.kind,
      status: "unchanged" as ActionStatus,
      perVpc: new Map(),
    };
    this.outcomes.set(action.key, created);
    return created;
  }

  /** Writes the records of retryable failures no later pass fixed (the run's last step). */
  flushDeferredFailures(): void {
    this.deferRetryableFailures = false;
    const waiting = [...this.deferred.values()];
    this.deferred.clear();
    for (const { action, site, settlement } of waiting) this.write(action, site, settlement);
  }

  private write(action: Action, site: ChangeSite, settlement: Settlement): void {
    const deferKey = `${action.key}|${site.vpcId ?? ""}|${site.subnetId ?? ""}`;
    this.deferred.delete(deferKey);
    if (settlement.status === "failed" && settlement.retryable && this.deferRetryableFailures) {
      this.deferred.set(deferKey, { action, site, settlement });
      return;
    }
    if (settlement.status === "failed") {
      this.options.log.warn("remediation action failed", { action: action.key, error: settlement.error });
    }
    if (settlement.status !== "applied" && settlement.status !== "failed") return;
    const common = {
      actionKey: action.key,
      time: this.options.now().toISOString(),
      account: this.options.plan.account,
      action: action.kind,
      reason: action.reason,
      trigger: this.options.trigger,
      ...site,
    };
    const record = newChangeRecord(
      settlement.status === "applied"
        ? { ...common, outcome: "applied", before: settlement.before, after: settlement.after }
        : { ...common, outcome: "failed", error: settlement.error, before: null, after: null },
    );
    this.records.push(record);
    this.options.onRecord?.(record, this.records.length);
  }
}

/** A per-VPC action's status: failed if any VPC failed, else applied if any was, else skipped or unchanged. */
function summarise(
  perVpc: Map<string, VpcActionOutcome>,
): Pick<ActionOutcome, "status" | "error" | "retryable"> {
  const outcomes = [...perVpc.values()];
  const first = (status: ActionStatus) => outcomes.find((outcome) => outcome.status === status);
  const failed = first("failed");
  if (failed) return { status: "failed", error: failed.error, retryable: failed.retryable };
  if (first("applied")) return { status: "applied", error: undefined, retryable: undefined };
  const skipped = first("skipped");
  if (skipped) return { status: "skipped", error: skipped.error, retryable: undefined };
  return { status: "unchanged", error: undefined, retryable: undefined };
}

/** A failed settlement for an error: its description, and whether a later pass may fix it. */
export function failureOf(error: unknown, flowLogId?: string): Settlement {
  return { status: "failed", error: describeError(error), retryable: isRetryableError(error), flowLogId };
}
