import { type DoctorCheck, runDoctor } from "@flowlog-guard/core";
import type { Io } from "../io.ts";
import { createPool, homeRegionOf, regionsToRun, resolveRunSettings } from "../options.ts";
import { emitReport } from "./run.ts";

const MARK = { ok: "OK  ", warn: "WARN", fail: "FAIL" } as const;

function renderChecks(checks: DoctorCheck[]): string {
  const lines = checks.flatMap((check) => [
    `${MARK[check.status]}  ${check.name}: ${check.detail}`,
    ...(check.fix && check.status !== "ok" ? [`      fix: ${check.fix}`] : []),
  ]);
  const failed = checks.filter((check) => check.status === "fail").length;
  lines.push(
    "",
    failed === 0
      ? "Ready: events can fire and remediation can work."
      : `${failed} check(s) failed: see the fixes above.`,
  );
  return `${lines.join("\n")}\n`;
}

/** `doctor`: what must be true in the account before events can fire. Exit 3 when a check fails. */
export async function doctorCommand(options: Record<string, unknown>, io: Io): Promise<number> {
  const settings = resolveRunSettings(options, io.env);
  const pool = createPool(settings);
  const homeRegion = homeRegionOf(settings.regions, io.env);
  const regions = await regionsToRun(settings, pool, homeRegion);
  const checks = await runDoctor({ pool, policy: settings.policy, homeRegion, regions });
  await emitReport({ checks }, settings, io, (report) => renderChecks(report.checks));
  return checks.some((check) => check.status === "fail") ? 3 : 0;
}
