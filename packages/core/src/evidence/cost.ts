import { GetMetricDataCommand, type MetricDataQuery } from "@aws-sdk/client-cloudwatch";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import type { ClientPool } from "../aws-clients.ts";
import type { Policy } from "../config.ts";
import { awsErrorName } from "../errors.ts";
import type { RunReport } from "../report.ts";

const GIB = 1024 ** 3;
const TIB_IN_GIB = 1024;

/**
 * Vended-log delivery prices per GB in us-east-1 (CloudWatch pricing page, Logs > Vended Logs):
 * [ceiling in GB of the tier, USD per GB]. Tiers count an account's monthly vended-log volume.
 */
export const VENDED_LOG_TIERS = {
  "cloudwatch-logs": [
    [10 * TIB_IN_GIB, 0.5],
    [30 * TIB_IN_GIB, 0.25],
    [50 * TIB_IN_GIB, 0.1],
    [Number.POSITIVE_INFINITY, 0.05],
  ],
  s3: [
    [10 * TIB_IN_GIB, 0.25],
    [30 * TIB_IN_GIB, 0.15],
    [50 * TIB_IN_GIB, 0.075],
    [Number.POSITIVE_INFINITY, 0.05],
  ],
} as const satisfies Record<string, readonly (readonly [number, number])[]>;

export type DestinationKind = keyof typeof VENDED_LOG_TIERS;

/** USD for `gib` GB in a month at the tiers of one destination kind. */
export function tieredMonthlyCost(kind: DestinationKind, gib: number): number {
  let cost = 0;
  let floor = 0;
  for (const [ceiling, price] of VENDED_LOG_TIERS[kind]) {
    if (gib <= floor) break;
    cost += (Math.min(gib, ceiling) - floor) * price;
    floor = ceiling;
  }
  return cost;
}

export interface CostRow {
  account: string;
  region: string;
  /** Log group name, or S3 destination ARN. */
  destination: string;
  kind: DestinationKind;
  vpcIds: string[];
  /** Bytes measured over the window; null when they could not be read (see `note`). */
  bytes: number | null;
  monthlyGb: number | null;
  monthlyUsd: number | null;
  note?: string;
}

export interface CostReport {
  days: number;
  trafficType: Policy["trafficType"];
  destinations: CostRow[];
  vpcs: {
    account: string;
    region: string;
    vpcId: string;
    destination: string;
    monthlyGb: number | null;
    monthlyUsd: number | null;
    shared: boolean;
  }[];
  regions: { account: string; region: string; monthlyGb: number; monthlyUsd: number }[];
  total: { monthlyGb: number; monthlyUsd: number };
  notes: string[];
}

/** Where each VPC's flow log writes, grouped by destination (a shared log group serves several VPCs). */
function destinationsOf(
  report: Pick<RunReport, "vpcs">,
): Map<string, Omit<CostRow, "bytes" | "monthlyGb" | "monthlyUsd">> {
  const rows = new Map<string, Omit<CostRow, "bytes" | "monthlyGb" | "monthlyUsd">>();
  for (const vpc of report.vpcs) {
    if (!vpc.destination || vpc.flowLogIds.length === 0) continue;
    const kind: DestinationKind =
      vpc.destination.startsWith("arn:") && vpc.destination.includes(":s3:::") ? "s3" : "cloudwatch-logs";
    const key = `${vpc.account}/${vpc.region}/${vpc.destination}`;
    const row = rows.get(key) ?? {
      account: vpc.account,
      region: vpc.region,
      destination: vpc.destination,
      kind,
      vpcIds: [],
    };
    row.vpcIds.push(vpc.vpcId);
    rows.set(key, row);
  }
  return rows;
}

/** Sum of IncomingBytes (uncompressed) per log group over the window, 500 groups per GetMetricData call. */
async function incomingBytes(
  pool: ClientPool,
  region: string,
  groups: string[],
  start: Date,
  end: Date,
): Promise<Map<string, number>> {
  const totals = new Map<string, number>();
  const seconds = Math.max(60, Math.round((end.getTime() - start.getTime()) / 60_000) * 60);
  for (let i = 0; i < groups.length; i += 500) {
    const batch = groups.slice(i, i + 500);
    const queries: MetricDataQuery[] = batch.map((group, j) => ({
      Id: `g${j}`,
      MetricStat: {
        Metric: {
          Namespace: "AWS/Logs",
          MetricName: "IncomingBytes",
          Dimensions: [{ Name: "LogGroupName", Value: group }],
        },
        Period: seconds,
        Stat: "Sum",
      },
    }));
    let NextToken: string | undefined;
    do {
      const page = await pool
        .clientsFor(region)
        .cloudwatch.send(
          new GetMetricDataCommand({ MetricDataQueries: queries, StartTime: start, EndTime: end, NextToken }),
        );
      for (const result of page.MetricDataResults ?? []) {
        const group = batch[Number(result.Id?.slice(1))];
        if (group)
          totals.set(group, (totals.get(group) ?? 0) + (result.Values ?? []).reduce((a, b) => a + b, 0));
      }
      NextToken = page.NextToken;
    } while (NextToken);
  }
  return totals;
}

/** Size of the flow log objects written in the window under an S3 destination (compressed bytes). */
async function s3Bytes(
  pool: ClientPool,
  row: Pick<CostRow, "account" | "region" | "destination">,
  start: Date,
): Promise<number> {
  const [bucket, ...rest] = row.destination.replace(/^arn:[^:]+:s3:::/, "").split("/");
  const folder = rest.filter(Boolean).join("/");
  const Prefix = `${folder ? `${folder}/` : ""}AWSLogs/${row.account}/vpcflowlogs/${row.region}/`;
  let bytes = 0;
  let ContinuationToken: string | undefined;
  do {
    const page = await pool
      .clientsFor(row.region)
      .s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix, ContinuationToken }));
    for (const object of page.Contents ?? [])
      if ((object.LastModified ?? start) >= start) bytes += object.Size ?? 0;
    ContinuationToken = page.NextContinuationToken;
  } while (ContinuationToken);
  return bytes;
}

function trafficNote(trafficType: Policy["trafficType"]): string {
  return trafficType === "REJECT"
    ? 'Traffic type REJECT logs only rejected connections; ALL also logs accepted traffic and is usually many times larger (CIS: REJECT "will dramatically reduce the logging data accumulation"). AWS publishes no ratio: measure before switching.'
    : 'Traffic type ALL logs accepted and rejected traffic; REJECT (the CIS recommendation) logs only rejected connections and "will dramatically reduce the logging data accumulation". AWS publishes no ratio: this measurement is the best estimate.';
}

/**
 * `cost`: measures what the flow logs of a scan ingested over the last `days` days (IncomingBytes of
 * each CloudWatch Logs group; object sizes under an S3 destination where the bucket is readable) and
 * projects a 30-day month at the us-east-1 vended-log tiers, applied to each account's total.
 */
export async function estimateFlowLogCost(
  report: Pick<RunReport, "vpcs">,
  options: { pool: ClientPool; days: number; trafficType: Policy["trafficType"]; now: Date },
): Promise<CostReport> {
  const end = options.now;
  const start = new Date(end.getTime() - options.days * 86_400_000);
  const monthly = (bytes: number) => (bytes / GIB) * (30 / options.days);
  const pending = [...destinationsOf(report).values()];
  const rows: CostRow[] = [];
  for (const region of new Set(pending.map((row) => row.region))) {
    const groups = pending.filter((row) => row.region === region && row.kind === "cloudwatch-logs");
    const measured = await incomingBytes(
      options.pool,
      region,
      [...new Set(groups.map((row) => row.destination))],
      start,
      end,
    ).catch((error: unknown) => error as Error);
    for (const row of groups) {
      const bytes = measured instanceof Error ? null : (measured.get(row.destination) ?? 0);
      rows.push({
        ...row,
        bytes,
        monthlyGb: bytes === null ? null : monthly(bytes),
        monthlyUsd: null,
        ...(measured instanceof Error
          ? { note: `IncomingBytes not readable: ${awsErrorName(measured)}` }
          : {}),
      });
    }
    for (const row of pending.filter((r) => r.region === region && r.kind === "s3")) {
      const bytes = await s3Bytes(options.pool, row, start).catch((error: unknown) => error as Error);
      rows.push(
        bytes instanceof Error
          ? {
              ...row,
              bytes: null,
              monthlyGb: null,
              monthlyUsd: null,
              note: `bucket not readable (${awsErrorName(bytes)}): see Cost Explorer usage type ${region.toUpperCase()}-S3-Egress-Bytes`,
            }
          : {
              ...row,
              bytes,
              monthlyGb: monthly(bytes),
              monthlyUsd: null,
              note: "S3 object sizes are compressed; delivery is billed on AWS's own metering",
            },
      );
    }
  }
  return priceRows(rows, options);
}

/** Prices each row at its account's blended tier rate, and totals per VPC, region and overall. */
function priceRows(
  rows: CostRow[],
  options: { days: number; trafficType: Policy["trafficType"] },
): CostReport {
  for (const kind of Object.keys(VENDED_LOG_TIERS) as DestinationKind[]) {
    for (const account of new Set(rows.map((row) => row.account))) {
      const mine = rows.filter(
        (row) => row.account === account && row.kind === kind && row.monthlyGb !== null,
      );
      const gb = mine.reduce((sum, row) => sum + row.monthlyGb!, 0);
      const rate = gb > 0 ? tieredMonthlyCost(kind, gb) / gb : VENDED_LOG_TIERS[kind][0][1];
      for (const row of mine) row.monthlyUsd = row.monthlyGb! * rate;
    }
  }
  const regions = new Map<string, CostReport["regions"][number]>();
  for (const row of rows) {
    const key = `${row.account}/${row.region}`;
    const entry = regions.get(key) ?? {
      account: row.account,
      region: row.region,
      monthlyGb: 0,
      monthlyUsd: 0,
    };
    entry.monthlyGb += row.monthlyGb ?? 0;
    entry.monthlyUsd += row.monthlyUsd ?? 0;
    regions.set(key, entry);
  }
  const vpcs = rows.flatMap((row) =>
    row.vpcIds.map((vpcId) => ({
      account: row.account,
      region: row.region,
      vpcId,
      destination: row.destination,
      // A shared log group's volume cannot be split by VPC: the VPC row shows the group's.
      monthlyGb: row.monthlyGb,
      monthlyUsd: row.monthlyUsd,
      shared: row.vpcIds.length > 1,
    })),
  );
  const total = [...regions.values()].reduce(
    (sum, r) => ({ monthlyGb: sum.monthlyGb + r.monthlyGb, monthlyUsd: sum.monthlyUsd + r.monthlyUsd }),
    { monthlyGb: 0, monthlyUsd: 0 },
  );
  return {
    days: options.days,
    trafficType: options.trafficType,
    destinations: rows,
    vpcs,
    regions: [...regions.values()],
    total,
    notes: [
      `Measured over the last ${options.days} days and projected to 30 days. GB = 2^30 bytes; IncomingBytes is uncompressed.`,
      "Prices: us-east-1 vended-log delivery tiers (CloudWatch Logs $0.50/GB first 10 TB, then $0.25, $0.10, $0.05; S3 $0.25, $0.15, $0.075, $0.05), applied to each account's total; other regions cost more (e.g. Tokyo about 1.5x). Storage and the 5 GB free tier are not included. Check https://aws.amazon.com/cloudwatch/pricing/.",
      trafficNote(options.trafficType),
    ],
  };
}
