import type { AwsClients } from "../aws-clients.ts";
import type { ChangeRecord, Logger, Trigger } from "../change-records.ts";
import type { Action } from "../plan.ts";
import type { Sleep } from "../retry.ts";

export interface ExecutorOptions {
  /** SDK clients for a region (built once per region by the caller). */
  clientsFor: (region: string) => AwsClients;
  /** Region whose clients make the account's IAM calls. */
  homeRegion: string;
  trigger: Trigger;
  now?: (() => Date) | undefined;
  sleep?: Sleep | undefined;
  /** How long to retry CreateFlowLogs while a new role propagates ("Unable to assume given IAM role"). */
  iamPropagationTimeoutMs?: number | undefined;
  /** Actions in flight at once, per region. */
  concurrency?: number | undefined;
  /** Checked before each action starts; true skips the rest (Lambda time limit). */
  shouldStop?: (() => boolean) | undefined;
  /**
   * Until when (epoch ms) work that failed for a retryable reason gets further passes, with backoff;
   * no wait goes past it (the IAM-propagation retry of CreateFlowLogs included). Absent: one pass only.
   */
  deadline?: number | undefined;
  /** Called when a further pass starts: its number and how much work it retries (progress, logs). */
  onPass?: ((pass: number, work: number) => void) | undefined;
  /**
   * Called with each change record as soon as it is written, with the number written so far
   * (progress displays, and publishing records while the run goes on).
   */
  onRecord?: ((record: ChangeRecord, recordsSoFar: number) => void) | undefined;
  log?: Logger | undefined;
}

/**
 * What became of an action. `applied` and `failed` outcomes come with exactly one change record
 * (per VPC for flow logs), written by the same call; `unchanged` and `skipped` ones have none.
 */
export type ActionStatus = "applied" | "unchanged" | "failed" | "skipped";

export interface VpcActionOutcome {
  status: ActionStatus;
  flowLogId?: string | undefined;
  error?: string | undefined;
  /** A failure worth another pass (throttling, 5xx, a dropped connection). */
  retryable?: boolean | undefined;
}

export interface ActionOutcome {
  key: string;
  kind: Action["kind"];
  status: ActionStatus;
  error?: string | undefined;
  /** A failure worth another pass (throttling, 5xx, a dropped connection). */
  retryable?: boolean | undefined;
  /** For create-flow-log: what happened to each VPC of the batch. */
  perVpc?: Map<string, VpcActionOutcome> | undefined;
}

export interface ExecutionResult {
  outcomes: Map<string, ActionOutcome>;
  records: ChangeRecord[];
  /** Passes over the plan: 1, plus one for each retry of the work that failed for a retryable reason. */
  passes: number;
  /** Actions (per VPC, for flow logs) tried again in a later pass. */
  retriedWork: number;
}
