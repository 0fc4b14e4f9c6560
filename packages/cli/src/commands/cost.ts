import { type CostReport, estimateFlowLogCost } from "@flowlog-guard/core";
import { UsageError } from "../errors.ts";
import type { Io } from "../io.ts";
import { readOnlyScan } from "../read-only-scan.ts";
import { emitReport } from "./run.ts";

function daysOf(raw: unknown): number {
  if (raw === undefined) return 7;
  if (typeof raw !== "string" || !/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 455)
    throw new UsageError(
      `--days takes a whole number of days from 1 to 455 (CloudWatch keeps hourly data 455 days), not ${JSON.stringify(raw)}`,
    );
  return Number(raw);
}

/** `cost`: what the flow logs ingest, per VPC and per region, and a monthly estimate. Changes nothing. */
export async function costCommand(options: Record<string, unknown>, io: Io): Promise<number> {
  const days = daysOf(options.days);
  const { settings, pool, report } = await readOnlyScan(options, io);
  const cost = await estimateFlowLogCost(report, {
    pool,
    days,
    trafficType: settings.policy.trafficType,
    now: new Date(),
  });
  await emitReport({ ...cost, errors: report.errors }, settings, io, renderCost);
  return report.errors.length > 0 ? 3 : 0;
}

const gb = (value: number | null) => (value === null ? "n/a" : value.toFixed(2));
const usd = (value: number | null) => (value === null ? "n/a" : `$${value.toFixed(2)}`);

/** The estimate as tables: per region, then per VPC, then the notes that qualify it. */
export function renderCost(cost: CostReport & { errors: { message: string }[] }): string {
  const lines = [
    `Flow log ingestion, measured over ${cost.days} days, projected to a month (traffic type ${cost.trafficType})`,
    "",
  ];
  const table = (header: string[], rows: string[][]) => {
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    for (const row of [header, ...rows])
      lines.push(`  ${row.map((c, i) => c.padEnd(widths[i]!)).join("  ")}`.trimEnd());
    lines.push("");
  };
  table(
    ["ACCOUNT", "REGION", "GB/MONTH", "USD/MONTH"],
    cost.regions.map((r) => [r.account, r.region, gb(r.monthlyGb), usd(r.monthlyUsd)]),
  );
  table(
    ["ACCOUNT", "REGION", "VPC", "DESTINATION", "GB/MONTH", "USD/MONTH"],
    cost.vpcs.map((v) => [
      v.account,
      v.region,
      v.vpcId,
      `${v.destination}${v.shared ? " (shared)" : ""}`,
      gb(v.monthlyGb),
      usd(v.monthlyUsd),
    ]),
  );
  lines.push(`Total: ${gb(cost.total.monthlyGb)} GB/month, about ${usd(cost.total.monthlyUsd)}/month.`, "");
  for (const row of cost.destinations.filter((d) => d.note)) lines.push(`${row.destination}: ${row.note}`);
  for (const note of cost.notes) lines.push(`Note: ${note}`);
  for (const error of cost.errors) lines.push(`error: ${error.message}`);
  return `${lines.join("\n")}\n`;
}
