import type { AwsClients } from "../aws-clients.ts";
import type { Logger, Trigger } from "../change-records.ts";
import type { Action, ActionKind, Plan } from "../plan.ts";
import type { Sleep } from "../retry.ts";
import type { FlowLogAction, FlowLogTarget } from "./flow-log-targets.ts";
import type { RunState } from "./run-state.ts";

/** What every action handler gets: the plan's account, the run's state, and its injected I/O. */
export interface RunContext {
  plan: Pick<Plan, "account" | "partition">;
  state: RunState;
  trigger: Trigger;
  sleep: Sleep;
  log: Logger;
  iamPropagationTimeoutMs: number;
  /** True once no new change may start (time limit, Ctrl-C); also ends the wait for a new role. */
  shouldStop?: (() => boolean) | undefined;
  /** The run's time limit (epoch ms): no retry waits past it (the IAM-propagation retry included). */
  deadline?: number | undefined;
  /** What the role handlers learnt about the delivery role (shared by every region). */
  role: DeliveryRoleState;
}

export interface DeliveryRoleState {
  /** Why the delivery role is not ready (a role action failed); blocks every flow log. */
  problem: string | undefined;
  /** Another run created the role at the same moment as this one. */
  createdByOtherRun: boolean;
}

/** A flow log this run created, waiting for the region's read-back. */
export interface CreatedFlowLog {
  action: FlowLogAction;
  /** What it is attached to: a VPC, or a subnet and its VPC. */
  target: FlowLogTarget;
  flowLogId: string;
}

/** The clients an action uses: its region's (or, for IAM, the home region's). */
export interface ActionContext extends RunContext {
  clients: AwsClients;
  /** Flow logs created in this region, read back together once the region's actions are done. */
  created: CreatedFlowLog[];
}

/**
 * One entry per action kind, as Cloud Custodian registers one class per action: where it runs, what
 * must not have failed before it, and how it runs. A handler settles its action through
 * `context.state` (outcome and change record in one call).
 */
export interface ActionHandler<A extends Action = Action> {
  /** "account": runs first, in plan order, with the home region's clients (IAM); "region": in its region's pipeline. */
  scope: "account" | "region";
  /** Why the action cannot run (a dependency failed), or undefined when it can. */
  blockedBy?: (context: ActionContext, action: A) => string | undefined;
  /**
   * Resources (VPCs, or subnets in Subnet mode) the action settles one by one (create-flow-log), so a
   * skip covers each of them; `narrowTo` keeps only some of them (a further pass).
   */
  resourceIdsOf?: (action: A) => readonly string[];
  narrowTo?: (action: A, resourceIds: readonly string[]) => A;
  run: (context: ActionContext, action: A) => Promise<void>;
  /** Runs once a region's actions are done (read-back of what the region created). */
  finishRegion?: (context: ActionContext) => Promise<void>;
}

export type ActionHandlers = { [K in ActionKind]: ActionHandler<Extract<Action, { kind: K }>> };
