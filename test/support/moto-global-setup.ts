import { isLoopbackUrl, type MotoServer, startMotoServer } from "@flowlog-guard/emulator";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /** One moto server per integration worker, indexed by VITEST_POOL_ID - 1. */
    motoEndpoints: string[];
  }
}

/**
 * Starts one moto server per integration worker and hands their endpoints to the tests: a worker
 * runs one file at a time and resets its own server between tests, so files run side by side
 * without sharing state. The servers die with this process even on SIGKILL (see the emulator package).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith("AWS_ENDPOINT_URL") && value && !isLoopbackUrl(value)) {
      throw new Error(
        `Refusing to run integration tests: ${name}=${value} is not a loopback address. ` +
          "Tests only ever talk to the local moto server they start; unset it and run again.",
      );
    }
  }
  const workers = Math.max(1, Number(project.config.maxWorkers) || 1);
  let servers: MotoServer[];
  try {
    servers = await Promise.all(Array.from({ length: workers }, () => startMotoServer()));
  } catch (error) {
    throw new Error(`Integration tests need moto: ${(error as Error).message}`, { cause: error });
  }
  project.provide(
    "motoEndpoints",
    servers.map((server) => server.endpoint),
  );
  const stopAll = () => Promise.all(servers.map((server) => server.stop()));
  const stop = () => void stopAll();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  return async () => {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    await stopAll();
  };
}
