import { CreateVpcCommand } from "@aws-sdk/client-ec2";
import {
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
import { type FaultProxy, type FaultRule, startFaultProxy } from "./fault-proxy.ts";

export const CHAOS_REGION = "eu-west-1";
export const LEDGER = `arn:aws:events:${CHAOS_REGION}:123456789012:event-bus/ledger`;

export interface ChaosEstate {
  /** VPCs that must end compliant (default VPC included). */
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

/** Seeds `count` VPCs (every tenth exempt) straight into moto, then puts a fault proxy in front of it. */
export async function buildChaosEstate(
  endpoint: string,
  count: number,
  rules: FaultRule[],
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
    const response = await direct.clientsFor(CHAOS_REGION).ec2.send(
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
    vpcIds: created.filter((vpc) => !vpc.exempt).map((vpc) => vpc.vpcId),
    exemptIds: created.filter((vpc) => vpc.exempt).map((vpc) => vpc.vpcId),
    ledger,
    proxy,
    pool: createClientPool({ apiRate: 0, endpoint: proxy.endpoint }),
    direct,
  };
}

/** Change records that reached the ledger bus, and how many there were of each (recordId) and change. */
export async function drainRecords(ledger: EventCapture): Promise<ChangeRecord[]> {
  return (await ledger.drain()).map((event) => event.detail as ChangeRecord);
}

/** Fault counts from the proxy's log, for reports and docs. */
export function faultFigures(proxy: FaultProxy): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const entry of proxy.log) counts[entry.fault] = (counts[entry.fault] ?? 0) + 1;
  return { calls: proxy.log.length, ...counts };
}

/**
 * Fix-all over the chaos region through the fault proxy, 16 changes at a time, publishing to the
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
    regions: [CHAOS_REGION],
    mode: "fix",
    trigger: { kind: "fix-all", runId },
    pool: options.awsRateLimits
      ? createClientPool({ endpoint: estate.proxy.endpoint })
      : options.maxAttempts
        ? createClientPool({ apiRate: 0, endpoint: estate.proxy.endpoint, maxAttempts: options.maxAttempts })
        : estate.pool,
    concurrency: 16,
    deadline: options.deadlineMs === undefined ? undefined : Date.now() + options.deadlineMs,
  });
}
