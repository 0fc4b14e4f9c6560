import { randomUUID } from "node:crypto";
import { writeFile } from "node:fs/promises";
import {
  type AwsClients,
  createAccountPools,
  createOrganizationsClient,
  type OrganizationReport,
  type RunMode,
  type RunReport,
  readAccountIdentity,
  resolveAccounts,
  runOrganization,
  runRemediation,
} from "@flowlog-guard/core";
import { renderFormat, resolveFormat, sendToSecurityHub } from "../formats.ts";
import type { Io } from "../io.ts";
import {
  type AccountSettings,
  createPool,
  homeRegionOf,
  type RunSettings,
  regionsToRun,
  resolveAccountSettings,
  resolveRunSettings,
} from "../options.ts";
import { createProgress } from "../progress.ts";
import { exitCodeOf, renderReport } from "../render.ts";

/** `scan` and `fix-all`: one engine run over every region (of every selected account), then the report. */
export async function runScanOrFix(mode: RunMode, options: Record<string, unknown>, io: Io): Promise<number> {
  const format = resolveFormat(options);
  const settings = { ...resolveRunSettings(options, io.env), json: format === "json" };
  const accounts = resolveAccountSettings(options, io.env);
  const pool = createPool(settings);
  const homeRegion = homeRegionOf(settings.regions, io.env);
  const regions = await regionsToRun(settings, pool, homeRegion);
  const progress = createProgress(format === "text", io.stderr as NodeJS.WriteStream);
  const runId = randomUUID();
  let report: RunReport | OrganizationReport;
  try {
    report = accounts
      ? await runAcrossAccounts(mode, settings, accounts, {
          home: pool.clientsFor(homeRegion),
          pool,
          regions,
          runId,
          progress,
        })
      : await runRemediation({
          policy: settings.policy,
          regions,
          homeRegion,
          mode,
          trigger: { kind: "cli", runId },
          pool,
          concurrency: settings.concurrency,
          onProgress: (state) => progress.update(state),
        });
  } finally {
    progress.done();
  }
  const rendered = renderFormat(format, report, settings.policy);
  await emitReport(report, { ...settings, json: format === "json" }, io, (r) => rendered ?? renderReport(r));
  const imported = options.securityHub
    ? await sendToSecurityHub(report, { pool, homeRegion, runId, accounts, apiRate: settings.apiRate }, io)
    : 0;
  return Math.max(exitCodeOf(report), imported);
}

/** Organization mode: resolve the accounts, then each account with its assumed member role. */
async function runAcrossAccounts(
  mode: RunMode,
  settings: RunSettings,
  accounts: AccountSettings,
  context: {
    home: AwsClients;
    pool: ReturnType<typeof createPool>;
    regions: string[];
    runId: string;
    progress: ReturnType<typeof createProgress>;
  },
): Promise<OrganizationReport> {
  const identity = await readAccountIdentity(context.home);
  const resolved = await resolveAccounts(createOrganizationsClient(context.home.region), accounts.selection);
  return runOrganization({
    policy: settings.policy,
    regions: context.regions,
    homeRegion: context.home.region,
    mode,
    trigger: { kind: "cli", runId: context.runId },
    centralAccountId: identity.accountId,
    partition: identity.partition,
    targets: resolved.targets,
    skipped: resolved.skipped,
    central: context.pool,
    memberRoleName: accounts.memberRoleName,
    accountConcurrency: accounts.accountConcurrency,
    concurrency: settings.concurrency,
    pools: createAccountPools({
      partition: identity.partition,
      homeRegion: context.home.region,
      memberRoleName: accounts.memberRoleName,
      sessionName: `flowlog-guard-${context.runId}`,
      ...(settings.apiRate !== undefined ? { apiRate: settings.apiRate } : {}),
    }),
    onProgress: ({ accountsDone, accounts: total, vpcsEvaluated, changes }) =>
      context.progress.update({
        regionsDone: accountsDone,
        regions: total,
        vpcsEvaluated,
        changes,
        unit: "accounts",
      }),
  });
}

/** Writes `--output` (always JSON) and prints either the JSON report or the human one. */
export async function emitReport<T>(
  report: T,
  settings: { json: boolean; output: string | undefined },
  io: Io,
  render: (report: T) => string,
): Promise<void> {
  const json = `${JSON.stringify(report, null, 2)}\n`;
  if (settings.output) await writeFile(settings.output, json);
  io.stdout.write(settings.json ? json : render(report));
}
