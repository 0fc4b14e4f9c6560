import type { ClientPool } from "./aws-clients.ts";
import {
  type ChangeRecord,
  checkLedgerBus,
  type Logger,
  type PublishResult,
  silentLogger,
  type Trigger,
} from "./change-records.ts";
import type { Policy } from "./config.ts";
import { ConfigError, describeError } from "./errors.ts";
import { type ExecutionResult, executePlan } from "./executor/index.ts";
import {
  type AccountIdentity,
  readAccountIdentity,
  readDeliveryRole,
  readRegionInventory,
} from "./inventory.ts";
import { kmsKeyCoverageProblems } from "./kms-keys.ts";
import { LedgerPublisher } from "./ledger-publisher.ts";
import type { RegionInventory, VpcFacts } from "./model.ts";
import type { Plan } from "./plan.ts";
import { planRemediation } from "./planner.ts";
import { buildReport, type RegionOutcome, type RunMode, type RunReport } from "./report.ts";
import { mapWithConcurrency, type Sleep } from "./retry.ts";
import { ledgerRegionOf } from "./service-policy.ts";

export interface RunOptions {
  policy: Policy;
  /** Regions to cover. */
  regions: string[];
  mode: RunMode;
  trigger: Trigger;
  pool: ClientPool;
  /** Who this run is, when the caller already knows (the event handler caches it); read through STS otherwise. */
  identity?: AccountIdentity;
  /** Region whose clients make account-wide calls (STS, IAM, the ledger bus). Default: the first region. */
  homeRegion?: string;
  /** Only these VPCs (event-driven runs); all VPCs when absent. */
  vpcIds?: string[];
  /** Leaves VPCs out of the run (CLI filters: excluded ids, required tags); all VPCs when absent. */
  vpcFilter?: (vpc: VpcFacts) => boolean;
  /** Check and repair the delivery role even if no VPC in this run needs it (IAM events). */
  ensureRole?: boolean;
  /** Regions inventoried at once. */
  regionConcurrency?: number;
  /** Actions in flight at once per region. */
  concurrency?: number;
  /**
   * Checked before each region and each change starts, and while CreateFlowLogs waits for a new role
   * to propagate; true stops the run cleanly (Lambda time limit, Ctrl-C): changes in flight finish,
   * their records are published, and what was not started is reported.
   */
  shouldStop?: () => boolean;
  /**
   * Called in `fix` mode once the plan is made and before the first change (confirmation prompts,
   * checks that must pass before anything changes). False: change nothing, report as a dry run.
   */
  beforeChanges?: (plan: Plan) => boolean | Promise<boolean>;
  /**
   * `fix` mode with a ledger bus: check the bus exists (DescribeEventBus) before anything is read or
   * changed, and throw a ConfigError if it does not (the CLI). Off: records that cannot be delivered
   * are reported as undelivered (the Lambda, whose stack creates the bus).
   */
  requireLedgerBus?: boolean;
  /**
   * Until when (epoch ms) work that failed for a retryable reason (throttling, 5xx, dropped
   * connections) gets further passes, with backoff; no retry waits past it, the IAM-propagation
   * retry included. Absent: one pass (the CLI's --deadline, the Lambda's remaining time).
   */
  deadline?: number | undefined;
  /**
   * Each change record as it is written (besides the run's own ledger bus): organization runs and
   * member events publish them centrally while the run goes on.
   */
  onRecord?: (record: ChangeRecord) => void;
  /** Called as regions finish and changes are made (progress bars). */
  onProgress?: (progress: {
    regionsDone: number;
    regions: number;
    vpcsEvaluated: number;
    changes: number;
  }) => void;
  now?: () => Date;
  sleep?: Sleep;
  iamPropagationTimeoutMs?: number;
  log?: Logger;
}

/**
/**
 * With KMS keys configured, a run whose regions are not all given a key is refused before any AWS
 * call: CloudWatch Logs takes only a key of the log group's own region, so the run would fail there.
 */
export function refuseUncoveredKmsRegions(
  policy: Pick<Policy, "kmsKeyArn">,
  regions: readonly string[],
): void {
  const problems = kmsKeyCoverageProblems(policy.kmsKeyArn, regions);
  if (problems.length === 0) return;
  throw new ConfigError(
    `Invalid flowlog-guard settings, nothing was changed:\n${problems.map((p) => `  - ${p}`).join("\n")}`,
    problems,
  );
}

/**
 * One remediation run for one account: read every region's inventory, plan, and (in `fix` mode)
 * apply the plan and publish its change records. A region that cannot be read is reported and
 * the others go on; only identity (credential) errors stop the run.
 *
 * @example
 * const report = await runRemediation({ policy, regions: ["eu-west-1"], mode: "scan", trigger, pool });
 * report.summary.nonCompliant;
 */
export async function runRemediation(options: RunOptions): Promise<RunReport> {
  refuseUncoveredKmsRegions(options.policy, options.regions);
  const started = Date.now();
  const now = options.now ?? (() => new Date());
  const homeRegion = options.homeRegion ?? options.regions[0] ?? "us-east-1";
  const home = options.pool.clientsFor(homeRegion);
  await requireLedgerBus(options, homeRegion);
  const identity = options.identity ?? (await readAccountIdentity(home));
  const progress = new RunProgress(options);
  // The role and the regions are read side by side (an account's fixed cost is a few round trips).
  // An S3 destination has no delivery role: not read (its service policy grants no IAM action).
  const [role, read] = await Promise.all([
    options.policy.destinationType === "s3"
      ? { exists: false }
      : readDeliveryRole(home, options.policy.roleName),
    readRegions(options, identity.accountId, progress),
  ]);
  const plan = planRemediation({ ...identity, role, regions: read.inventories }, options.policy, now(), {
    ensureRole: options.ensureRole ?? false,
  });
  let mode = options.mode;
  if (
    mode === "fix" &&
    plan.actions.length > 0 &&
    options.beforeChanges &&
    !(await options.beforeChanges(plan))
  )
    mode = "dry-run";
  const applied =
    mode === "fix" && plan.actions.length > 0
      ? await applyPlan(plan, options, homeRegion, now, progress)
      : {};
  return buildReport({
    mode,
    plan,
    regions: options.regions,
    ...applied,
    regionOutcomes: read.outcomes,
    apiCalls: options.pool.counter.total,
    apiRetries: options.pool.counter.retryAttempts,
    durationMs: Date.now() - started,
  });
}

/** Progress as regions finish and changes are made (progress bars). */
class RunProgress {
  regionsDone = 0;
  vpcsEvaluated = 0;
  private readonly options: RunOptions;

  constructor(options: RunOptions) {
    this.options = options;
  }

  report(changes = 0): void {
    const { regionsDone, vpcsEvaluated } = this;
    this.options.onProgress?.({ regionsDone, regions: this.options.regions.length, vpcsEvaluated, changes });
  }
}

/**
 * Reads each region's inventory, a few regions at once. Each region gets one typed outcome, in the
 * order given: `done`, `read-failed` (with the error), or `not-started` (the run's time limit came
 * first; not an error).
 */
async function readRegions(
  options: RunOptions,
  accountId: string,
  progress: RunProgress,
): Promise<{ inventories: RegionInventory[]; outcomes: RegionOutcome[] }> {
  const log = options.log ?? silentLogger;
  const inventories: RegionInventory[] = [];
  const outcomes = await mapWithConcurrency(
    options.regions,
    options.regionConcurrency ?? 4,
    async (region): Promise<RegionOutcome> => {
      if (options.shouldStop?.()) return { account: accountId, region, kind: "not-started" };
      let outcome: RegionOutcome;
      try {
        const inventory = await readRegionInventory(options.pool.clientsFor(region), {
          accountId,
          policy: options.policy,
          vpcIds: options.vpcIds,
        });
        const filter = options.vpcFilter;
        const kept = filter ? { ...inventory, vpcs: inventory.vpcs.filter(filter) } : inventory;
        inventories.push(kept);
        progress.vpcsEvaluated += kept.vpcs.length;
        outcome = { account: accountId, region, kind: "done" };
      } catch (error) {
        log.warn("region could not be read", { region, error: describeError(error) });
        outcome = { account: accountId, region, kind: "read-failed", error: describeError(error) };
      }
      progress.regionsDone++;
      progress.report();
      return outcome;
    },
  );
  inventories.sort((a, b) => options.regions.indexOf(a.region) - options.regions.indexOf(b.region));
  return { inventories, outcomes };
}

/**
 * Fix mode: applies the plan, publishing its change records to the ledger bus as they are written
 * (batched; see `LedgerPublisher`), and flushes the rest once the run stops, even when it throws.
 */
async function applyPlan(
  plan: Plan,
  options: RunOptions,
  homeRegion: string,
  now: () => Date,
  progress: RunProgress,
): Promise<{ execution: ExecutionResult; publish: PublishResult }> {
  const log = options.log ?? silentLogger;
  const bus = options.policy.ledgerBus;
  const ledger = new LedgerPublisher({
    clients: options.pool.clientsFor(bus ? ledgerRegionOf(bus, homeRegion) : homeRegion),
    bus,
    log,
    sleep: options.sleep,
    retryUntil: options.deadline,
  });
  let execution: ExecutionResult;
  try {
    execution = await executePlan(plan, {
      clientsFor: (region) => options.pool.clientsFor(region),
      homeRegion,
      trigger: options.trigger,
      now,
      sleep: options.sleep,
      iamPropagationTimeoutMs: options.iamPropagationTimeoutMs,
      concurrency: options.concurrency,
      shouldStop: options.shouldStop,
      deadline: options.deadline,
      onPass: (pass, work) => log.info("further pass", { pass, work }),
      onRecord: (record, records) => {
        ledger.add(record);
        options.onRecord?.(record);
        progress.report(records);
      },
      log,
    });
  } finally {
    await ledger.flush();
  }
  progress.report(execution.records.length);
  return { execution, publish: await ledger.close() };
}

/** With `requireLedgerBus`, a `fix` run whose ledger bus is missing stops before it changes anything. */
export async function requireLedgerBus(
  options: Pick<RunOptions, "mode" | "policy" | "pool" | "requireLedgerBus">,
  homeRegion: string,
): Promise<void> {
  const bus = options.policy.ledgerBus;
  if (!bus || !options.requireLedgerBus || options.mode !== "fix") return;
  await checkLedgerBus(options.pool.clientsFor(ledgerRegionOf(bus, homeRegion)), bus);
}
