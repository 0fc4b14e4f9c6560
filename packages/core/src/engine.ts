import type { ClientPool } from "./aws-clients.ts";
import { type Logger, publishChangeRecords, silentLogger, type Trigger } from "./change-records.ts";
import type { Policy } from "./config.ts";
import { ConfigError, describeError } from "./errors.ts";
import { type ExecutionResult, executePlan } from "./executor/index.ts";
import {
  type AccountIdentity,
  readAccountIdentity,
  readDeliveryRole,
  readRegionInventory,
} from "./inventory.ts";
import type { RegionInventory } from "./model.ts";
import { planRemediation } from "./planner.ts";
import { buildReport, type ReportError, type RunMode, type RunReport } from "./report.ts";
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
  /** Check and repair the delivery role even if no VPC in this run needs it (IAM events). */
  ensureRole?: boolean;
  /** Regions inventoried at once. */
  regionConcurrency?: number;
  /** Actions in flight at once per region. */
  concurrency?: number;
  /** Checked before each region starts; true stops the run cleanly (Lambda time limit). */
  shouldStop?: () => boolean;
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
 * Settings the schema accepts (a public contract) but the engine cannot honour yet: refused before any
 * AWS call, so that a run never does something other than what was asked.
 */
export function refuseUnimplementedSettings(policy: Pick<Policy, "resourceType">): void {
  if (policy.resourceType !== "Subnet") return;
  const problem =
    "resourceType (FLOWLOG_GUARD_RESOURCE_TYPE): Subnet is not implemented by the engine yet; use VPC " +
    "(the default: a VPC flow log covers every subnet in the VPC, and is what Security Hub EC2.6 checks)";
  throw new ConfigError(`Invalid flowlog-guard settings, nothing was changed:\n  - ${problem}`, [problem]);
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
  refuseUnimplementedSettings(options.policy);
  const started = Date.now();
  const now = options.now ?? (() => new Date());
  const log = options.log ?? silentLogger;
  const homeRegion = options.homeRegion ?? options.regions[0] ?? "us-east-1";
  const home = options.pool.clientsFor(homeRegion);
  const identity = options.identity ?? (await readAccountIdentity(home));
  // An S3 destination has no delivery role: not read (its service policy grants no IAM action).
  const role =
    options.policy.destinationType === "s3"
      ? { exists: false }
      : await readDeliveryRole(home, options.policy.roleName);

  const errors: ReportError[] = [];
  const regions: RegionInventory[] = [];
  let regionsDone = 0;
  let regionsRemaining = 0;
  let vpcsEvaluated = 0;
  const progress = (changes = 0) =>
    options.onProgress?.({ regionsDone, regions: options.regions.length, vpcsEvaluated, changes });

  await mapWithConcurrency(options.regions, options.regionConcurrency ?? 4, async (region) => {
    if (options.shouldStop?.()) {
      regionsRemaining++;
      errors.push({
        scope: "region",
        region,
        message: "not processed: the run stopped before its time limit",
      });
      return;
    }
    try {
      const inventory = await readRegionInventory(options.pool.clientsFor(region), {
        accountId: identity.accountId,
        policy: options.policy,
        ...(options.vpcIds ? { vpcIds: options.vpcIds } : {}),
      });
      regions.push(inventory);
      vpcsEvaluated += inventory.vpcs.length;
    } catch (error) {
      log.warn("region could not be read", { region, error: describeError(error) });
      errors.push({ scope: "region", region, message: `could not be read: ${describeError(error)}` });
    }
    regionsDone++;
    progress();
  });
  regions.sort((a, b) => options.regions.indexOf(a.region) - options.regions.indexOf(b.region));

  const plan = planRemediation({ ...identity, role, regions }, options.policy, now(), {
    ensureRole: options.ensureRole ?? false,
  });
  let execution: ExecutionResult | undefined;
  let publish: Awaited<ReturnType<typeof publishChangeRecords>> | undefined;
  if (options.mode === "fix" && plan.actions.length > 0) {
    execution = await executePlan(plan, {
      clientsFor: (region) => options.pool.clientsFor(region),
      homeRegion,
      trigger: options.trigger,
      now,
      sleep: options.sleep,
      iamPropagationTimeoutMs: options.iamPropagationTimeoutMs,
      concurrency: options.concurrency,
      shouldStop: options.shouldStop,
      onRecord: (_record, records) => progress(records),
      log,
    });
    progress(execution.records.length);
    const ledgerClients = options.policy.ledgerBus
      ? options.pool.clientsFor(ledgerRegionOf(options.policy.ledgerBus, homeRegion))
      : home;
    publish = await publishChangeRecords(ledgerClients, options.policy.ledgerBus, execution.records, {
      log,
      sleep: options.sleep,
    });
  }
  return buildReport({
    mode: options.mode,
    plan,
    regions: options.regions,
    ...(execution ? { execution } : {}),
    ...(publish ? { publish } : {}),
    errors,
    regionsRemaining,
    apiCalls: options.pool.counter.total,
    apiRetries: options.pool.counter.retryAttempts,
    durationMs: Date.now() - started,
  });
}
