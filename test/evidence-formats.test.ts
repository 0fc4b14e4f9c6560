import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MOTO_ACCOUNT_ID } from "@flowlog-guard/emulator";
import { beforeEach, describe, expect, it } from "vitest";
import { createVpc, run, testPool } from "./support/aws.ts";
import { CHROMIUM, NO_CHROMIUM_MESSAGE, pixelStats, printToPdf, screenshot } from "./support/browser.ts";
import { runCli } from "./support/cli.ts";

const HOSTILE_NAME = '=HYPERLINK("http://x")<script>alert(1)</script>';
const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

/** RFC 4180 rows, quotes and embedded commas included. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted && c === '"' && text[i + 1] === '"') {
      cell += '"';
      i++;
    } else if (c === '"') {
      quoted = !quoted;
    } else if (!quoted && c === ",") {
      row.push(cell);
      cell = "";
    } else if (!quoted && c === "\r" && text[i + 1] === "\n") {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
      i++;
    } else {
      cell += c;
    }
  }
  return rows;
}

let estate: { compliant: string; open: string; hostile: string; exempt: string; east: string };

beforeEach(async () => {
  const pool = testPool();
  const compliant = await createVpc(pool, "eu-west-1", { Name: "payments" });
  await run(pool, { regions: ["eu-west-1"], vpcIds: [compliant] });
  estate = {
    compliant,
    open: await createVpc(pool, "eu-west-1", { Name: "analytics" }, "10.1.0.0/16"),
    hostile: await createVpc(pool, "eu-west-1", { Name: HOSTILE_NAME }, "10.2.0.0/16"),
    exempt: await createVpc(
      pool,
      "eu-west-1",
      {
        Name: "lab",
        "flowlog-guard:exception-owner": "net-team",
        "flowlog-guard:exception-expires": day(30),
        "flowlog-guard:exception-reason": "packet capture lab <img src=x onerror=alert(1)>",
      },
      "10.3.0.0/16",
    ),
    east: await createVpc(pool, "us-east-1", { Name: "edge" }, "10.4.0.0/16"),
  };
});

const REGIONS = ["--regions", "eu-west-1,us-east-1"];

describe("scan --format csv", () => {
  it("prints one row per VPC with account, region, id, name, status, reason, flow logs, destination, retention, exception", async () => {
    const result = await runCli(["scan", ...REGIONS, "--format", "csv"]);

    expect(result.code).toBe(3);
    const [header, ...rows] = parseCsv(result.stdout);
    expect(header).toEqual([
      "account",
      "region",
      "vpc_id",
      "vpc_name",
      "status",
      "reason",
      "flow_log_ids",
      "destination",
      "retention_days",
      "exception_owner",
      "exception_expires",
    ]);
    const byId = new Map(rows.map((row) => [row[2], Object.fromEntries(header!.map((h, i) => [h, row[i]]))]));
    expect(rows.length).toBe(byId.size);
    expect(byId.get(estate.compliant)).toMatchObject({
      account: MOTO_ACCOUNT_ID,
      region: "eu-west-1",
      vpc_name: "payments",
      status: "compliant",
      destination: `/aws/vpc-flow-logs/${estate.compliant}`,
      retention_days: "365",
    });
    expect(byId.get(estate.compliant)!.flow_log_ids).toMatch(/^fl-\w+$/);
    expect(byId.get(estate.open)).toMatchObject({ status: "non-compliant", flow_log_ids: "" });
    expect(byId.get(estate.exempt)).toMatchObject({
      status: "exempt",
      exception_owner: "net-team",
      exception_expires: day(30),
    });
    expect(byId.get(estate.east)).toMatchObject({ region: "us-east-1", vpc_name: "edge" });
    // A tag value is never run as a spreadsheet formula.
    expect(byId.get(estate.hostile)!.vpc_name).toBe(`'${HOSTILE_NAME}`);
  });

  it("keeps --json as --format json, and refuses --json with another format", async () => {
    const viaJson = await runCli(["scan", "--regions", "eu-west-1", "--json"]);
    const viaFormat = await runCli(["scan", "--regions", "eu-west-1", "--format", "json"]);
    const both = await runCli(["scan", "--regions", "eu-west-1", "--json", "--format", "csv"]);

    const strip = (text: string) => ({ ...JSON.parse(text), summary: undefined, generatedAt: undefined });
    expect(strip(viaFormat.stdout).vpcs).toEqual(strip(viaJson.stdout).vpcs);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("--json means --format json");
  });
});

describe("scan --format markdown", () => {
  it("is a compliance report: scope, policy, controls, totals per account and region, every non-compliant and exempt VPC", async () => {
    const result = await runCli(["scan", ...REGIONS, "--format", "markdown"]);
    const md = result.stdout;

    expect(md).toMatch(/^# VPC flow logging compliance report/);
    expect(md).toContain("**NOT COMPLIANT:");
    for (const heading of [
      "## Scope",
      "## Policy in force",
      "## Controls evidenced",
      "## Totals per account",
      "## Totals per region",
      "## Non-compliant, exempt and not-owned VPCs",
      "## Change records of this run",
    ])
      expect(md).toContain(heading);
    expect(md).toContain("| Minimum retention | 365 days |");
    expect(md).toMatch(/\| AWS Security Hub .* \| EC2\.6 \|/);
    expect(md).toMatch(/\| NIST SP 800-53 Rev\. 5 \| AU-12 \|/);
    expect(md).toContain(`- Regions: eu-west-1, us-east-1`);
    expect(md).toMatch(new RegExp(`\\| ${MOTO_ACCOUNT_ID} \\| eu-west-1 \\| \\d+ \\| 1 \\|`));
    const findingLine = (vpcId: string) => md.split("\n").find((line) => line.includes(vpcId)) ?? "";
    expect(findingLine(estate.open)).toMatch(/^\| non-compliant \|.*analytics/);
    expect(findingLine(estate.exempt)).toMatch(/^\| exempt \|.*packet capture lab.*\| net-team \|/);
    expect(findingLine(estate.east)).toContain("us-east-1");
    expect(md).not.toContain(`| ${estate.compliant} |`);
    // Markdown viewers render inline HTML: tag values cannot inject any.
    expect(md).toContain("packet capture lab &lt;img src=x onerror=alert(1)>");
    expect(md).not.toContain("<img");
  });
});

describe("fix-all --format html, rendered in a real headless Chromium", () => {
  it.skipIf(!CHROMIUM)(
    CHROMIUM
      ? "renders a non-blank, styled, printable page with the run's change records"
      : NO_CHROMIUM_MESSAGE,
    async () => {
      const result = await runCli(["fix-all", ...REGIONS, "--format", "html"]);
      const dir = mkdtempSync(join(tmpdir(), "flowlog-guard-html-"));
      const file = join(dir, "report.html");
      writeFileSync(file, result.stdout);

      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^<!doctype html>/);
      // Self-contained and inert: no scripts, no external resources; tag values are escaped.
      expect(result.stdout).not.toMatch(/<(script|link|img|iframe)\b|url\(/i);
      expect(result.stdout).toContain("packet capture lab &lt;img src=x onerror=alert(1)&gt;");
      expect(result.stdout).toContain("create-flow-log");
      expect(result.stdout).toContain(estate.east);

      const stats = pixelStats(await screenshot(file, join(dir, "report.png")));
      expect(stats.inked).toBeGreaterThan(0.02);
      // Tables of totals, findings and change records make a long page, not a stub.
      expect(stats.contentHeight).toBeGreaterThan(900);
      // The COMPLIANT verdict box is drawn in its green (#1a7f37 text on #dafbe1): the CSS applied.
      expect(stats.countNear([0xda, 0xfb, 0xe1])).toBeGreaterThan(2_000);

      const pdf = await printToPdf(file, join(dir, "report.pdf"));
      expect(pdf.subarray(0, 5).toString()).toBe("%PDF-");
      expect((pdf.toString("latin1").match(/\/Type\s*\/Page[^s]/g) ?? []).length).toBeGreaterThanOrEqual(1);
    },
  );
});
