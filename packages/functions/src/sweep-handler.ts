import { randomUUID } from "node:crypto";
import { listEnabledRegions, type OrganizationReport, runOrganization } from "@flowlog-guard/core";
import { z } from "zod";
import { type LambdaTimeContext, type Runtime, type RuntimeOrganization, timeLimitOf } from "./runtime.ts";

/** Margin kept before the worker's time limit, as fix-all's: no new region or change starts inside it. */
export const SWEEP_STOP_MARGIN_MS = 90_000;

const ACCOUNT = z.string().regex(/^\d{12}$/, "a 12-digit account id");

/** The sweep's input: the schedule's event, or a manual `{"dryRun": true}`. */
const StartSchema = z.union([
  z.looseObject({ "detail-type": z.literal("Scheduled Event") }).transform(() => ({ dryRun: false })),
  z.strictObject({ dryRun: z.boolean().default(false) }),
]);

/** One account of a batch, as the state machine's ItemSelector builds it. */
const ItemSchema = z.strictObject({ accountId: ACCOUNT, runId: z.string().min(1), dryRun: z.boolean() });
/** A batch (ItemBatcher) or a single item (a Map without batching). */
const BatchSchema = z.union([z.looseObject({ Items: z.array(ItemSchema).min(1) }), ItemSchema]);

export interface SweepStart {
  runId: string;
  dryRun: boolean;
  accounts: { accountId: string }[];
  skipped: { accountId: string; kind: string }[];
}

/** A failed account in a batch: the Map counts the batch as failed (ToleratedFailurePercentage). */
export class AccountBatchError extends Error {
  override readonly name = "AccountBatchError";
}

function organizationOf(runtime: Runtime): RuntimeOrganization {
  if (!runtime.organization)
    throw new Error(
      "The sweep runs in organization mode only: set FLOWLOG_GUARD_ORGANIZATION_ID (the stacks do)",
    );
  return runtime.organization;
}

/** First state: the accounts to sweep (ACTIVE, in scope, not excluded) and the run's id. */
export function createListAccountsHandler(runtime: Runtime) {
  return async (event: unknown): Promise<SweepStart> => {
    const parsed = StartSchema.safeParse(event ?? {});
    if (!parsed.success)
      throw new Error(
        `sweep input not understood: ${z.prettifyError(parsed.error)}. Pass {} or {"dryRun":true}.`,
      );
    const resolved = await organizationOf(runtime).resolveAccounts();
    runtime.logger.info("sweep accounts", { accounts: resolved.targets.length, skipped: resolved.skipped });
    return {
      runId: randomUUID(),
      dryRun: parsed.data.dryRun,
      accounts: resolved.targets.map(({ accountId }) => ({ accountId })),
      skipped: resolved.skipped.map(({ accountId, kind }) => ({ accountId, kind })),
    };
  };
}

/** What a worker returns for its batch (well under Step Functions' 256 KiB). */
export interface SweepBatchResult {
  runId: string;
  accounts: string[];
  summary: OrganizationReport["summary"];
  errors: OrganizationReport["errors"];
  failedVpcs: { account: string; region: string; vpcId: string }[];
}

/**
 * Map worker: fixes (or dry-runs) a batch of accounts with the engine; throws when an account failed.
 * Stops `SWEEP_STOP_MARGIN_MS` before its time limit, as fix-all does: what was not started shows as
 * failed VPCs and not-started regions, and the next sweep finishes it.
 */
export function createSweepWorkerHandler(runtime: Runtime) {
  return async (event: unknown, context?: LambdaTimeContext): Promise<SweepBatchResult> => {
    const parsed = BatchSchema.safeParse(event);
    if (!parsed.success) throw new Error(`sweep batch not understood: ${z.prettifyError(parsed.error)}`);
    const items = "Items" in parsed.data ? parsed.data.Items : [parsed.data];
    const organization = organizationOf(runtime);
    const homeRegion = process.env.AWS_REGION ?? "us-east-1";
    const identity = await runtime.identity(homeRegion);
    const regions =
      process.env.FLOWLOG_GUARD_REGIONS?.split(",").filter(Boolean) ??
      (await listEnabledRegions(runtime.pool.clientsFor(homeRegion)));
    const report = await runOrganization({
      policy: runtime.policy,
      regions,
      homeRegion,
      mode: items[0]!.dryRun ? "dry-run" : "fix",
      trigger: { kind: "schedule", runId: items[0]!.runId },
      centralAccountId: identity.accountId,
      partition: identity.partition,
      targets: items.map(({ accountId }) => ({ accountId })),
      pools: organization.pools,
      central: runtime.pool,
      memberRoleName: organization.memberRoleName,
      accountConcurrency: items.length,
      log: runtime.logger,
      ...timeLimitOf(context, SWEEP_STOP_MARGIN_MS),
    });
    const result: SweepBatchResult = {
      runId: items[0]!.runId,
      accounts: report.accounts,
      summary: report.summary,
      errors: report.errors.slice(0, 50),
      failedVpcs: report.vpcs
        .filter((vpc) => vpc.status === "failed")
        .map(({ account, region, vpcId }) => ({ account, region, vpcId })),
    };
    runtime.logger.info("sweep batch", { result });
    if (report.summary.accountsFailed > 0) throw new AccountBatchError(JSON.stringify(result));
    return result;
  };
}
