import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

/** A running local moto server. */
export interface MotoServer {
  /** `http://127.0.0.1:<port>`, the value for `AWS_ENDPOINT_URL`. */
  readonly endpoint: string;
  readonly port: number;
  /** The server's process id. */
  readonly pid: number;
  /** Forgets every resource in every account and region (`POST /moto-api/reset`). */
  reset(): Promise<void>;
  /** Stops the server and waits for its process to end. Safe to call twice. */
  stop(): Promise<void>;
}

/** Thrown when python3 or moto's server extra is not installed. */
export class MotoUnavailableError extends Error {
  override readonly name = "MotoUnavailableError";
}

export const MOTO_INSTALL_HINT =
  'Install the AWS emulator the tests and the demo run on: pip install "moto[server]" (needs Python 3).';

const launcherPath = fileURLToPath(new URL("./moto_launcher.py", import.meta.url));
/** moto fixes the launcher imports from its own folder (S3 destination prefixes, DestinationOptions); named here so builds copy it. */
export const MOTO_FIDELITY_PATH = fileURLToPath(new URL("./moto_fidelity.py", import.meta.url));
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Kills every server still running when this process exits, whatever the reason. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const child of running) child.kill("SIGKILL");
  });
}

/**
 * Starts `moto.server` on a free port of 127.0.0.1. The server also stops by itself when this
 * process dies (its stdin closes), so a killed test run leaves nothing behind.
 *
 * @example
 * const moto = await startMotoServer();
 * process.env.AWS_ENDPOINT_URL = moto.endpoint;
 * await moto.stop();
 */
export async function startMotoServer(
  options: { python?: string; startTimeoutMs?: number } = {},
): Promise<MotoServer> {
  const python = options.python ?? process.env.FLOWLOG_GUARD_PYTHON ?? "python3";
  const child = spawn(python, [launcherPath], { stdio: ["pipe", "pipe", "pipe"] });
  installExitHook();
  running.add(child);
  child.once("exit", () => running.delete(child));

  const port = await readPort(child, python, options.startTimeoutMs ?? 30_000);
  const endpoint = `http://127.0.0.1:${port}`;
  let stopped: Promise<void> | undefined;

  return {
    endpoint,
    port,
    pid: child.pid ?? -1,
    async reset() {
      const response = await fetch(`${endpoint}/moto-api/reset`, { method: "POST" });
      if (!response.ok) throw new Error(`moto reset failed: HTTP ${response.status}`);
    },
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const killTimer = setTimeout(() => child.kill("SIGKILL"), 5_000);
        child.once("exit", () => {
          clearTimeout(killTimer);
          resolve();
        });
        child.stdin?.end();
      });
      return stopped;
    },
  };
}

function readPort(child: ChildProcess, python: string, timeoutMs: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(error);
    };
    const timer = setTimeout(
      () =>
        fail(new Error(`moto server did not start within ${timeoutMs} ms. stderr: ${stderr.slice(-2000)}`)),
      timeoutMs,
    );
    // Keep draining stderr for the server's whole life (a full pipe would block it), keeping a short tail.
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    child.once("error", (error: NodeJS.ErrnoException) => {
      const detail = error.code === "ENOENT" ? `'${python}' was not found on PATH.` : error.message;
      fail(
        new MotoUnavailableError(`Cannot start moto server: ${detail} ${MOTO_INSTALL_HINT}`, {
          cause: error,
        }),
      );
    });
    child.once("exit", (code) => {
      fail(
        new MotoUnavailableError(
          `moto server exited early (code ${code}). ${stderr.slice(-2000)} ${MOTO_INSTALL_HINT}`,
        ),
      );
    });
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      const newline = stdout.indexOf("\n");
      if (newline < 0) return;
      const message = JSON.parse(stdout.slice(0, newline)) as {
        port?: number;
        error?: string;
        detail?: string;
      };
      if (message.port) {
        clearTimeout(timer);
        child.removeAllListeners("exit");
        child.stdout?.removeAllListeners("data");
        resolve(message.port);
      } else {
        fail(new MotoUnavailableError(`moto is not installed (${message.detail}). ${MOTO_INSTALL_HINT}`));
      }
    });
  });
}

/** True when a URL points at this machine (127.0.0.0/8, ::1 or localhost). */
export function isLoopbackUrl(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return false;
  }
  return host === "localhost" || host === "[::1]" || host === "::1" || /^127(\.\d{1,3}){3}$/.test(host);
}

export {
  captureDefaultBusRules,
  captureEvents,
  type EventCapture,
  MOTO_ACCOUNT_ID,
  putEnvelope,
} from "./event-capture.ts";

/**
 * Points this process's AWS SDK (and child processes that inherit `env`) at the emulator with fake
 * credentials, removing every other AWS_* setting: nothing can reach a real AWS account.
 */
export function useEmulatorEnv(
  env: Record<string, string | undefined>,
  endpoint: string,
  region: string,
): void {
  for (const name of Object.keys(env)) {
    if (name.startsWith("AWS_")) delete env[name];
  }
  Object.assign(env, {
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: "emulator",
    AWS_SECRET_ACCESS_KEY: "emulator",
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_CONFIG_FILE: "/dev/null",
    AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
  });
}
