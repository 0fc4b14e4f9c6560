import { randomUUID } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateVpcCommand, DeleteFlowLogsCommand, DescribeFlowLogsCommand } from "@aws-sdk/client-ec2";
import { CreateBucketCommand, PutBucketPolicyCommand, S3Client } from "@aws-sdk/client-s3";
import {
  buildEventPatterns,
  CHANGE_RECORD_DETAIL_TYPE,
  CHANGE_RECORD_SOURCE,
  type ChangeRecord,
  type ClientPool,
  createClientPool,
  handleCloudTrailEvent,
  logArchiveBucketPolicy,
  type Policy,
  parsePolicy,
  type RunReport,
  runRemediation,
} from "@flowlog-guard/core";
import {
  captureDefaultBusRules,
  captureEvents,
  MOTO_ACCOUNT_ID,
  putEnvelope,
  startMotoServer,
  useEmulatorEnv,
} from "@flowlog-guard/emulator";
import { renderFormat } from "../formats.ts";
import type { Io } from "../io.ts";
import { renderReport, table } from "../render.ts";
import { buildDemoEstate, cloudTrailEnvelope } from "./estate.ts";
import { showOrganization } from "./organization.ts";

const REGIONS = ["eu-west-1", "us-east-1"];
const HOME = "eu-west-1";
const LEDGER = "flowlog-guard-ledger";

/**
 * `flowlog-guard demo`: the whole product on a local moto server, in under a minute, no AWS account.
 * Builds a small estate, scans it, shows event-driven remediation through EventBridge rules made from
 * the same pattern data as the deployed stack, runs fix-all, and prints the change records.
 */
export async function runDemo(io: Io): Promise<number> {
  const started = Date.now();
  const say = (text = "") => io.stdout.write(`${text}\n`);
  say(
    "flowlog-guard demo: everything below runs against a local AWS emulator (moto); no AWS account is used.",
  );
  const moto = await startMotoServer();
  try {
    useEmulatorEnv(process.env, moto.endpoint, HOME);
    const pool = createClientPool();
    const policy = parsePolicy({
      ledgerBus: `arn:aws:events:${HOME}:${MOTO_ACCOUNT_ID}:event-bus/${LEDGER}`,
    });
    const ledger = await captureEvents({
      region: HOME,
      bus: LEDGER,
      pattern: { source: [CHANGE_RECORD_SOURCE], "detail-type": [CHANGE_RECORD_DETAIL_TYPE] },
      name: "ledger-archive",
    });

    say(`\n1. A small estate in ${REGIONS.join(" and ")} (moto at ${moto.endpoint})`);
    const estate = await buildDemoEstate(pool, new Date());
    say(
      indent(
        table(
          ["REGION", "VPC", "NAME", "SITUATION"],
          estate.map((vpc) => [vpc.region, vpc.vpcId, vpc.name, vpc.story]),
        ),
      ),
    );

    say("\n2. flowlog-guard scan (read-only)");
    const trigger = () => ({ kind: "cli" as const, runId: randomUUID() });
    const scan = await runRemediation({
      policy,
      regions: REGIONS,
      homeRegion: HOME,
      mode: "scan",
      trigger: trigger(),
      pool,
    });
    say(indent(renderReport(scan)));

    say(
      "3. Event-driven remediation: CloudTrail -> EventBridge rules (flowlog-guard's pattern data) -> remediate handler",
    );
    const rules = await deployRules(policy);
    await showEvents(pool, policy, rules, say);

    say("\n4. flowlog-guard fix-all");
    const fix = await runRemediation({
      policy,
      regions: REGIONS,
      homeRegion: HOME,
      mode: "fix",
      trigger: trigger(),
      pool,
    });
    say(indent(renderReport(fix)));

    say("5. The same with destinationType s3: a new VPC, fixed straight into a central log-archive bucket");
    await showS3Destination(pool, policy, trigger(), say);

    const records = (await ledger.drain()).map((event) => event.detail as ChangeRecord);
    say(
      `\n6. Change records that arrived on the ledger bus ${LEDGER} (${records.length}; each is one change, as auditors read it)`,
    );
    say(
      indent(
        table(
          ["TIME", "TRIGGER", "ACTION", "TARGET", "VPC"],
          records.map((record) => [
            record.time.slice(11, 19),
            record.trigger.eventName ? `event ${record.trigger.eventName}` : record.trigger.kind,
            record.action,
            record.target.id,
            record.vpcId ?? "-",
          ]),
        ),
      ),
    );
    const example = records.find((record) => record.action === "create-flow-log");
    if (example) say(`\n   One record in full:\n${indent(JSON.stringify(example, null, 2), 5)}`);
    const reportFile = await writeDemoReport(fix, policy);
    say(
      `\n7. The compliance report an auditor files (flowlog-guard fix-all --format html), with this run's changes:\n` +
        `   ${reportFile}\n   open it in a browser, or print it to PDF`,
    );
    say("\n8. Organization mode: the same engine across the accounts of an AWS Organization");
    await showOrganization(pool, policy, REGIONS, say);
    say(
      `Done in ${((Date.now() - started) / 1000).toFixed(1)} s. Next: npx flowlog-guard --help, docs/README.md, docs/organizations.md`,
    );
    return 0;
  } finally {
    await moto.stop();
  }
}

/** Writes the fix-all run's HTML compliance report to a fixed place in the temp folder; returns the path. */
async function writeDemoReport(report: RunReport, policy: Policy): Promise<string> {
  const folder = join(tmpdir(), "flowlog-guard-demo");
  await mkdir(folder, { recursive: true });
  const file = join(folder, "compliance-report.html");
  await writeFile(file, renderFormat("html", report, policy) ?? "");
  return file;
}

/**
 * One VPC fixed with an S3 destination: the bucket gets the policy `bucket-policy` prints, then fix-all
 * with destinationType s3 creates the flow log (no role, no log group), read back from the API.
 */
async function showS3Destination(
  pool: ClientPool,
  policy: Policy,
  trigger: { kind: "cli"; runId: string },
  say: (text?: string) => void,
): Promise<void> {
  const bucket = "demo-log-archive";
  const s3 = new S3Client({ region: HOME, forcePathStyle: true });
  await s3.send(
    new CreateBucketCommand({ Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: HOME } }),
  );
  const bucketPolicy = logArchiveBucketPolicy({
    partition: "aws",
    bucket,
    prefix: "vpc",
    sources: { accounts: [MOTO_ACCOUNT_ID] },
  });
  await s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify(bucketPolicy) }));
  say(`   ${bucket} gets the policy \`flowlog-guard bucket-policy --bucket ${bucket} --prefix vpc\` prints`);
  const ec2 = pool.clientsFor(HOME).ec2;
  const vpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: "10.40.0.0/16" }))).Vpc!.VpcId!;
  const s3Policy = parsePolicy({
    ledgerBus: policy.ledgerBus,
    destinationType: "s3",
    logDestination: `arn:aws:s3:::${bucket}/vpc`,
    fileFormat: "parquet",
    hiveCompatiblePartitions: true,
  });
  say(
    `   bob creates VPC ${vpcId}; fix-all --destination-type s3 --log-destination arn:aws:s3:::${bucket}/vpc --file-format parquet --hive-compatible-partitions true`,
  );
  const report = await runRemediation({
    policy: s3Policy,
    regions: [HOME],
    homeRegion: HOME,
    mode: "fix",
    trigger,
    pool,
    vpcIds: [vpcId],
  });
  const vpc = report.vpcs.find((entry) => entry.vpcId === vpcId);
  const flowLog = (
    await ec2.send(new DescribeFlowLogsCommand({ Filter: [{ Name: "resource-id", Values: [vpcId] }] }))
  ).FlowLogs?.[0];
  say(
    `   -> ${vpcId} ${vpc?.status ?? "?"}: ${vpc?.changes.map((change) => change.action).join(", ") || "no change"}`,
  );
  if (flowLog) {
    const options = flowLog.DestinationOptions;
    say(
      `      read back: ${flowLog.FlowLogId} ${flowLog.LogDestinationType} -> ${flowLog.LogDestination}, ` +
        `${options?.FileFormat}, Hive partitions ${options?.HiveCompatiblePartitions}, no delivery role`,
    );
  }
}

interface DemoRules {
  drain(): Promise<Record<string, unknown>[]>;
}

/** The deployment's EC2 and Logs rules, from core's pattern data, on each demo region's default bus. */
function deployRules(policy: Policy): Promise<DemoRules> {
  const patterns = buildEventPatterns(policy);
  return captureDefaultBusRules(
    REGIONS.flatMap((region) => [
      { region, pattern: patterns.ec2, name: `flowlog-guard-ec2-${region}` },
      { region, pattern: patterns.logs, name: `flowlog-guard-logs-${region}` },
    ]),
  );
}

async function showEvents(pool: ClientPool, policy: Policy, rules: DemoRules, say: (text?: string) => void) {
  const ec2 = pool.clientsFor(HOME).ec2;
  const deliver = async (event: Record<string, unknown>) => {
    await putEnvelope(event);
    for (const matched of await rules.drain()) {
      const started = Date.now();
      const result = await handleCloudTrailEvent(matched, { policy, pool });
      const vpcs =
        result.report?.vpcs.filter((vpc) => vpc.status !== "compliant" && vpc.status !== "exempt") ?? [];
      say(`   -> rule matched, handler ${result.status}: ${result.reason} (${Date.now() - started} ms)`);
      for (const vpc of vpcs)
        say(
          `      ${vpc.vpcId} ${vpc.status}: flow log ${vpc.flowLogIds.join(", ")}, ${vpc.changes.length} change(s)`,
        );
    }
  };

  const created = await ec2.send(
    new CreateVpcCommand({
      CidrBlock: "10.30.0.0/16",
      TagSpecifications: [{ ResourceType: "vpc", Tags: [{ Key: "Name", Value: "new-team" }] }],
    }),
  );
  const vpcId = created.Vpc!.VpcId!;
  say(`   alice creates VPC ${vpcId} ("new-team"); CloudTrail reports CreateVpc`);
  await deliver(
    cloudTrailEnvelope({
      source: "aws.ec2",
      region: HOME,
      eventName: "CreateVpc",
      user: "alice",
      requestParameters: { cidrBlock: "10.30.0.0/16", instanceTenancy: "default" },
      responseElements: {
        requestId: randomUUID(),
        vpc: { vpcId, state: "pending", cidrBlock: "10.30.0.0/16", tagSet: {} },
      },
    }),
  );

  const flowLogs = await ec2.send(
    new DescribeFlowLogsCommand({ Filter: [{ Name: "resource-id", Values: [vpcId] }] }),
  );
  const flowLogId = flowLogs.FlowLogs?.[0]?.FlowLogId;
  if (!flowLogId) return;
  await ec2.send(new DeleteFlowLogsCommand({ FlowLogIds: [flowLogId] }));
  say(`   mallory deletes flow log ${flowLogId}; CloudTrail reports DeleteFlowLogs`);
  say(
    "   (a deleted flow log can no longer be described, so the handler re-checks the whole region and fixes",
  );
  say("    every VPC there that lacks coverage, not only the one that lost it)");
  await deliver(
    cloudTrailEnvelope({
      source: "aws.ec2",
      region: HOME,
      eventName: "DeleteFlowLogs",
      user: "mallory",
      requestParameters: { DeleteFlowLogsRequest: { FlowLogId: { content: flowLogId, tag: 1 } } },
      responseElements: { DeleteFlowLogsResponse: { requestId: randomUUID(), unsuccessful: "" } },
    }),
  );

  say("   a failed CreateVpc (errorCode set) is also put on the bus: no rule matches it");
  const failed = cloudTrailEnvelope({
    source: "aws.ec2",
    region: HOME,
    eventName: "CreateVpc",
    user: "alice",
    requestParameters: { cidrBlock: "10.31.0.0/16" },
    responseElements: null,
  });
  (failed.detail as Record<string, unknown>).errorCode = "Client.VpcLimitExceeded";
  await putEnvelope(failed);
  const matched = await rules.drain();
  say(`   -> ${matched.length} event(s) matched`);
}

function indent(text: string, spaces = 3): string {
  const pad = " ".repeat(spaces);
  return text
    .split("\n")
    .map((line) => (line ? pad + line : line))
    .join("\n");
}
