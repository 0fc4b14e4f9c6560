import { MOTO_ACCOUNT_ID } from "@flowlog-guard/emulator";
import { createFixAllHandler } from "@flowlog-guard/functions/fix-all-handler";
import { createRuntime } from "@flowlog-guard/functions/runtime";
import { describe, expect, it } from "vitest";
import { createBusToQueue, createVpc, flowLogsOf, testPool } from "./support/aws.ts";
import { runCli } from "./support/cli.ts";
import { decide } from "./support/iam-evaluator.ts";

const ACCOUNT = "111122223333";

describe("flowlog-guard guardrails", () => {
  it("prints an SCP within AWS's size limit that the evaluator enforces for the given approvers", async () => {
    const approver = `arn:aws:iam::${ACCOUNT}:role/SecurityApprover`;
    const result = await runCli([
      "guardrails",
      "--exception-approvers",
      `${approver}, arn:aws:iam::*:role/CloudOps*`,
      "--log-group-name",
      "/org/flow-logs/{accountId}/{vpcId}",
    ]);

    expect(result.code).toBe(0);
    expect(result.stdout.trimEnd().length).toBeLessThanOrEqual(5120);
    const scp = JSON.parse(result.stdout);
    const tagException = {
      action: "ec2:CreateTags",
      resource: `arn:aws:ec2:eu-west-1:${ACCOUNT}:vpc/vpc-0abc`,
      context: { "aws:TagKeys": ["flowlog-guard:exception-expires"] },
    };
    const deleteGroup = {
      action: "logs:DeleteLogGroup",
      resource: `arn:aws:logs:eu-west-1:${ACCOUNT}:log-group:/org/flow-logs/${ACCOUNT}/vpc-0abc`,
    };
    const as = (principalArn: string) => ({ principalArn, accountId: ACCOUNT, scp });
    expect(await decide(tagException, as(approver))).toBe("Allowed");
    expect(await decide(tagException, as(`arn:aws:iam::${ACCOUNT}:role/CloudOpsAdmin`))).toBe("Allowed");
    expect(await decide(tagException, as(`arn:aws:iam::${ACCOUNT}:role/Developer`))).toBe("ExplicitlyDenied");
    expect(await decide(deleteGroup, as(approver))).toBe("ExplicitlyDenied");
  });

  it("refuses an approver that is not a principal ARN, printing nothing on stdout (exit 2)", async () => {
    const result = await runCli(["guardrails", "--exception-approvers", "alice@example.com"]);

    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain("--exception-approvers takes IAM principal ARNs");
  });
});

const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
const exceptionTags = (owner: string, expires: string, reason = "lab network") => ({
  "flowlog-guard:exception-owner": owner,
  "flowlog-guard:exception-expires": expires,
  "flowlog-guard:exception-reason": reason,
});

describe("flowlog-guard exceptions", () => {
  it("lists every exception worst first with days left and verdict, and exits 3 when one needs attention", async () => {
    const pool = testPool();
    const valid = await createVpc(pool, "eu-west-1", exceptionTags("team-a", day(60)));
    const expiring = await createVpc(pool, "eu-west-1", exceptionTags("team-b", day(5)), "10.1.0.0/16");
    const expired = await createVpc(pool, "eu-west-1", exceptionTags("team-c", day(-2)), "10.2.0.0/16");
    const invalid = await createVpc(
      pool,
      "eu-west-1",
      { "flowlog-guard:exception-expires": "soon" },
      "10.3.0.0/16",
    );
    await createVpc(pool, "eu-west-1", {}, "10.4.0.0/16");

    const result = await runCli(["exceptions", "--regions", "eu-west-1", "--json"]);

    expect(result.code).toBe(3);
    const register = JSON.parse(result.stdout);
    expect(register.summary).toEqual({ exceptions: 4, invalid: 1, expired: 1, expiring: 1, valid: 1 });
    expect(register.exceptions.map((e: { vpcId: string; verdict: string }) => [e.vpcId, e.verdict])).toEqual([
      [invalid, "invalid"],
      [expired, "expired"],
      [expiring, "expiring"],
      [valid, "valid"],
    ]);
    expect(register.exceptions[2]).toMatchObject({
      account: MOTO_ACCOUNT_ID,
      region: "eu-west-1",
      owner: "team-b",
      expires: day(5),
      reason: "lab network",
    });
    expect(register.exceptions[2].daysLeft).toBeGreaterThanOrEqual(4);
    expect(register.exceptions[2].daysLeft).toBeLessThanOrEqual(5);
    expect(register.exceptions[0].problems.join(" ")).toMatch(/missing owner.*malformed expiry/);
    // Scanning changes nothing.
    expect(await flowLogsOf(pool, "eu-west-1", expired)).toHaveLength(0);
  });

  it("exits 0 when every exception is valid beyond the window, and the window is a flag", async () => {
    const pool = testPool();
    await createVpc(pool, "eu-west-1", exceptionTags("team-a", day(20)));

    const within14 = await runCli(["exceptions", "--regions", "eu-west-1"]);
    const within30 = await runCli(["exceptions", "--regions", "eu-west-1", "--expiring-within", "30"]);
    const bad = await runCli(["exceptions", "--regions", "eu-west-1", "--expiring-within", "two weeks"]);

    expect(within14.code).toBe(0);
    expect(within14.stdout).toMatch(/valid\s+123456789012\s+eu-west-1\s+vpc-\w+\s+team-a/);
    expect(within30.code).toBe(3);
    expect(within30.stdout).toContain("EXPIRING");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--expiring-within takes a whole number of days");
  });
});

describe("daily sweep: Exception Expiring events on the ledger bus (moto EventBridge)", () => {
  it("publishes one event per exception expiring within 14 days, and none for the others", async () => {
    const runtime = await createRuntime({ FLOWLOG_GUARD_LEDGER_BUS: "flowlog-guard-ledger" });
    const ledger = await createBusToQueue(runtime.pool, "eu-west-1", {
      bus: "flowlog-guard-ledger",
      pattern: { source: ["flowlog-guard"], "detail-type": ["Exception Expiring"] },
    });
    const expiring = await createVpc(runtime.pool, "eu-west-1", exceptionTags("team-b", day(3)));
    await createVpc(runtime.pool, "eu-west-1", exceptionTags("team-a", day(90)), "10.1.0.0/16");
    await createVpc(runtime.pool, "eu-west-1", exceptionTags("team-c", day(-1)), "10.2.0.0/16");
    const scheduled = { "detail-type": "Scheduled Event", source: "aws.scheduler", detail: {} };

    process.env.AWS_REGION = "eu-west-1";
    process.env.FLOWLOG_GUARD_REGIONS = "eu-west-1";
    try {
      const result = await createFixAllHandler(runtime)(scheduled, {
        getRemainingTimeInMillis: () => 900_000,
      });
      expect(result.exceptionsExpiring).toEqual({ published: 1, undelivered: [] });
    } finally {
      delete process.env.FLOWLOG_GUARD_REGIONS;
      process.env.AWS_REGION = "us-east-1";
    }

    const events = (await ledger.drain()) as { "detail-type": string; detail: Record<string, unknown> }[];
    expect(events).toHaveLength(1);
    expect(events[0]!.detail).toMatchObject({
      vpcId: expiring,
      account: MOTO_ACCOUNT_ID,
      region: "eu-west-1",
      owner: "team-b",
      verdict: "expiring",
      expiringWithinDays: 14,
    });
  });

  it("publishes nothing on a manual (not scheduled) run", async () => {
    const runtime = await createRuntime({ FLOWLOG_GUARD_LEDGER_BUS: "flowlog-guard-ledger" });
    await createVpc(runtime.pool, "us-east-1", exceptionTags("team-b", day(3)));

    const result = await createFixAllHandler(runtime)(
      { regions: ["us-east-1"] },
      { getRemainingTimeInMillis: () => 900_000 },
    );

    expect(result.exceptionsExpiring).toBeUndefined();
  });
});
