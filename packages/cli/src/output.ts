import { constants } from "node:fs";
import { access, stat, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { PRODUCT_NAME, PRODUCT_VERSION } from "@flowlog-guard/core";
import { UsageError } from "./errors.ts";
import type { Io } from "./io.ts";

export interface OutputSettings {
  json: boolean;
  /** A file for the JSON report; `-` is stdout. */
  output: string | undefined;
}

/**
 * Fails before anything is read or changed when `--output` cannot be written, so that a report is
 * never lost after changes were made.
 */
export async function checkOutputTarget(output: string | undefined): Promise<void> {
  if (output === undefined || output === "-") return;
  const path = resolve(output);
  const existing = await stat(path).catch(() => undefined);
  if (existing?.isDirectory()) throw new UsageError(`--output ${output} is a directory; give a file name`);
  const target = existing ? path : dirname(path);
  try {
    await access(target, constants.W_OK);
  } catch {
    throw new UsageError(
      existing
        ? `--output ${output} cannot be written (permission denied); nothing was changed`
        : `--output ${output}: folder ${dirname(path)} does not exist or cannot be written; nothing was changed`,
    );
  }
}

/** The JSON document of a report: when, by which version, under which policy, then the report itself. */
export function reportDocument<T extends object>(report: T, policy?: unknown): object {
  return {
    generatedAt: new Date().toISOString(),
    tool: { name: PRODUCT_NAME, version: PRODUCT_VERSION },
    policy,
    ...report,
  };
}

/**
 * Writes `--output` (always JSON) and prints either the JSON report or the human one. With
 * `--output -` the JSON goes to stdout and the human report to stderr.
 */
export async function emitReport<T extends object>(
  report: T,
  settings: OutputSettings,
  io: Io,
  render: (report: T) => string,
  policy?: unknown,
): Promise<void> {
  const json = `${JSON.stringify(reportDocument(report, policy), null, 2)}\n`;
  const toStdout = settings.json || settings.output === "-";
  if (settings.output && settings.output !== "-") await writeFile(settings.output, json);
  if (toStdout) io.stdout.write(json);
  if (!settings.json) (settings.output === "-" ? io.stderr : io.stdout).write(render(report));
}
