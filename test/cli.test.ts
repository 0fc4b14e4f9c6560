import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EXCEPTION_TAGS } from "@flowlog-guard/core";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { createVpc, flowLogsOf, testPool } from "./support/aws.ts";
import { runCli } from "./support/cli.ts";
import { FIXTURE_VPC, fixture } from "./support/events.ts";

const REGION = "eu-west-1";

/** The report fields operators script against (issue contract); extra fields are allowed. */
const ReportContract = z.object({
  summary: z.object({
    vpcs: z.number(),
    compliant: z.number(),
    remediated: z.number(),
    wouldRemediate: z.number(),
    nonCompliant: z.number(),
    exempt: z.number(),
    failed: z.number(),
    apiCalls: z.number(),
    durationMs: z.number(),
  }),
  vpcs: z.array(
    z.object({
      account: z.string(),
      region: z.string(),
      vpcId: z.string(),
      isDefault: z.boolean(),
      status: z.enum(["compliant", "non-compliant", "exempt", "remediated", "would-remediate", "failed"]),
      reason: z.string(),
      flowLogIds: z.array(z.string()),
      exception: z.unknown(),
      changes: z.array(z.unknown()),
    }),
  ),
  errors: z.array(z.unknown()),
});

describe("flowlog-guard CLI against moto", () => {
  it("scan reports and exits 3; dry-run changes nothing; fix-all fixes and exits 0; a second fix-all changes nothing", async () => {
    const pool = testPool();
    const vpcId = await createVpc(pool, REGION);
    const exempt = await createVpc(pool, REGION, {
      [EXCEPTION_TAGS.owner]: "team-a",
      [EXCEPTION_TAGS.expires]: new Date(Date.now() + 7 * 86_400_000).toISOString().slice(0, 10),
    });

    const scan = await runCli(["scan", "--regions", REGION, "--json"]);
    expect(scan.code).toBe(3);
    const scanReport = ReportContract.parse(JSON.parse(scan.stdout));
    expect(scanReport.vpcs.find((vpc) => vpc.vpcId === vpcId)?.status).toBe("non-compliant");
    expect(scanReport.vpcs.find((vpc) => vpc.vpcId === exempt)?.status).toBe("exempt");

    const dryRun = await runCli(["fix-all", "--dry-run", "--regions", REGION, "--json"]);
    expect(dryRun.code).toBe(3);
    expect(ReportContract.parse(JSON.parse(dryRun.stdout)).summary.wouldRemediate).toBe(2);
    expect(await flowLogsOf(pool, REGION, vpcId)).toHaveLength(0);

    const fix = await runCli(["fix-all", "--regions", REGION]);
    expect(fix.code).toBe(0);
    expect(fix.stdout).toContain("OK: every VPC is compliant or exempt");
    expect(await flowLogsOf(pool, REGION, vpcId)).toHaveLength(1);
    expect(await flowLogsOf(pool, REGION, exempt)).toHaveLength(0);

    const again = await runCli(["fix-all", "--regions", REGION, "--json"]);
    expect(again.code).toBe(0);
    const againReport = JSON.parse(again.stdout);
    ReportContract.parse(againReport);
    expect(againReport.summary).toMatchObject({ remediated: 0, changes: 0 });
    expect(await flowLogsOf(pool, REGION, vpcId)).toHaveLength(1);
  });

  it("keeps going when one region fails, reports it, and exits 3", async () => {
    const pool = testPool();
    const vpcId = await createVpc(pool, REGION);

    const result = await runCli(["fix-all", "--regions", `${REGION},xx-west-9`, "--json"], {
      env: { AWS_MAX_ATTEMPTS: "1" },
    });

    expect(result.code).toBe(3);
    const report = ReportContract.parse(JSON.parse(result.stdout));
    expect(report.errors).toEqual([expect.objectContaining({ scope: "region", region: "xx-west-9" })]);
    expect(report.vpcs.find((vpc) => vpc.vpcId === vpcId)?.status).toBe("remediated");
  });

  it("prints only JSON with --json, and writes --output as well as the human report", async () => {
    await createVpc(testPool(), REGION);
    const dir = await mkdtemp(join(tmpdir(), "fg-cli-"));
    const output = join(dir, "report.json");

    const result = await runCli(["scan", "--regions", REGION, "--output", output]);

    expect(result.stdout).toContain("REGION");
    expect(ReportContract.parse(JSON.parse(await readFile(output, "utf8"))).summary.vpcs).toBe(2);
  });

  it.each([
    [["scan", "--regions", REGION, "--retention-days", "30"], "--retention-days: must be at least 365"],
    [["scan", "--regions", "not a region"], "--regions takes region names"],
    [
      ["fix-all", "--regions", REGION, "--concurrency", "0"],
      "--concurrency must be a whole number from 1 to 64",
    ],
    [["fix-all", "--regions", REGION, "--api-rate", "fast"], "--api-rate must be a number"],
    [
      ["fix-all", "--regions", REGION, "--traffic-type", "ACCEPT"],
      '--traffic-type: must be REJECT or ALL, not "ACCEPT"',
    ],
    [["fix-all", "--bogus"], "unknown option '--bogus'"],
    [["frobnicate"], "unknown command 'frobnicate'"],
    [["help", "frobnicate"], "unknown command 'frobnicate' (commands: scan, fix-all,"],
  ])("refuses %j with exit 2 and changes nothing", async (args, message) => {
    const pool = testPool();
    const vpcId = await createVpc(pool, REGION);

    const result = await runCli(args);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(await flowLogsOf(pool, REGION, vpcId)).toHaveLength(0);
  });

  it("refuses an unknown FLOWLOG_GUARD_* variable, naming it", async () => {
    const result = await runCli(["scan", "--regions", REGION], {
      env: { FLOWLOG_GUARD_RETENTON_DAYS: "400" },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      "Unknown environment variable FLOWLOG_GUARD_RETENTON_DAYS (did you mean FLOWLOG_GUARD_RETENTION_DAYS?)",
    );
  });

  it("takes policy from FLOWLOG_GUARD_* and from flags named like the config schema", async () => {
    const pool = testPool();
    const vpcId = await createVpc(pool, REGION);

    const result = await runCli(["fix-all", "--regions", REGION, "--retentionDays", "731"], {
      env: { FLOWLOG_GUARD_TRAFFIC_TYPE: "ALL" },
    });

    expect(result.code).toBe(0);
    expect((await flowLogsOf(pool, REGION, vpcId))[0]?.TrafficType).toBe("ALL");
    expect(result.stdout).toContain("Changes made");
  });

  it("handle-event replays an event from a file or stdin, and refuses a malformed one with exit 2", async () => {
    const pool = testPool();
    const vpcId = await createVpc(pool, REGION);
    const event = JSON.stringify(fixture("ec2-create-vpc-cloudformation", { [FIXTURE_VPC]: vpcId }));

    const handled = await runCli(["handle-event", "-", "--json"], { stdin: event });
    expect(handled.code).toBe(0);
    expect(JSON.parse(handled.stdout)).toMatchObject({
      status: "handled",
      report: { summary: { remediated: 1 } },
    });
    expect(await flowLogsOf(pool, REGION, vpcId)).toHaveLength(1);

    const human = await runCli(["handle-event", "-"], { stdin: event });
    expect(human.stdout).toContain("HANDLED: CreateVpc on");
    expect(human.stdout).toContain("flowlog-guard handle-event (re-checked what the event names) · account");

    const refused = await runCli(["handle-event", "-"], { stdin: event.replace("CreateVpc", "DeleteVpc") });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      "event refused, nothing changed. detail.eventName: DeleteVpc is not handled",
    );
  });

  it("iam-policy prints the least-privilege policy with no '*' action", async () => {
    const result = await runCli([
      "iam-policy",
      "--account-id",
      "111122223333",
      "--ledger-bus",
      "ledger",
      "--ledger-region",
      REGION,
    ]);

    expect(result.code).toBe(0);
    const document = JSON.parse(result.stdout) as {
      Statement: { Action: string[]; Resource: string | string[] }[];
    };
    const actions = document.Statement.flatMap((statement) => statement.Action);
    expect(actions).toContain("ec2:CreateFlowLogs");
    expect(actions).toContain("events:PutEvents");
    expect(actions.some((action) => action.includes("*"))).toBe(false);
    expect(JSON.stringify(document)).toContain(
      "arn:aws:iam::111122223333:role/flowlog-guard/flowlog-guard-delivery",
    );
  });

  it("iam-policy adds the operator's commands' permissions only when their flags ask; a bad --queue is exit 2", async () => {
    const queue = "https://sqs.eu-west-1.amazonaws.com/111122223333/RemediationDlq";
    const sids = (stdout: string) =>
      (JSON.parse(stdout) as { Statement: { Sid: string }[] }).Statement.map((statement) => statement.Sid);
    const plain = await runCli(["iam-policy", "--account-id", "111122223333"]);
    const operator = await runCli([
      "iam-policy",
      "--account-id",
      "111122223333",
      "--security-hub",
      "--cost",
      "--queue",
      queue,
      "--organization",
    ]);
    const bad = await runCli(["iam-policy", "--account-id", "111122223333", "--queue", "RemediationDlq"]);

    const added = sids(operator.stdout).filter((sid) => !sids(plain.stdout).includes(sid));
    expect(added).toEqual([
      "ImportSecurityHubFindings",
      "ReadSecurityHubFindings",
      "MeasureFlowLogIngestion",
      "RedriveDeadLetterQueue",
      "AssumeMemberRoles",
      "ReadOrganization",
    ]);
    expect(operator.stdout).toContain('"arn:aws:sqs:eu-west-1:111122223333:RemediationDlq"');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--queue takes the dead-letter queue's URL");
    expect(bad.stdout).toBe("");
  });
});
