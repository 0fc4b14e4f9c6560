import { randomUUID } from "node:crypto";
import { type ClientPool, type RunReport, runRemediation } from "@flowlog-guard/core";
import type { Io } from "./io.ts";
import { createPool, homeRegionOf, type RunSettings, regionsToRun, resolveRunSettings } from "./options.ts";

/** A scan (nothing changes) for commands that report on top of it: exceptions, cost. */
export async function readOnlyScan(
  options: Record<string, unknown>,
  io: Io,
): Promise<{ settings: RunSettings; pool: ClientPool; report: RunReport }> {
  const settings = resolveRunSettings(options, io.env);
  const pool = createPool(settings);
  const homeRegion = homeRegionOf(settings.regions, io.env);
  const regions = await regionsToRun(settings, pool, homeRegion);
  const report = await runRemediation({
    policy: settings.policy,
    regions,
    homeRegion,
    mode: "scan",
    trigger: { kind: "cli", runId: randomUUID() },
    pool,
    concurrency: settings.concurrency,
  });
  return { settings, pool, report };
}
