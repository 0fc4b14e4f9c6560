import { randomUUID } from "node:crypto";
import {
  createOrganizationsClient,
  type OrganizationReport,
  type Plan,
  type RunMode,
  type RunOptions,
  readAccountIdentity,
  resolveAccounts,
  runOrganization,
  runRemediation,
  type VpcFacts,
} from "@flowlog-guard/core";
import { type AccountSettings, resolveAccountSettings } from "../account-options.ts";
import { ExitCode } from "../command.ts";
import { createRunContext, memberPoolsFor, type RunContext } from "../context.ts";
import { renderFormat, resolveFormat, sendToSecurityHub } from "../formats.ts";
import type { Io } from "../io.ts";
import { type RunSettings, resolveRunSettings, type VpcFilters } from "../options.ts";
import { checkOutputTarget, emitReport } from "../output.ts";
import { createProgress, type Progress } from "../progress.ts";
import { type AnyReport, exitCodeOf, renderReport } from "../render.ts";
import { isUnreachable, unreachableReport } from "../unreachable.ts";

export interface FixSettings {
  /** Apply without asking, even on a terminal. */
  yes: boolean;
}

/** Ctrl-C / SIGTERM: the first stops new work (in-flight changes finish), the second exits at once. */
export function watchInterrupts(
  io: Io,
  progress: Progress,
): { interrupted: () => boolean; dispose: () => void } {
  let count = 0;
  const onSignal = () => {
    count++;
    if (count > 1) process.exit(ExitCode.interrupted);
    progress.done();
    io.stderr.write(
      "\nflowlog-guard: interrupted; finishing the changes in flight, then writing the partial report " +
        "(press Ctrl-C again to exit now)\n",
    );
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return {
    interrupted: () => count > 0,
    dispose: () => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    },
  };
}

/** Changes a plan makes: one per action, one per VPC for flow logs (a batch covers many VPCs). */
export function plannedChanges(plan: Plan): number {
  return plan.actions.reduce(
    (sum, action) => sum + (action.kind === "create-flow-log" ? action.vpcIds.length : 1),
    0,
  );
}

function planTotals(plan: Plan): string {
  const byKind = new Map<string, number>();
  for (const action of plan.actions) {
    const count = action.kind === "create-flow-log" ? action.vpcIds.length : 1;
    byKind.set(action.kind, (byKind.get(action.kind) ?? 0) + count);
  }
  const vpcs = plan.vpcs.filter((vpc) => vpc.actionKeys.length > 0).length;
  const kinds = [...byKind].map(([kind, count]) => `${count} ${kind}`).join(", ");
  return `fix-all will make ${plannedChanges(plan)} change(s) for ${vpcs} VPC(s): ${kinds}.`;
}

/** On a terminal, shows the plan's totals and asks; without one (cron, CI, pipes) never asks. */
async function confirmChanges(plan: Plan, io: Io, fix: FixSettings): Promise<boolean> {
  if (fix.yes || !io.interactive) return true;
  io.stderr.write(`${planTotals(plan)}\nRun flowlog-guard fix-all --dry-run to see every change.\n`);
  const answer = ((await io.ask?.("Apply these changes? [y/N] ")) ?? "").trim().toLowerCase();
  if (answer === "y" || answer === "yes") return true;
  io.stderr.write("Nothing changed.\n");
  return false;
}

function vpcFilterOf(filters: VpcFilters): ((vpc: VpcFacts) => boolean) | undefined {
  const tags = Object.entries(filters.tags);
  if (filters.excludeVpcIds.length === 0 && tags.length === 0) return undefined;
  const excluded = new Set(filters.excludeVpcIds);
  return (vpc) => !excluded.has(vpc.vpcId) && tags.every(([key, value]) => vpc.tags[key] === value);
}

/** `scan` and `fix-all`: one engine run over every region (of every selected account), then the report. */
export async function runScanOrFix(mode: RunMode, options: Record<string, unknown>, io: Io): Promise<number> {
  const format = resolveFormat(options);
  const settings = { ...resolveRunSettings(options, io.env), json: format === "json" };
  const accounts = resolveAccountSettings(options, io.env);
  await checkOutputTarget(settings.output);
  const progress = createProgress(format === "text", io.stderr as NodeJS.WriteStream, io.env);
  const signals = watchInterrupts(io, progress);
  const run: EngineRun = {
    runId: randomUUID(),
    mode,
    settings,
    io,
    fix: { yes: Boolean(options.yes) },
    deadline: Date.now() + settings.deadlineMs,
    progress,
    interrupted: signals.interrupted,
  };
  let outcome: EngineOutcome;
  try {
    outcome = await runEngine(run, accounts);
  } finally {
    progress.done();
    signals.dispose();
  }
  const { report, context } = outcome;
  const rendered = renderFormat(format, report, settings.policy);
  await emitReport(
    report,
    settings,
    io,
    (r) => rendered ?? renderReport(r, { quiet: settings.quiet }),
    settings.policy,
  );
  if (signals.interrupted()) return ExitCode.interrupted;
  const imported =
    options.securityHub && context
      ? await sendToSecurityHub(
          report,
          { ...context, runId: run.runId, accounts, apiRate: settings.apiRate },
          io,
        )
      : 0;
  return Math.max(exitCodeOf(report), imported);
}

interface EngineRun {
  runId: string;
  mode: RunMode;
  settings: RunSettings;
  io: Io;
  fix: FixSettings;
  /** Until when work that failed for a retryable reason gets further passes (--deadline). */
  deadline: number;
  progress: Progress;
  interrupted: () => boolean;
}

/** What the engine gets in both modes: scope, filters, interruption, progress. */
function engineOptions(run: EngineRun, context: RunContext) {
  const { settings, progress } = run;
  return {
    policy: settings.policy,
    regions: context.regions,
    homeRegion: context.homeRegion,
    mode: run.mode,
    trigger: { kind: "cli", runId: run.runId },
    concurrency: settings.concurrency,
    vpcIds: settings.filters.vpcIds,
    vpcFilter: vpcFilterOf(settings.filters),
    // The delivery role is checked on every run, so that a drifted trust or inline policy shows.
    ensureRole: true,
    // A missing ledger bus stops fix-all before its first change (records are never lost).
    requireLedgerBus: true,
    shouldStop: run.interrupted,
    deadline: run.deadline,
    onProgress: (state) => progress.update(state),
  } satisfies Partial<RunOptions>;
}

interface EngineOutcome {
  report: AnyReport;
  /** Absent when AWS could not be reached at all. */
  context: RunContext | undefined;
}

async function runEngine(run: EngineRun, accounts: AccountSettings | undefined): Promise<EngineOutcome> {
  const { settings, io, progress } = run;
  let context: RunContext | undefined;
  try {
    context = await createRunContext(settings, io);
    if (accounts) return { report: await runAcrossAccounts(run, accounts, context), context };
    const report = await runRemediation({
      ...engineOptions(run, context),
      pool: context.pool,
      beforeChanges: async (plan) => {
        progress.done();
        if (!(await confirmChanges(plan, io, run.fix))) return false;
        progress.changing(plannedChanges(plan));
        return !run.interrupted();
      },
    });
    return { report, context };
  } catch (error) {
    if (!isUnreachable(error)) throw error;
    const regions = context?.regions ?? settings.regions ?? [];
    const report = unreachableReport(run.mode, regions, error as Error, context?.pool.counter.total ?? 0);
    return { report, context: undefined };
  }
}

/** Organization mode: resolve the accounts, then each account with its assumed member role. */
async function runAcrossAccounts(
  run: EngineRun,
  accounts: AccountSettings,
  context: RunContext,
): Promise<OrganizationReport> {
  const home = context.pool.clientsFor(context.homeRegion);
  const identity = await readAccountIdentity(home);
  const organizations = createOrganizationsClient(home.region, {
    credentials: context.credentials,
    requestTimeoutMs: context.requestTimeoutMs,
  });
  const resolved = await resolveAccounts(organizations, accounts.selection);
  return runOrganization({
    ...engineOptions(run, context),
    centralAccountId: identity.accountId,
    partition: identity.partition,
    targets: resolved.targets,
    skipped: resolved.skipped,
    central: context.pool,
    memberRoleName: accounts.memberRoleName,
    accountConcurrency: accounts.accountConcurrency,
    pools: memberPoolsFor(
      { ...context, apiRate: run.settings.apiRate },
      {
        partition: identity.partition,
        memberRoleName: accounts.memberRoleName,
        sessionName: `flowlog-guard-${run.runId}`,
      },
    ),
    onProgress: ({ accountsDone, accounts: total, vpcsEvaluated, changes }) =>
      run.progress.update({
        regionsDone: accountsDone,
        regions: total,
        vpcsEvaluated,
        changes,
        unit: "accounts",
      }),
  });
}
