import { spawn } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
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

const quote = (arg: string) => `'${arg.replaceAll("'", `'\\''`)}'`;

/**
 * Runs the real binary on a pseudo-terminal (util-linux `script`), as an operator at a terminal does:
 * stdin, stdout and stderr are one TTY, so prompts and progress display show. `answer` is typed
 * once `prompt` appears; `signalAfter` sends SIGINT to the CLI once its output matches.
 */
export function runCliInTerminal(
  args: string[],
  options: {
    env?: Record<string, string>;
    prompt?: RegExp;
    answer?: string;
    interruptWhen?: RegExp;
  } = {},
): Promise<{ code: number | null; output: string }> {
  const command = [process.execPath, bin, ...args].map(quote).join(" ");
  return new Promise((resolve, reject) => {
    const child = spawn("script", ["-qefc", command, "/dev/null"], {
      env: { ...process.env, AWS_REGION: "eu-west-1", TERM: "xterm", ...options.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let output = "";
    let answered = false;
    let interrupted = false;
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (options.prompt && !answered && options.prompt.test(output)) {
        answered = true;
        child.stdin.write(`${options.answer ?? ""}\r`);
      }
      if (options.interruptWhen && !interrupted && options.interruptWhen.test(output)) {
        interrupted = true;
        child.stdin.write("\x03");
      }
    });
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, output }));
  });
}

/**
 * The environment of a CLI run whose only credentials are those of `profile` in a credentials file of
 * its own (no keys in the environment): what `--profile` must pick up.
 */
export async function onlyProfileCredentials(profile: string): Promise<Record<string, string>> {
  const dir = await mkdtemp(join(tmpdir(), "fg-profile-"));
  const credentials = join(dir, "credentials");
  await writeFile(
    credentials,
    `[${profile}]\naws_access_key_id = testing\naws_secret_access_key = testing\n`,
  );
  return { AWS_SHARED_CREDENTIALS_FILE: credentials, AWS_ACCESS_KEY_ID: "", AWS_SECRET_ACCESS_KEY: "" };
}
