import { randomUUID } from "node:crypto";
import { type ClientPool, type RunReport, runRemediation } from "@flowlog-guard/core";
import { createRunContext } from "./context.ts";
import type { Io } from "./io.ts";
import { type RunSettings, resolveRunSettings } from "./options.ts";
import { checkOutputTarget } from "./output.ts";

/** A scan (nothing changes) for commands that report on top of it: exceptions, cost. */
export async function readOnlyScan(
  options: Record<string, unknown>,
  io: Io,
): Promise<{ settings: RunSettings; pool: ClientPool; report: RunReport }> {
  const settings = resolveRunSettings(options, io.env);
  await checkOutputTarget(settings.output);
  const { pool, homeRegion, regions } = await createRunContext(settings, io);
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
