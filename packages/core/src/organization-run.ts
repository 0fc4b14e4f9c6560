import type { AccountPools } from "./account-pools.ts";
import type { ClientPool } from "./aws-clients.ts";
import { type RunOptions, requireLedgerBus, runRemediation } from "./engine.ts";
import { awsErrorName, describeError } from "./errors.ts";
import { LedgerPublisher } from "./ledger-publisher.ts";
import { MEMBER_ROLE_NAME, memberRoleArn } from "./member-template.ts";
import type { OrganizationAccount, SkippedAccount } from "./organizations.ts";
import type { ReportError, RunReport } from "./report.ts";
import { mapWithConcurrency } from "./retry.ts";
import { ledgerRegionOf } from "./service-policy.ts";

/** Why an account (or one of its regions) is in `errors`: counted by kind, never parsed from text. */
export type AccountErrorKind =
  | "assume-role-failed"
  | "account-failed"
  | "account-not-active"
  | "account-not-in-organization"
  | "region-failed"
  | "vpc-failed"
  | "ledger";

/** One entry of an organization report's `errors`: `{account, region?, kind, message}`. */
export type OrganizationError = ReportError & { account: string; kind: AccountErrorKind };

export interface OrganizationReport extends Omit<RunReport, "summary" | "errors"> {
  /** The central account the run started from. */
  account: string;
  accounts: string[];
  /** Accounts selected but left alone on purpose (excluded, or not ACTIVE under `all`). */
  skippedAccounts: SkippedAccount[];
  summary: RunReport["summary"] & { accounts: number; accountsFailed: number; accountsSkipped: number };
  errors: OrganizationError[];
}

export interface OrganizationRunOptions
  extends Omit<RunOptions, "pool" | "identity" | "homeRegion" | "onProgress"> {
  /** The central account: it publishes change records and is the report's `account`. */
  centralAccountId: string;
  partition: string;
  homeRegion: string;
  targets: OrganizationAccount[];
  /** Selected accounts left alone (reported, not worked on); `not-in-organization` ones are errors. */
  skipped?: SkippedAccount[];
  pools: AccountPools;
  /** The central account's clients: the ledger bus is there, member roles cannot publish to it. */
  central: ClientPool;
  memberRoleName?: string;
  accountConcurrency?: number;
  onProgress?: (progress: {
    accountsDone: number;
    accounts: number;
    vpcsEvaluated: number;
    changes: number;
  }) => void;
}

/** STS errors that mean the member role cannot be assumed: missing, untrusting, or blocked. */
const ASSUME_ROLE_ERRORS = new Set(["AccessDenied", "AccessDeniedException", "RegionDisabledException"]);

function accountFailure(accountId: string, error: unknown, roleArn: string): OrganizationError {
  const assume = ASSUME_ROLE_ERRORS.has(awsErrorName(error) ?? "");
  return {
    scope: "account",
    account: accountId,
    kind: assume ? "assume-role-failed" : "account-failed",
    message: assume
      ? `cannot assume ${roleArn}: ${describeError(error)}. Deploy the member template in this account ` +
        "(flowlog-guard member-template; the StackSet skips the management account) or exclude it with --exclude-accounts"
      : `account could not be processed: ${describeError(error)}`,
  };
}

const KIND_OF_SCOPE: Record<ReportError["scope"], AccountErrorKind> = {
  account: "account-failed",
  region: "region-failed",
  vpc: "vpc-failed",
  ledger: "ledger",
};

/**
 * One account's run: the engine with that account's clients, records kept for central publishing.
 * The central account itself is worked on with the central credentials (no member role needed there:
 * this is how the management account is covered when the central deployment runs in it).
 */
async function runAccount(
  options: OrganizationRunOptions,
  target: OrganizationAccount,
  ledger: LedgerPublisher,
): Promise<RunReport> {
  const central = target.accountId === options.centralAccountId;
  const roleArn = memberRoleArn(
    options.partition,
    target.accountId,
    options.memberRoleName ?? MEMBER_ROLE_NAME,
  );
  return runRemediation({
    ...options,
    policy: { ...options.policy, ledgerBus: undefined },
    pool: central ? options.central : options.pools.poolFor(target.accountId),
    ...(central
      ? {}
      : { identity: { accountId: target.accountId, partition: options.partition, callerArn: roleArn } }),
    homeRegion: options.homeRegion,
    onProgress: undefined,
    // Published centrally as they are written: an account cut off keeps the records of what it changed.
    onRecord: (record) => ledger.add(record),
  });
}

/**
 * fix-all / scan across accounts: each account runs the single-account engine with its own
 * assumed-role clients, `accountConcurrency` at a time; an account that cannot be assumed or fails
 * is isolated in `errors` and the others go on. Change records (naming the member account and the
 * run) are published from the central account to the ledger bus as they are written.
 */
export async function runOrganization(options: OrganizationRunOptions): Promise<OrganizationReport> {
  const started = Date.now();
  await requireLedgerBus({ ...options, pool: options.central }, options.homeRegion);
  const reports: RunReport[] = [];
  const errors: OrganizationError[] = [];
  for (const skip of options.skipped ?? [])
    if (skip.kind === "not-in-organization")
      errors.push({
        scope: "account",
        account: skip.accountId,
        kind: "account-not-in-organization",
        message: skip.message,
      });
  const ledger = centralLedger(options);
  let accountsDone = 0;
  let vpcsEvaluated = 0;
  let changes = 0;
  await mapWithConcurrency(options.targets, options.accountConcurrency ?? 8, async (target) => {
    const roleArn = memberRoleArn(
      options.partition,
      target.accountId,
      options.memberRoleName ?? MEMBER_ROLE_NAME,
    );
    try {
      const report = await runAccount(options, target, ledger);
      reports.push(report);
      for (const error of report.errors)
        errors.push({ ...error, account: target.accountId, kind: KIND_OF_SCOPE[error.scope] });
      vpcsEvaluated += report.summary.vpcs;
      changes += report.summary.changes;
    } catch (error) {
      options.log?.warn("account failed", { account: target.accountId, error: describeError(error) });
      errors.push(accountFailure(target.accountId, error, roleArn));
    }
    accountsDone++;
    options.onProgress?.({ accountsDone, accounts: options.targets.length, vpcsEvaluated, changes });
  });
  const published = await ledger.close();
  for (const undelivered of published.undelivered)
    errors.push({
      scope: "ledger",
      account: options.centralAccountId,
      kind: "ledger",
      message: `change record ${undelivered.recordId} not delivered to ${published.bus}: ${undelivered.error}`,
    });
  return mergeReports(options, reports, errors, published, Date.now() - started);
}

function centralLedger(options: OrganizationRunOptions): LedgerPublisher {
  const bus = options.policy.ledgerBus;
  return new LedgerPublisher({
    clients: options.central.clientsFor(bus ? ledgerRegionOf(bus, options.homeRegion) : options.homeRegion),
    bus,
    log: options.log,
    sleep: options.sleep,
    // As in a single-account run: records the bus throttles are sent again until the run's deadline.
    retryUntil: options.deadline,
  });
}

function mergeReports(
  options: OrganizationRunOptions,
  reports: RunReport[],
  errors: OrganizationError[],
  published: { published: number; undelivered: unknown[] },
  durationMs: number,
): OrganizationReport {
  const order = new Map(options.targets.map((target, index) => [target.accountId, index]));
  reports.sort((a, b) => (order.get(a.account) ?? 0) - (order.get(b.account) ?? 0));
  const sum = (field: keyof RunReport["summary"]) =>
    reports.reduce((total, report) => total + report.summary[field], 0);
  const failedAccounts = new Set(
    errors.filter((error) => error.scope !== "ledger").map((error) => error.account),
  );
  const counter = options.pools.counter;
  return {
    mode: options.mode,
    account: options.centralAccountId,
    accounts: options.targets.map((target) => target.accountId),
    skippedAccounts: (options.skipped ?? []).filter((skip) => skip.kind !== "not-in-organization"),
    regions: options.regions,
    summary: {
      accounts: options.targets.length,
      accountsFailed: failedAccounts.size,
      accountsSkipped: (options.skipped ?? []).filter((skip) => skip.kind !== "not-in-organization").length,
      vpcs: sum("vpcs"),
      compliant: sum("compliant"),
      remediated: sum("remediated"),
      wouldRemediate: sum("wouldRemediate"),
      nonCompliant: sum("nonCompliant"),
      exempt: sum("exempt"),
      notOwned: sum("notOwned"),
      failed: sum("failed"),
      changes: sum("changes"),
      regionsFailed: sum("regionsFailed"),
      regionsRemaining: sum("regionsRemaining"),
      recordsPublished: published.published,
      recordsUndelivered: published.undelivered.length,
      apiCalls: counter.total + options.central.counter.total,
      apiRetries: counter.retryAttempts + options.central.counter.retryAttempts,
      passes: Math.max(1, ...reports.map((report) => report.summary.passes)),
      retriedWork: sum("retriedWork"),
      durationMs,
    },
    vpcs: reports.flatMap((report) => report.vpcs),
    regionOutcomes: reports.flatMap((report) => report.regionOutcomes),
    sharedChanges: reports.flatMap((report) => report.sharedChanges),
    errors,
  };
}
