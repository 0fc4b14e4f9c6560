import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { paginateDescribeLogGroups } from "@aws-sdk/client-cloudwatch-logs";
import { describe, expect, it } from "vitest";
import { createVpc, testPool } from "./support/aws.ts";
import { runCliInTerminal } from "./support/cli.ts";

const REGION = "eu-west-1";

/** Issue #12 defect 3: Ctrl-C stops new work, finishes what is in flight, writes the partial report. */
describe("fix-all interrupted with Ctrl-C", () => {
  it("over 300 VPCs leaves no managed log group without retention, writes the partial report and exits 130", async () => {
    const pool = testPool();
    for (let i = 0; i < 300; i++) await createVpc(pool, REGION);
    const output = join(await mkdtemp(join(tmpdir(), "fg-interrupt-")), "report.json");

    const result = await runCliInTerminal(
      ["fix-all", "--regions", REGION, "--yes", "--concurrency", "1", "--api-rate", "0", "--output", output],
      // Ten changes in: past the delivery role's own changes, so log groups exist when Ctrl-C comes.
      { interruptWhen: /changing\s+\[[^\]]*\] [1-9]\d+\/\d+ changes/ },
    );

    expect(result.code).toBe(130);
    expect(result.output).toContain("interrupted; finishing the changes in flight");
    const report = JSON.parse(await readFile(output, "utf8"));
    expect(report.mode).toBe("fix");
    expect(report.summary.vpcs).toBe(301);
    // Partial: some changes were made, and the VPCs whose work did not start are reported as not fixed.
    expect(report.summary.changes).toBeGreaterThan(0);
    expect(report.summary.remediated).toBeLessThan(301);
    expect(report.summary.failed + report.summary.nonCompliant).toBeGreaterThan(0);
    const groups = [];
    for await (const page of paginateDescribeLogGroups(
      { client: pool.clientsFor(REGION).logs },
      { logGroupNamePrefix: "/aws/vpc-flow-logs/" },
    ))
      groups.push(...(page.logGroups ?? []));
    expect(groups.length).toBeGreaterThan(0);
    expect(groups.filter((group) => group.retentionInDays === undefined)).toEqual([]);
  }, 180_000);
});
