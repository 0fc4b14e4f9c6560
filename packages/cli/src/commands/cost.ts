import { type CostReport, estimateFlowLogCost } from "@flowlog-guard/core";
import { EXIT_CODES_HELP, type RegisterCommand } from "../command.ts";
import { UsageError } from "../errors.ts";
import type { Io } from "../io.ts";
import { addReadOnlyRunOptions } from "../options.ts";
import { emitReport } from "../output.ts";
import { readOnlyScan } from "../read-only-scan.ts";

function daysOf(raw: unknown): number {
  if (raw === undefined) return 7;
  if (typeof raw !== "string" || !/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 455)
    throw new UsageError(
      `--days takes a whole number of days from 1 to 455 (CloudWatch keeps hourly data 455 days), not ${JSON.stringify(raw)}`,
    );
  return Number(raw);
}

/** `cost`: what the flow logs ingest, per VPC and per region, and a monthly estimate. Changes nothing. */
async function costCommand(options: Record<string, unknown>, io: Io): Promise<number> {
  const days = daysOf(options.days);
  const { settings, pool, report } = await readOnlyScan(options, io);
  const cost = await estimateFlowLogCost(report, {
    pool,
    days,
    trafficType: settings.policy.trafficType,
    now: new Date(),
  });
  await emitReport({ ...cost, errors: report.errors }, settings, io, renderCost, settings.policy);
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

export const registerCost: RegisterCommand = (program, wire) => {
  const command = program
    .command("cost")
    .description(
      "What the flow logs ingest per VPC and region, and a monthly estimate at AWS's vended-log prices",
    )
    .option("--days <n>", "measure the last n days (default: 7)")
    .addHelpText(
      "after",
      `
Reads IncomingBytes (CloudWatch, uncompressed) of the log group each VPC's flow log writes to, and the
size of the flow log objects under an S3 destination where the bucket is readable, over the last
--days days; projects a 30-day month at the us-east-1 vended-log tiers, per VPC and per region, with a
note on what REJECT vs ALL means for volume. Changes nothing. Needs cloudwatch:GetMetricData (and
s3:ListBucket for S3 destinations) besides the scan permissions: iam-policy --cost prints them all.

Examples:
  flowlog-guard cost                                  last 7 days, every region
  flowlog-guard cost --days 30 --regions eu-west-1 --json | jq '.total'
${EXIT_CODES_HELP}`,
    );
  addReadOnlyRunOptions(command);
  wire(command, ({ io, options }) => costCommand(options, io));
};
