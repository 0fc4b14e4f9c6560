/**
 * The S3 case of `npm run bench`: the same estate fixed with `destinationType s3` into one bucket.
 * Counts write calls per remediated VPC (target <= 0.1: one CreateFlowLogs per 300 VPCs of a region,
 * no role, no log groups) and reads every flow log back through the API, as the estate hold-out
 * checks do: destination type, bucket ARN, file format and partitions.
 */
import { randomUUID } from "node:crypto";
import { type FlowLog, paginateDescribeFlowLogs } from "@aws-sdk/client-ec2";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { type ClientPool, createClientPool, parsePolicy, runRemediation } from "@flowlog-guard/core";

const BUCKET = "bench-log-archive";
const DESTINATION = `arn:aws:s3:::${BUCKET}/vpc-flow-logs`;
const WRITE =
  /^(EC2:Create|EC2:Modify|Logs:Create|Logs:Put|IAM:Create|IAM:Put|IAM:Update|IAM:Tag|EventBridge:Put)/;

async function readAll(pool: ClientPool, region: string): Promise<FlowLog[]> {
  const found: FlowLog[] = [];
  const pages = paginateDescribeFlowLogs({ client: pool.clientsFor(region).ec2, pageSize: 1000 }, {});
  for await (const page of pages) found.push(...(page.FlowLogs ?? []));
  return found;
}

/** Problems with one region's flow logs as read back: one per VPC, to the bucket, with the options. */
function holdOutProblems(flowLogs: FlowLog[], vpcIds: readonly string[]): string[] {
  const byVpc = new Map<string, FlowLog[]>();
  for (const flowLog of flowLogs)
    byVpc.set(flowLog.ResourceId ?? "", [...(byVpc.get(flowLog.ResourceId ?? "") ?? []), flowLog]);
  return vpcIds.flatMap((vpcId) => {
    const logs = byVpc.get(vpcId) ?? [];
    const [only] = logs;
    if (logs.length !== 1 || !only) return [`${vpcId}: ${logs.length} flow logs`];
    const options = only.DestinationOptions;
    const ok =
      only.LogDestinationType === "s3" &&
      only.LogDestination === DESTINATION &&
      options?.FileFormat === "parquet" &&
      options.HiveCompatiblePartitions === true &&
      options.PerHourPartition === false &&
      !only.DeliverLogsPermissionArn;
    return ok
      ? []
      : [
          `${vpcId}: read back ${JSON.stringify({ type: only.LogDestinationType, to: only.LogDestination, options })}`,
        ];
  });
}

export async function benchS3Case(
  regions: readonly string[],
  seeded: ReadonlyMap<string, readonly string[]>,
  print: (label: string, value: string) => void,
): Promise<void> {
  await new S3Client({ region: regions[0], forcePathStyle: true }).send(
    new CreateBucketCommand({ Bucket: BUCKET }),
  );
  const pool = createClientPool({ apiRate: 0 });
  const started = performance.now();
  const report = await runRemediation({
    policy: parsePolicy({
      destinationType: "s3",
      logDestination: DESTINATION,
      fileFormat: "parquet",
      hiveCompatiblePartitions: true,
    }),
    regions: [...regions],
    mode: "fix",
    trigger: { kind: "cli", runId: randomUUID() },
    pool,
    concurrency: 16,
  });
  const seconds = (performance.now() - started) / 1000;
  const { summary } = report;
  const writes = Object.entries(pool.counter.byOperation())
    .filter(([operation]) => WRITE.test(operation))
    .reduce((sum, [, count]) => sum + count, 0);
  const perVpc = writes / Math.max(1, summary.remediated);
  console.log(
    "\nfix-all with destinationType s3 (parquet, Hive partitions) into one bucket, same estate size",
  );
  print(
    "VPCs evaluated / remediated / failed",
    `${summary.vpcs} / ${summary.remediated} / ${summary.failed}`,
  );
  print("duration", `${seconds.toFixed(2)} s`);
  print(
    "write calls per remediated VPC (target <= 0.1)",
    `${perVpc.toFixed(4)} (${writes} writes) ${perVpc <= 0.1 ? "(met)" : "(MISSED)"}`,
  );
  const readBack = createClientPool({ apiRate: 0 });
  const problems: string[] = [];
  for (const region of regions)
    problems.push(...holdOutProblems(await readAll(readBack, region), seeded.get(region) ?? []));
  const checked = [...seeded.values()].reduce((sum, ids) => sum + ids.length, 0);
  print(
    "hold-out read-back (type, bucket, format, partitions)",
    problems.length === 0
      ? `${checked} of ${checked} VPCs as asked (met)`
      : `${problems.length} wrong (MISSED): ${problems.slice(0, 3).join("; ")}`,
  );
  console.log("API calls by operation:");
  for (const [operation, count] of Object.entries(pool.counter.byOperation()))
    console.log(`  ${operation.padEnd(30)} ${count}`);
}
