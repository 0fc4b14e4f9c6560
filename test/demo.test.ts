import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { runCli } from "./support/cli.ts";

describe("flowlog-guard demo (the README's run command)", () => {
  it("runs the whole story on its own moto and ends with every VPC compliant or exempt", async () => {
    const result = await runCli(["demo"], { env: { AWS_ENDPOINT_URL: "" } });

    expect(result.code).toBe(0);
    expect(result.stdout).toContain("flowlog-guard scan (read-only)");
    expect(result.stdout).toMatch(/ATTENTION: 5 VPC\(s\) are non-compliant/);
    expect(result.stdout).toMatch(/handler handled: CreateVpc on vpc-/);
    expect(result.stdout).toMatch(/handler handled: DeleteFlowLogs of fl-/);
    expect(result.stdout).toContain("-> 0 event(s) matched");
    expect(result.stdout).toContain("OK: every VPC is compliant or exempt (8 covered, 1 exempt).");
    const reportFile = /compliance report an auditor files.*\n\s+(\S+\.html)/.exec(result.stdout)?.[1];
    expect(reportFile).toBeDefined();
    const html = readFileSync(reportFile!, "utf8");
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain("COMPLIANT: every VPC in scope has flow logs");
    expect(html).toContain("create-flow-log");
    expect(result.stdout).toMatch(/-> vpc-\w+ remediated: create-s3-flow-log/);
    expect(result.stdout).toMatch(
      /read back: fl-\w+ s3 -> arn:aws:s3:::demo-log-archive\/vpc, parquet, Hive partitions true/,
    );
    expect(result.stdout).toMatch(/Change records that arrived on the ledger bus flowlog-guard-ledger \(22;/);
    expect(result.stdout).toContain("8. Organization mode");
    expect(result.stdout).toMatch(/accounts: 2 selected, 0 failed, 1 skipped \(\d{12} excluded\)/);
    expect(result.stdout).toContain("OK: every VPC is compliant or exempt (12 covered, 1 exempt).");
  }, 180_000);
});
