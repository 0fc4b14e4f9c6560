import { PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { MOTO_ACCOUNT_ID } from "@flowlog-guard/emulator";
import { describe, expect, it } from "vitest";
import { createVpc, run, testPool } from "./support/aws.ts";
import { runCli } from "./support/cli.ts";

const REGION = "eu-west-1";
const GIB = 1024 ** 3;

describe("flowlog-guard cost (CloudWatch IncomingBytes on moto)", () => {
  it("measures each VPC's log group over --days and projects a month at the vended-log tiers, per VPC and region", async () => {
    const pool = testPool();
    const busy = await createVpc(pool, REGION);
    const quiet = await createVpc(pool, REGION, {}, "10.1.0.0/16");
    await run(pool, { regions: [REGION], vpcIds: [busy, quiet] });
    const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000);
    // 7 GiB in the last week, and 50 GiB before the window that must not count.
    await pool.clientsFor(REGION).cloudwatch.send(
      new PutMetricDataCommand({
        Namespace: "AWS/Logs",
        MetricData: [
          [hoursAgo(2), 3 * GIB],
          [hoursAgo(50), 4 * GIB],
          [hoursAgo(24 * 20), 50 * GIB],
        ].map(([Timestamp, Value]) => ({
          MetricName: "IncomingBytes",
          Dimensions: [{ Name: "LogGroupName", Value: `/aws/vpc-flow-logs/${busy}` }],
          Timestamp: Timestamp as Date,
          Value: Value as number,
          Unit: "Bytes",
        })),
      }),
    );

    const result = await runCli(["cost", "--days", "7", "--regions", REGION, "--json"]);

    expect(result.code).toBe(0);
    const cost = JSON.parse(result.stdout);
    const vpc = (id: string) => cost.vpcs.find((v: { vpcId: string }) => v.vpcId === id);
    expect(vpc(busy)).toMatchObject({
      account: MOTO_ACCOUNT_ID,
      region: REGION,
      destination: `/aws/vpc-flow-logs/${busy}`,
      shared: false,
    });
    expect(vpc(busy).monthlyGb).toBeCloseTo(30, 6); // 7 GiB a week -> 30 GiB a month
    expect(vpc(busy).monthlyUsd).toBeCloseTo(15, 6); // first tier, $0.50/GB
    expect(vpc(quiet)).toMatchObject({ monthlyGb: 0, monthlyUsd: 0 });
    expect(cost.regions).toEqual([
      {
        account: MOTO_ACCOUNT_ID,
        region: REGION,
        monthlyGb: expect.closeTo(30, 6),
        monthlyUsd: expect.closeTo(15, 6),
      },
    ]);
    expect(cost.notes.join(" ")).toMatch(/REJECT.*ALL/);

    const text = await runCli(["cost", "--regions", REGION]);
    expect(text.stdout).toMatch(new RegExp(`${busy}\\s+/aws/vpc-flow-logs/${busy}\\s+30\\.00\\s+\\$15\\.00`));
    expect(text.stdout).toContain("Total: 30.00 GB/month, about $15.00/month.");
  });
});
