import { type DoctorCheck, runDoctor } from "@flowlog-guard/core";
import type { RegisterCommand } from "../command.ts";
import { createRunContext } from "../context.ts";
import type { Io } from "../io.ts";
import { addReadOnlyRunOptions, ROLE_POLICY_FIELDS, resolveRunSettings } from "../options.ts";
import { checkOutputTarget, emitReport } from "../output.ts";

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
async function doctor(options: Record<string, unknown>, io: Io): Promise<number> {
  const settings = resolveRunSettings(options, io.env);
  await checkOutputTarget(settings.output);
  const { pool, homeRegion, regions } = await createRunContext(settings, io);
  const checks = await runDoctor({ pool, policy: settings.policy, homeRegion, regions });
  await emitReport({ checks }, settings, io, (report) => renderChecks(report.checks), settings.policy);
  return checks.some((check) => check.status === "fail") ? 3 : 0;
}

export const registerDoctor: RegisterCommand = (program, wire) => {
  const command = program
    .command("doctor")
    .description(
      "Check the account is ready: CloudTrail trail, delivery role, KMS keys, ledger bus, the caller's permissions",
    )
    .addHelpText(
      "after",
      `
Events reach EventBridge only while a CloudTrail trail logs management write events in the region;
without one, only the daily fix-all sweep catches problems. Each check prints what to do about it.
Permissions: flowlog-guard iam-policy --doctor prints what doctor reads on top of the service policy.
Exit 0 when nothing failed (warnings allowed), 3 when a check failed.

Examples:
  flowlog-guard doctor --regions eu-west-1,us-east-1
  flowlog-guard doctor --regions eu-west-1,us-east-1 --kms-key-arn arn:aws:kms:eu-west-1:111122223333:key/mrk-1a2b3c
  flowlog-guard doctor --ledger-bus arn:aws:events:us-east-1:111122223333:event-bus/flowlog-guard-ledger`,
    );
  addReadOnlyRunOptions(command, ROLE_POLICY_FIELDS);
  wire(command, ({ io, options }) => doctor(options, io));
};
