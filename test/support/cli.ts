import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const bin = fileURLToPath(new URL("../../packages/cli/bin/flowlog-guard.cjs", import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the real `flowlog-guard` binary (as `npx flowlog-guard` does) with the test's moto environment:
 * the repository's, or another (`bin`: an installed package's) with `node` from another folder (`cwd`).
 */
export function runCli(
  args: string[],
  options: { env?: Record<string, string>; stdin?: string; bin?: string; cwd?: string; node?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(options.node ?? process.execPath, [options.bin ?? bin, ...args], {
      cwd: options.cwd,
      env: { ...process.env, AWS_REGION: "eu-west-1", ...options.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.stdin ?? "");
  });
}
