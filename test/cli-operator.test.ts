import { mkdtemp, readFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateEventBusCommand } from "@aws-sdk/client-eventbridge";
import { PutRolePolicyCommand } from "@aws-sdk/client-iam";
import { EXCEPTION_TAGS, PRODUCT_VERSION } from "@flowlog-guard/core";
import { afterEach, describe, expect, it } from "vitest";
import { createVpc, flowLogsOf, testPool } from "./support/aws.ts";
import { onlyProfileCredentials, runCli, runCliInTerminal } from "./support/cli.ts";
import { FIXTURE_VPC, fixture } from "./support/events.ts";
import { startFaultProxy } from "./support/fault-proxy.ts";

/** Issue #12: the CLI an operator trusts. Every test runs the real binary. */
const REGION = "eu-west-1";
const json = (stdout: string) => JSON.parse(stdout);
// biome-ignore lint/suspicious/noControlCharactersInRegex: control sequences are what is checked
const CONTROL = /\x1b\[/;

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) server.close();
});

/** A TCP endpoint that accepts connections and never answers. */
async function silentEndpoint(): Promise<string> {
  const server = createServer((socket) => {
    server.once("close", () => socket.destroy());
    socket.on("error", () => {});
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

/** A loopback port nothing listens on. */
async function closedEndpoint(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

describe("#12 defect 2: output targets are checked before the first change", () => {
  it("refuses an --output it cannot write with exit 2 and changes nothing", async () => {
    const pool = testPool();
    const vpcId = await createVpc(pool, REGION);

    const result = await runCli(["fix-all", "--regions", REGION, "--output", "/nonexistent-dir/report.json"]);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      "--output /nonexistent-dir/report.json: folder /nonexistent-dir does not exist",
    );
    expect(await flowLogsOf(pool, REGION, vpcId)).toHaveLength(0);
  });

  it("--output - writes the JSON report on stdout and the human one on stderr", async () => {
    await createVpc(testPool(), REGION);

    const result = await runCli(["scan", "--regions", REGION, "--output", "-"]);

    expect(result.code).toBe(3);
    expect(json(result.stdout).summary.vpcs).toBe(2);
    expect(result.stderr).toContain("flowlog-guard scan (read-only)");
  });
});

describe("#12 defect 4: repeated list items are counted once", () => {
  it("--regions a,a reads the region once and counts each VPC once", async () => {
    await createVpc(testPool(), REGION);

    const result = await runCli(["fix-all", "--regions", `${REGION},${REGION}`, "--json"]);

    const report = json(result.stdout);
    expect(report.regions).toEqual([REGION]);
    expect(report.summary).toMatchObject({ vpcs: 2, remediated: 2 });
  });

  it("--vpc-ids a,a covers the VPC once", async () => {
    const vpcId = await createVpc(testPool(), REGION);

    const result = await runCli(["scan", "--regions", REGION, "--vpc-ids", `${vpcId},${vpcId}`, "--json"]);

    expect(json(result.stdout).vpcs.map((vpc: { vpcId: string }) => vpc.vpcId)).toEqual([vpcId]);
  });
});

describe("#12 defect 6: unreachable and hanging endpoints", () => {
  it("a refused connection is reported in the JSON, exit 3, not 'unexpected error'", async () => {
    const endpoint = await closedEndpoint();

    const result = await runCli(["scan", "--regions", REGION, "--json"], {
      env: { AWS_ENDPOINT_URL: endpoint, AWS_MAX_ATTEMPTS: "1" },
    });

    expect(result.code).toBe(3);
    expect(result.stderr).not.toContain("unexpected error");
    const report = json(result.stdout);
    expect(report.errors).toContainEqual(
      expect.objectContaining({
        scope: "region",
        region: REGION,
        message: expect.stringContaining("ECONNREFUSED"),
      }),
    );
  });

  it("an endpoint that never answers times out instead of hanging", async () => {
    const endpoint = await silentEndpoint();
    const started = Date.now();

    const result = await runCli(["scan", "--regions", REGION, "--json", "--request-timeout", "1"], {
      env: { AWS_ENDPOINT_URL: endpoint, AWS_MAX_ATTEMPTS: "1" },
    });

    expect(result.code).toBe(3);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(json(result.stdout).errors).toContainEqual(
      expect.objectContaining({
        scope: "region",
        region: REGION,
        message: expect.stringContaining("ETIMEDOUT"),
      }),
    );
  });

  it("a region that hangs is isolated in errors and the others are read", async () => {
    const pool = testPool();
    const vpcId = await createVpc(pool, REGION);
    const proxy = await startFaultProxy(process.env.AWS_ENDPOINT_URL!, [
      (call) =>
        call.region === "us-east-2" && call.service === "ec2" ? { kind: "pass", delayMs: 30_000 } : undefined,
    ]);
    try {
      const result = await runCli(
        ["scan", "--regions", `${REGION},us-east-2`, "--json", "--request-timeout", "1"],
        {
          env: { AWS_ENDPOINT_URL: proxy.endpoint, AWS_MAX_ATTEMPTS: "1" },
        },
      );

      expect(result.code).toBe(3);
      const report = json(result.stdout);
      expect(report.errors).toEqual([expect.objectContaining({ scope: "region", region: "us-east-2" })]);
      expect(report.vpcs.map((vpc: { vpcId: string }) => vpc.vpcId)).toContain(vpcId);
    } finally {
      await proxy.close();
    }
  });
});

describe("#12 defect 7: handle-event", () => {
  const createVpcEvent = (vpcId: string) =>
    JSON.stringify(fixture("ec2-create-vpc-cloudformation", { [FIXTURE_VPC]: vpcId }));

  it("warns when the VPC the event names does not exist", async () => {
    const result = await runCli(["handle-event", "-"], { stdin: createVpcEvent("vpc-0000000000000dead") });

    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      "WARNING: vpc-0000000000000dead does not exist in 123456789012/eu-west-1 (deleted since, or never created)",
    );
  });

  it("--dry-run plans and changes nothing", async () => {
    const pool = testPool();
    const vpcId = await createVpc(pool, REGION);

    const result = await runCli(["handle-event", "-", "--dry-run", "--json"], {
      stdin: createVpcEvent(vpcId),
    });

    expect(result.code).toBe(3);
    expect(json(result.stdout).report).toMatchObject({ mode: "dry-run", summary: { wouldRemediate: 1 } });
    expect(await flowLogsOf(pool, REGION, vpcId)).toHaveLength(0);
  });

  it("with no file on a terminal, says what to give instead of waiting on stdin", async () => {
    const result = await runCliInTerminal(["handle-event"]);

    expect(result.code).toBe(2);
    expect(result.output).toContain("no event given: pass a file with one EventBridge event");
  });
});

describe("#12 defect 8: the human report shows what people act on", () => {
  it("lists exempt VPCs with owner, expiry and days left, and what to do for each problem", async () => {
    const pool = testPool();
    const expires = new Date(Date.now() + 10 * 86_400_000).toISOString().slice(0, 10);
    const exempt = await createVpc(pool, REGION, {
      [EXCEPTION_TAGS.owner]: "team-a",
      [EXCEPTION_TAGS.expires]: expires,
    });

    const result = await runCli(["scan", "--regions", REGION]);

    expect(result.stdout).toMatch(new RegExp(`${exempt}\\s+team-a\\s+${expires}\\s+(9|10)\\n`));
    expect(result.stdout).toContain("do: run flowlog-guard fix-all");
  });

  it("names each VPC by its Name tag", async () => {
    const vpcId = await createVpc(testPool(), REGION, { Name: "web-prod" });

    const result = await runCli(["scan", "--regions", REGION]);

    expect(result.stdout).toContain(`${vpcId} (web-prod)  NON-COMPLIANT`);
  });

  it("lists the flow log ids of remediated VPCs", async () => {
    const pool = testPool();
    const vpcId = await createVpc(pool, REGION);

    const result = await runCli(["fix-all", "--regions", REGION]);

    const [flowLog] = await flowLogsOf(pool, REGION, vpcId);
    expect(result.stdout).toMatch(
      new RegExp(`Remediated \\(2\\):[\\s\\S]*${vpcId}\\s+${flowLog!.FlowLogId}`),
    );
  });

  it("--quiet prints the summary and the problems only", async () => {
    const pool = testPool();
    const expires = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
    for (let i = 0; i < 3; i++)
      await createVpc(pool, REGION, { [EXCEPTION_TAGS.owner]: "a", [EXCEPTION_TAGS.expires]: expires });
    const full = await runCli(["scan", "--regions", REGION]);
    const quiet = await runCli(["scan", "--regions", REGION, "--quiet"]);

    expect(full.stdout).toContain("Exempt (3):");
    expect(quiet.stdout).not.toContain("Exempt (3):");
    expect(quiet.stdout).toContain("Needs attention (1):");
    expect(quiet.stdout.split("\n").length).toBeLessThan(full.stdout.split("\n").length);
  });

  it("an IAM event replay shows no empty VPC table and does not claim every VPC is compliant", async () => {
    const event = JSON.stringify(fixture("iam-delete-role-policy"));

    const result = await runCli(["handle-event", "-"], { stdin: event });

    expect(result.stdout).not.toContain("REGION  VPCS");
    expect(result.stdout).not.toContain("every VPC is compliant");
    expect(result.stdout).toContain("Shared changes");
  });
});

describe("#12 defect 9: progress on a terminal", () => {
  it("shows the reading phase, with no control sequences for TERM=dumb", async () => {
    await createVpc(testPool(), REGION);

    const result = await runCliInTerminal(["scan", "--regions", REGION], { env: { TERM: "dumb" } });

    expect(result.output).toContain("reading: 1/1 regions");
    expect(CONTROL.test(result.output)).toBe(false);
  });
});

describe("#12 defect 10: settings errors", () => {
  it("reports every problem at once, naming the flag or the variable the user typed, with allowed values", async () => {
    const result = await runCli(
      [
        "scan",
        "--regions",
        REGION,
        "--max-aggregation-interval",
        "61",
        "--log-format",
        "${srcaddr} ${bogus}",
      ],
      { env: { FLOWLOG_GUARD_RETENTION_DAYS: "30", FLOWLOG_GUARD_TRAFIC_TYPE: "ALL" } },
    );

    expect(result.code).toBe(2);
    expect(result.stderr).toContain("4 problems with the settings");
    expect(result.stderr).toContain('--max-aggregation-interval: must be 60 or 600, not "61"');
    expect(result.stderr).toContain("FLOWLOG_GUARD_RETENTION_DAYS: must be at least 365");
    expect(result.stderr).toContain("FLOWLOG_GUARD_TRAFIC_TYPE (did you mean FLOWLOG_GUARD_TRAFFIC_TYPE?)");
    expect(result.stderr).toContain("--log-format: unknown flow log field(s) ${bogus}");
  });

  it("takes enum values in any case", async () => {
    const pool = testPool();
    const vpcId = await createVpc(pool, REGION);

    const result = await runCli(["fix-all", "--regions", REGION, "--traffic-type", "all"]);

    expect(result.code).toBe(0);
    expect((await flowLogsOf(pool, REGION, vpcId))[0]?.TrafficType).toBe("ALL");
  });
});

describe("#12 defect 11: smaller things", () => {
  it("`help scan` and bare `flowlog-guard` print help on stdout, exit 0", async () => {
    const help = await runCli(["help", "scan"]);
    const bare = await runCli([]);

    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Usage: flowlog-guard scan");
    expect(bare.code).toBe(0);
    expect(bare.stdout).toContain("Usage: flowlog-guard [options] [command]");
  });

  it("each command's --help lists only the flags that apply to it", async () => {
    const scan = await runCli(["scan", "--help"]);
    const fix = await runCli(["fix-all", "--help"]);
    const iam = await runCli(["iam-policy", "--help"]);

    expect(scan.stdout).not.toContain("--concurrency");
    expect(scan.stdout).not.toContain("--yes");
    expect(fix.stdout).toContain("--concurrency");
    expect(iam.stdout).not.toContain("--traffic-type");
    expect(iam.stdout).toContain("--role-name");
  });

  it("a missing moto says how to install it, exit 2", async () => {
    const result = await runCli(["demo"], { env: { FLOWLOG_GUARD_PYTHON: "/nonexistent/python3" } });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('pip install "moto[server]"');
    expect(result.stderr).not.toContain("unexpected");
  });

  it("AWS_PROFILE=nosuch says the profile does not exist", async () => {
    const result = await runCli(["scan", "--regions", REGION], { env: { AWS_PROFILE: "nosuch" } });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('AWS profile "nosuch" does not exist');
  });
});

describe("#12 also expected by operators", () => {
  it("--profile reads credentials from the named profile", async () => {
    const env = await onlyProfileCredentials("audit");

    const result = await runCli(["scan", "--regions", REGION, "--profile", "audit", "--json"], { env });

    expect(result.stderr).toBe("");
    expect(json(result.stdout).account).toBe("123456789012");
  });

  it("--role-arn assumes the role first", async () => {
    const result = await runCli([
      "scan",
      "--regions",
      REGION,
      "--role-arn",
      "arn:aws:iam::111122223333:role/flowlog-guard-audit",
      "--json",
    ]);

    expect(json(result.stdout).account).toBe("111122223333");
  });

  it("--vpc-ids, --exclude-vpc-ids and --tag choose the VPCs", async () => {
    const pool = testPool();
    const prod = await createVpc(pool, REGION, { env: "prod" });
    const prodExcluded = await createVpc(pool, REGION, { env: "prod" });
    const dev = await createVpc(pool, REGION, { env: "dev" });

    const result = await runCli([
      "fix-all",
      "--regions",
      REGION,
      "--tag",
      "env=prod",
      "--exclude-vpc-ids",
      prodExcluded,
      "--json",
    ]);

    expect(json(result.stdout).vpcs.map((vpc: { vpcId: string }) => vpc.vpcId)).toEqual([prod]);
    expect(await flowLogsOf(pool, REGION, prod)).toHaveLength(1);
    expect(await flowLogsOf(pool, REGION, prodExcluded)).toHaveLength(0);
    expect(await flowLogsOf(pool, REGION, dev)).toHaveLength(0);
  });

  it("fix-all on a terminal shows the totals and asks; 'n' changes nothing, 'y' applies", async () => {
    const pool = testPool();
    const vpcId = await createVpc(pool, REGION);

    const declined = await runCliInTerminal(["fix-all", "--regions", REGION], {
      prompt: /Apply these changes\? \[y\/N\]/,
      answer: "n",
    });
    expect(declined.output).toMatch(/fix-all will make \d+ change\(s\) for 2 VPC\(s\)/);
    expect(declined.output).toContain("Nothing changed.");
    expect(await flowLogsOf(pool, REGION, vpcId)).toHaveLength(0);

    const accepted = await runCliInTerminal(["fix-all", "--regions", REGION], {
      prompt: /Apply these changes\? \[y\/N\]/,
      answer: "y",
    });
    expect(accepted.code).toBe(0);
    expect(await flowLogsOf(pool, REGION, vpcId)).toHaveLength(1);
  });

  it("fix-all --yes on a terminal does not ask", async () => {
    const pool = testPool();
    const vpcId = await createVpc(pool, REGION);

    const result = await runCliInTerminal(["fix-all", "--regions", REGION, "--yes"]);

    expect(result.output).not.toContain("Apply these changes?");
    expect(result.code).toBe(0);
    expect(await flowLogsOf(pool, REGION, vpcId)).toHaveLength(1);
  });

  it("the JSON report carries generatedAt, the tool version and the effective policy", async () => {
    const dir = await mkdtemp(join(tmpdir(), "fg-report-"));
    const output = join(dir, "report.json");

    await runCli(["scan", "--regions", REGION, "--retention-days", "731", "--output", output]);

    const report = JSON.parse(await readFile(output, "utf8"));
    expect(Date.parse(report.generatedAt)).toBeGreaterThan(Date.now() - 60_000);
    expect(report.tool).toEqual({ name: "flowlog-guard", version: PRODUCT_VERSION });
    expect(report.policy).toMatchObject({ retentionDays: 731, trafficType: "REJECT" });
  });

  it.each([
    ["bash", "complete -o default -F _flowlog_guard flowlog-guard"],
    ["zsh", "#compdef flowlog-guard"],
    ["fish", 'complete -c flowlog-guard -n "__fish_seen_subcommand_from fix-all" -l dry-run'],
  ])("completion %s prints a completion script", async (shell, line) => {
    const result = await runCli(["completion", shell]);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain(line);
    expect(result.stdout).toContain("fix-all");
  });
});

describe("#12 defect 1: previews show shared changes; a drifted role is non-compliant", () => {
  it("scan and dry-run list the drifted trust and inline policy, exit 3; doctor fails on the inline policy", async () => {
    const pool = testPool();
    await createVpc(pool, REGION);
    expect((await runCli(["fix-all", "--regions", REGION])).code).toBe(0);
    const iam = pool.clientsFor(REGION).iam;
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: "flowlog-guard-delivery",
        PolicyName: "flowlog-guard-delivery",
        PolicyDocument: JSON.stringify({
          Version: "2012-10-17",
          Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }],
        }),
      }),
    );

    const scan = await runCli(["scan", "--regions", REGION, "--json"]);
    const dryRun = await runCli(["fix-all", "--dry-run", "--regions", REGION]);
    const doctor = await runCli(["doctor", "--regions", REGION]);

    expect(scan.code).toBe(3);
    expect(json(scan.stdout).plannedSharedActions).toEqual([
      expect.objectContaining({ kind: "put-role-policy", target: "flowlog-guard-delivery" }),
    ]);
    expect(dryRun.code).toBe(3);
    expect(dryRun.stdout).toContain("Shared changes fix-all would make (1):");
    expect(dryRun.stdout).toContain("put-role-policy flowlog-guard-delivery");
    expect(doctor.stdout).toContain("its inline delivery policy drifted");
  });
});

describe("#12 defect 5: undelivered change records", () => {
  it("make the run exit 3 with one summarised error and the records in the JSON report", async () => {
    await createVpc(testPool(), REGION);
    await testPool()
      .clientsFor(REGION)
      .events.send(new CreateEventBusCommand({ Name: "ledger" }));
    // The bus exists when fix-all checks it, then refuses every record (deleted meanwhile).
    const proxy = await startFaultProxy(process.env.AWS_ENDPOINT_URL!, [
      (call) =>
        call.operation === "PutEvents"
          ? {
              kind: "respond",
              status: 400,
              contentType: "application/x-amz-json-1.1",
              body: JSON.stringify({
                __type: "ResourceNotFoundException",
                message: "Event bus ledger does not exist.",
              }),
            }
          : undefined,
    ]);
    try {
      const env = { AWS_ENDPOINT_URL: proxy.endpoint };
      const result = await runCli(["fix-all", "--regions", REGION, "--ledger-bus", "ledger", "--json"], {
        env,
      });
      const human = await runCli(["fix-all", "--regions", REGION, "--ledger-bus", "ledger"], { env });

      expect(result.code).toBe(3);
      const report = json(result.stdout);
      expect(report.errors).toEqual([
        expect.objectContaining({
          scope: "ledger",
          message: expect.stringMatching(/^8 change record\(s\) not delivered/),
        }),
      ]);
      expect(report.undeliveredRecords).toHaveLength(8);
      expect(human.code).toBe(0);
    } finally {
      await proxy.close();
    }
  });
});

describe("#12 defect 2: a missing ledger bus", () => {
  it("stops fix-all before its first change: exit 2, the bus and the fix named, no flow log created", async () => {
    const vpcId = await createVpc(testPool(), REGION);

    const result = await runCli(["fix-all", "--regions", REGION, "--ledger-bus", "no-such-bus", "--json"]);
    const dryRun = await runCli(["fix-all", "--dry-run", "--regions", REGION, "--ledger-bus", "no-such-bus"]);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`ledger bus no-such-bus (region ${REGION}) does not exist`);
    expect(result.stderr).toContain(`aws events create-event-bus --name no-such-bus --region ${REGION}`);
    expect(result.stderr).toContain("drop --ledger-bus");
    expect(result.stderr).toContain("nothing was changed");
    expect(await flowLogsOf(testPool(), REGION, vpcId)).toEqual([]);
    // Only a run that would change something needs the bus.
    expect(dryRun.code).toBe(3);
  });
});
