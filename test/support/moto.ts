import { inject } from "vitest";

/** This worker's own moto server (files of one worker run one at a time; workers never share a server). */
export function motoEndpoint(): string {
  const endpoints = inject("motoEndpoints");
  const worker = Number(process.env.VITEST_POOL_ID ?? "1");
  const endpoint = endpoints[(worker - 1) % endpoints.length];
  if (!endpoint) throw new Error(`no moto server for worker ${worker} (${endpoints.length} started)`);
  return endpoint;
}
