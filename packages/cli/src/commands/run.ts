import { randomUUID } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { type RunMode, type RunReport, runRemediation } from "@flowlog-guard/core";
import type { Io } from "../io.ts";
import { createPool, homeRegionOf, regionsToRun, resolveRunSettings } from "../options.ts";
import { createProgress } from "../progress.ts";
import { exitCodeOf, renderReport } from "../render.ts";

/** `scan` and `fix-all`: one engine run over every region, then the report. */
export async function runScanOrFix(mode: RunMode, options: Record<string, unknown>, io: Io): Promise<number> {
  const settings = resolveRunSettings(options, io.env);
  const pool = createPool(settings);
  const homeRegion = homeRegionOf(settings.regions, io.env);
  const regions = await regionsToRun(settings, pool, homeRegion);
  const progress = createProgress(!settings.json, io.stderr as NodeJS.WriteStream);
  let report: RunReport;
  try {
    report = await runRemediation({
      policy: settings.policy,
      regions,
      homeRegion,
      mode,
      trigger: { kind: "cli", runId: randomUUID() },
      pool,
      concurrency: settings.concurrency,
      onProgress: (state) => progress.update(state),
    });
  } finally {
    progress.done();
  }
  await emitReport(report, settings, io, renderReport);
  return exitCodeOf(report);
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
