import { CreateVpcCommand, DescribeFlowLogsCommand, DescribeVpcsCommand } from "@aws-sdk/client-ec2";
import {
  type AwsClients,
  CHANGE_RECORD_DETAIL_TYPE,
  CHANGE_RECORD_SOURCE,
  type ChangeRecord,
  type ClientPool,
  createClientPool,
  EXCEPTION_TAGS,
  mapWithConcurrency,
  parsePolicy,
  type RunReport,
  runRemediation,
} from "@flowlog-guard/core";
import { captureEvents, type EventCapture } from "@flowlog-guard/emulator";
import { type FaultProxy, type FaultRule, SENT_AT_HEADER, startFaultProxy } from "./fault-proxy.ts";

export const CHAOS_REGION = "eu-west-1";
/** The second region of the benchmark's two-region scenarios. */
export const CHAOS_SECOND_REGION = "us-west-2";
export const LEDGER = `arn:aws:events:${CHAOS_REGION}:123456789012:event-bus/ledger`;

export interface ChaosEstate {
  /** Regions the VPCs are spread over (the ledger bus is in CHAOS_REGION). */
  regions: string[];
  /** The estate's non-exempt VPCs (the regions' default VPCs are in `vpcsThatMustBeLogged`). */
  vpcIds: string[];
  /** VPCs with a valid exception: must get nothing. */
  exemptIds: string[];
  ledger: EventCapture;
  proxy: FaultProxy;
  /** Clients that go through the fault proxy. */
  pool: ClientPool;
  /** Clients straight to moto, for arranging and reading back. */
  direct: ClientPool;
}

/**
 * Seeds `count` VPCs (every tenth exempt) straight into moto, spread over `regions` in turn, then puts
 * a fault proxy in front of it.
 */
export async function buildChaosEstate(
  endpoint: string,
  count: number,
  rules: FaultRule[],
  regions: string[] = [CHAOS_REGION],
): Promise<ChaosEstate> {
  const direct = createClientPool({ apiRate: 0, endpoint });
  const until = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
  const created = await mapWithConcurrency(Array.from({ length: count }), 8, async (_item, index) => {
    const exempt = index % 10 === 9;
    const tags = exempt
      ? [
          { Key: EXCEPTION_TAGS.owner, Value: "chaos-team" },
          { Key: EXCEPTION_TAGS.expires, Value: until },
        ]
      : [];
    const response = await direct.clientsFor(regions[index % regions.length]!).ec2.send(
      new CreateVpcCommand({
        CidrBlock: `10.${Math.floor(index / 256)}.${index % 256}.0/24`,
        ...(tags.length ? { TagSpecifications: [{ ResourceType: "vpc", Tags: tags }] } : {}),
      }),
    );
    return { vpcId: response.Vpc!.VpcId!, exempt };
  });
  const ledger = await captureEvents({
    region: CHAOS_REGION,
    bus: "ledger",
    pattern: { source: [CHANGE_RECORD_SOURCE], "detail-type": [CHANGE_RECORD_DETAIL_TYPE] },
    name: "chaos-ledger",
  });
  const proxy = await startFaultProxy(endpoint, rules);
  return {
    regions,
    vpcIds: created.filter((vpc) => !vpc.exempt).map((vpc) => vpc.vpcId),
    exemptIds: created.filter((vpc) => vpc.exempt).map((vpc) => vpc.vpcId),
    ledger,
    proxy,
    pool: createClientPool({ apiRate: 0, endpoint: proxy.endpoint }),
    direct,
  };
}

/** Flow logs per VPC over the estate's regions, read straight from moto. */
export async function flowLogsByVpc(estate: ChaosEstate): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const region of estate.regions) {
    const response = await estate.direct
      .clientsFor(region)
      .ec2.send(new DescribeFlowLogsCommand({ MaxResults: 1000 }));
    for (const flowLog of response.FlowLogs ?? [])
      counts.set(flowLog.ResourceId!, (counts.get(flowLog.ResourceId!) ?? 0) + 1);
  }
  return counts;
}

/** The estate's non-exempt VPCs and each region's default VPC: each must end with one flow log. */
export async function vpcsThatMustBeLogged(estate: ChaosEstate): Promise<string[]> {
  const defaults = await Promise.all(
    estate.regions.map(async (region) => {
      const response = await estate.direct
        .clientsFor(region)
        .ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: "is-default", Values: ["true"] }] }));
      return response.Vpcs!.map((vpc) => vpc.VpcId!);
    }),
  );
  return [...estate.vpcIds, ...defaults.flat()];
}

/** Change records that reached the ledger bus, and how many there were of each (recordId) and change. */
export async function drainRecords(ledger: EventCapture): Promise<ChangeRecord[]> {
  return (await ledger.drain()).map((event) => event.detail as ChangeRecord);
}

/**
 * Change records that reach the ledger bus after `drainRecords` saw the queue empty: drains every
 * `everyMs` until `quietDrains` drains in a row find nothing (or `maxMs` passes). A PutEvents the
 * client gave up on (its request timeout) can still be at the service and deliver later.
 */
export async function drainLateRecords(
  ledger: EventCapture,
  options: { everyMs?: number; quietDrains?: number; maxMs?: number } = {},
): Promise<ChangeRecord[]> {
  const { everyMs = 2_000, quietDrains = 3, maxMs = 180_000 } = options;
  const late: ChangeRecord[] = [];
  let quiet = 0;
  for (const until = Date.now() + maxMs; quiet < quietDrains && Date.now() < until; ) {
    await new Promise((resolve) => setTimeout(resolve, everyMs));
    const drained = await drainRecords(ledger);
    late.push(...drained);
    quiet = drained.length === 0 ? quiet + 1 : 0;
  }
  return late;
}

/** Fault counts from the proxy's log, for reports and docs. */
export function faultFigures(proxy: FaultProxy): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const entry of proxy.log) counts[entry.fault] = (counts[entry.fault] ?? 0) + 1;
  return { calls: proxy.log.length, ...counts };
}

interface MiddlewareStack {
  add(
    middleware: (
      next: (args: { request?: { headers?: Record<string, string> } }) => Promise<unknown>,
    ) => (args: { request?: { headers?: Record<string, string> } }) => Promise<unknown>,
    options: { step: "finalizeRequest"; name: string; priority: "low" },
  ): void;
}

/**
 * Stamps each HTTP attempt with the time it left the client, after fix-all's limiter let it go. The
 * proxy's simulated buckets take that as the call's time: on a loaded machine the proxy, on the same
 * event loop, can see calls late and bunched, and would refuse calls AWS (at the far end of a wire
 * that does not wait for our event loop) would not.
 */
function stampSendTime(clients: AwsClients): void {
  for (const client of [clients.ec2, clients.logs, clients.events, clients.iam, clients.sts]) {
    (client.middlewareStack as unknown as MiddlewareStack).add(
      (next) => (args) => {
        if (args.request?.headers) args.request.headers[SENT_AT_HEADER] = String(Date.now());
        return next(args);
      },
      // Added after the pool's own middleware, so it runs inside the limiter's wait.
      { step: "finalizeRequest", name: "chaosSentAt", priority: "low" },
    );
  }
}

/** Clients through the proxy, with fix-all's limiter at AWS's buckets or without one, attempts stamped. */
function proxyPool(
  estate: ChaosEstate,
  options: { awsRateLimits?: boolean; maxAttempts?: number },
): ClientPool {
  const pool = createClientPool({
    endpoint: estate.proxy.endpoint,
    ...(options.awsRateLimits ? {} : { apiRate: 0 }),
    ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
  });
  const stamped = new Set<string>();
  return {
    counter: pool.counter,
    clientsFor(region) {
      const clients = pool.clientsFor(region);
      if (!stamped.has(region)) stampSendTime(clients);
      stamped.add(region);
      return clients;
    },
  };
}

/**
 * Fix-all over the estate's regions through the fault proxy, 16 changes at a time, publishing to the
 * ledger (unless `ledger: false`). `awsRateLimits`: with fix-all's own limiter set to AWS's buckets
 * (otherwise none).
 */
export function fixAllThroughProxy(
  estate: ChaosEstate,
  runId: string,
  options: { awsRateLimits?: boolean; ledger?: boolean; deadlineMs?: number; maxAttempts?: number } = {},
): Promise<RunReport> {
  return runRemediation({
    // moto spends about 140 ms delivering each PutEvents entry to its rules: leave the ledger out
    // where a run's timing is what is measured.
    policy: parsePolicy(options.ledger === false ? {} : { ledgerBus: LEDGER }),
    regions: estate.regions,
    mode: "fix",
    trigger: { kind: "fix-all", runId },
    pool: proxyPool(estate, options),
    concurrency: 16,
    deadline: options.deadlineMs === undefined ? undefined : Date.now() + options.deadlineMs,
  });
}
