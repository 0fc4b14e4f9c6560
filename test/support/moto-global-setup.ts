import { isLoopbackUrl, type MotoServer, startMotoServer } from "@flowlog-guard/emulator";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    motoEndpoint: string;
  }
}

/**
 * Starts one moto server for the whole integration run and hands its endpoint to the tests.
 * The server dies with this process even on SIGKILL (see the emulator package).
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
  let moto: MotoServer;
  try {
    moto = await startMotoServer();
  } catch (error) {
    throw new Error(`Integration tests need moto: ${(error as Error).message}`, { cause: error });
  }
  project.provide("motoEndpoint", moto.endpoint);
  const stop = () => void moto.stop();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  return async () => {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    await moto.stop();
  };
}
