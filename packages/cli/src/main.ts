import {
  awsErrorName,
  ConfigError,
  DEFAULT_EXPIRING_WITHIN_DAYS,
  EventValidationError,
  MEMBER_ROLE_NAME,
  PRODUCT_VERSION,
} from "@flowlog-guard/core";
import { Command, CommanderError, Option } from "commander";
import { bucketPolicyCommand } from "./commands/bucket-policy.ts";
import { costCommand } from "./commands/cost.ts";
import { demoCommand } from "./commands/demo.ts";
import { doctorCommand } from "./commands/doctor.ts";
import { exceptionsCommand } from "./commands/exceptions.ts";
import { guardrailsCommand } from "./commands/guardrails.ts";
import { handleEventCommand } from "./commands/handle-event.ts";
import { iamPolicyCommand } from "./commands/iam-policy.ts";
import { memberTemplateCommand } from "./commands/member-template.ts";
import { redriveCommand } from "./commands/redrive.ts";
import { runScanOrFix } from "./commands/run.ts";
import { UsageError } from "./errors.ts";
import { addFormatOptions } from "./formats.ts";
import { type Io, processIo } from "./io.ts";
import { addAccountOptions, addPolicyOptions, addRunOptions, normaliseFlagNames } from "./options.ts";

/** Exit codes are a public contract: operators script against them. */
export const ExitCode = {
  ok: 0,
  unexpected: 1,
  usage: 2,
  nonCompliant: 3,
} as const;

const EXIT_CODES_HELP = `
Exit codes:
  0  every VPC is compliant or exempt (at the end of the run)
  3  non-compliant or failed VPCs remain, or a region could not be read
  2  bad usage or configuration (the message says what to fix)
  1  unexpected error`;

const CREDENTIALS_HINT =
  "flowlog-guard uses the standard AWS credential chain: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and " +
  "AWS_SECRET_ACCESS_KEY, and AWS_REGION. To try it without an AWS account: npx flowlog-guard demo";

type Action = (io: Io, ...args: unknown[]) => Promise<number>;

/** Builds the command tree. Exported so that docs/cli.md can be checked against `--help`. */
export function buildProgram(io: Io, setExitCode: (code: number) => void): Command {
  const program = new Command("flowlog-guard")
    .description(
      "Keeps AWS VPC Flow Logs switched on in every VPC, and proves it. Reads every VPC's real state, " +
        "creates only what is missing (delivery role, log group with >= 365-day retention, flow log), " +
        "never deletes anything, and records every change.",
    )
    .configureHelp({ helpWidth: 110 })
    .version(PRODUCT_VERSION, "-V, --version", "print the version")
    .helpOption("-h, --help", "show help for a command")
    .helpCommand(false)
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .showHelpAfterError("(run the command with --help for usage and examples)")
    .exitOverride()
    .addHelpText(
      "after",
      `
Examples:
  npx flowlog-guard demo                              try it on a local emulator, no AWS account needed
  npx flowlog-guard scan --regions eu-west-1          report compliance, change nothing
  npx flowlog-guard fix-all --dry-run                 show what would be fixed in every region
  npx flowlog-guard fix-all --json > report.json      fix everything, keep a machine-readable report
  npx flowlog-guard handle-event event.json           replay one CloudTrail event as the Lambda would
  npx flowlog-guard redrive --queue URL               replay a dead-letter queue, deleting what was handled
  npx flowlog-guard iam-policy > policy.json          least-privilege IAM policy to run all of this
  npx flowlog-guard member-template > member.json     CloudFormation for each account of an organization
  npx flowlog-guard bucket-policy --bucket log-archive --accounts all   policy for a central S3 bucket
${EXIT_CODES_HELP}

Settings come from flags or FLOWLOG_GUARD_* variables (flags win); credentials and region from the
standard AWS chain. Docs: docs/cli.md, docs/configuration.md`,
    );

  const wire = (command: Command, action: Action) =>
    command.action(async (...args: unknown[]) => {
      setExitCode(await action(io, ...args));
    });

  wire(
    addFormatOptions(
      addAccountOptions(
        addRunOptions(
          program
            .command("scan")
            .description("Read-only compliance report: every VPC with its status and what fix-all would do")
            .addHelpText(
              "after",
              `
Statuses: compliant, non-compliant (with the actions fix-all would take), exempt.

Examples:
  flowlog-guard scan                                  every region enabled for the account
  flowlog-guard scan --regions eu-west-1,us-east-1 --json | jq '.summary'
  flowlog-guard scan --include-default-vpcs false     treat default VPCs as exempt
  flowlog-guard scan --output scan.json               human report on screen, JSON in a file
  flowlog-guard scan --format html > compliance.html  compliance report for the auditor (also markdown)
  flowlog-guard scan --format csv > vpcs.csv          one row per VPC for a spreadsheet
${EXIT_CODES_HELP}`,
            ),
        ),
      ),
    ),
    (io, _args, command) => runScanOrFix("scan", (command as Command).opts(), io),
  );

  wire(
    addFormatOptions(
      addAccountOptions(
        addRunOptions(
          program
            .command("fix-all")
            .description(
              "Remediate every non-compliant VPC: role, log group, retention, flow log, only where missing",
            )
            .option("--dry-run", "plan and print, change nothing (status would-remediate)")
            .addHelpText(
              "after",
              `
Never deletes anything and never lowers a retention. Safe to run twice or at the same time as the
event handler: the second run changes nothing.

Examples:
  flowlog-guard fix-all --dry-run                     what would change, everywhere
  flowlog-guard fix-all --regions eu-west-1           fix one region
  flowlog-guard fix-all --traffic-type ALL --retention-days 731
  flowlog-guard fix-all --ledger-bus flowlog-guard-ledger   publish change records
  flowlog-guard fix-all --api-rate 2                  go gently: 2 requests/s per API and region
  flowlog-guard fix-all --format markdown > run.md    compliance report with this run's change records
${EXIT_CODES_HELP}`,
            ),
        ),
      ),
    ),
    (io, _args, command) => {
      const options = (command as Command).opts();
      return runScanOrFix(options.dryRun ? "dry-run" : "fix", options, io);
    },
  );

  wire(
    addPolicyOptions(
      program
        .command("handle-event")
        .description("Process one EventBridge CloudTrail event exactly as the remediate Lambda does")
        .argument("[file]", "file with one EventBridge event (JSON); - or nothing reads stdin")
        .option("--json", "print only the JSON result on stdout")
        .option("--output <file>", "also write the JSON result to this file")
        .addHelpText(
          "after",
          `
The event is only a hint: the real state is read through the API before anything changes.
Events flowlog-guard does not handle, malformed ones and failed calls are refused with the
field named (exit 2) and change nothing. Give the event as it is, or in whatever wraps it:
Lambda's on-failure invocation record (requestPayload), an SQS message or batch, an SNS
notification, or a CloudTrail record from Event history (LookupEvents' CloudTrailEvent);
every event inside is handled.

Examples:
  flowlog-guard handle-event test/fixtures/cloudtrail/ec2-create-vpc-cloudformation.json
  aws sqs receive-message --queue-url URL | flowlog-guard handle-event -
  aws cloudtrail lookup-events --lookup-attributes AttributeKey=EventName,AttributeValue=CreateVpc \\
    --max-results 5 | flowlog-guard handle-event -
${EXIT_CODES_HELP}`,
        ),
    ),
    (io, file, _options, command) =>
      handleEventCommand(file as string | undefined, (command as Command).opts(), io),
  );

  wire(
    addPolicyOptions(
      program
        .command("redrive")
        .description("Replay a dead-letter queue through the event handler; delete each message once handled")
        .requiredOption(
          "--queue <url>",
          "URL of the SQS dead-letter queue (RemediationDlq in the deploy output)",
        )
        .option("--max-messages <n>", "stop after this many messages (default: 1000)")
        .option("--json", "print only the JSON report on stdout")
        .option("--output <file>", "also write the JSON report to this file")
        .addHelpText(
          "after",
          `
Each message (an EventBridge event, or Lambda's invocation record around one) is handled exactly
as handle-event does. A message is deleted only after every event in it was handled or found to
need nothing; one that fails or is refused stays in the queue (visible again after 15 minutes)
and the run exits 3. Run it again once the cause is fixed.

Examples:
  flowlog-guard redrive --queue https://sqs.us-east-1.amazonaws.com/111122223333/RemediationDlq
  flowlog-guard redrive --queue URL --max-messages 10 --json > redrive.json
${EXIT_CODES_HELP}`,
        ),
    ),
    (io, _options, command) => redriveCommand((command as Command).opts(), io),
  );

  wire(
    addPolicyOptions(
      program
        .command("iam-policy")
        .description("Print the least-privilege IAM policy the CLI and the Lambda functions need")
        .option("--account-id <id>", "account to scope the ARNs to (default: the caller's, from STS)")
        .addOption(new Option("--partition <name>", "ARN partition").choices(["aws", "aws-cn", "aws-us-gov"]))
        .option("--ledger-region <region>", "region of the ledger bus when --ledger-bus is a name")
        .option(
          "--let-aws-attach-bucket-policy",
          "with s3: include s3:GetBucketPolicy/PutBucketPolicy on the bucket (default: only when the bucket is the caller's and lacks a delivery statement)",
        )
        .addHelpText(
          "after",
          `
The same policy document the SST stacks grant the functions. No '*' actions; IAM and log actions are
scoped to the delivery role and to the log groups the --log-group-name template can produce. It follows
the settings: with --destination-type s3 there is no role or log-group action, only the
logs:CreateLogDelivery/DeleteLogDelivery AWS requires; --resource-type Subnet adds ec2:DescribeSubnets.

Examples:
  flowlog-guard iam-policy --account-id 111122223333 > flowlog-guard-policy.json
  flowlog-guard iam-policy --destination-type s3 --log-destination arn:aws:s3:::org-log-archive
  aws iam create-policy --policy-name flowlog-guard --policy-document file://flowlog-guard-policy.json`,
        ),
    ),
    (io, _options, command) => iamPolicyCommand((command as Command).opts(), io),
  );

  wire(
    addRunOptions(
      program
        .command("exceptions")
        .description(
          "The exception register: every VPC's flowlog-guard:exception-* tags, with owner, expiry and verdict",
        )
        .option(
          "--expiring-within <days>",
          `an exception expiring within this many days needs attention (default: ${DEFAULT_EXPIRING_WITHIN_DAYS})`,
        )
        .addHelpText(
          "after",
          `
Reads every VPC (changes nothing) and lists each exception: account, region, VPC, owner, expiry, days
left, reason, and a verdict: valid, EXPIRING (within the window), EXPIRED or INVALID (missing owner or
expiry, malformed date, expiry further than --max-exception-days). Expired and invalid exceptions
exempt nothing. The deployed daily sweep publishes an "Exception Expiring" event to the ledger bus for
each exception in the window (see docs/exceptions.md).

Exit codes:
  0  every exception is valid beyond the window (or there are none)
  3  an exception is invalid, expired or expires within the window, or a region could not be read
  2  bad usage or configuration

Examples:
  flowlog-guard exceptions                            every region, 14-day window
  flowlog-guard exceptions --expiring-within 30 --regions eu-west-1
  flowlog-guard exceptions --json | jq '.exceptions[] | select(.verdict != "valid")'`,
        ),
    ),
    (io, _options, command) => exceptionsCommand((command as Command).opts(), io),
  );

  wire(
    addRunOptions(
      program
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
s3:ListBucket for S3 destinations) besides the scan permissions.

Examples:
  flowlog-guard cost                                  last 7 days, every region
  flowlog-guard cost --days 30 --regions eu-west-1 --json | jq '.total'`,
        ),
    ),
    (io, _options, command) => costCommand((command as Command).opts(), io),
  );

  wire(
    addPolicyOptions(
      program
        .command("guardrails")
        .description("Print a service control policy that stops anyone but flowlog-guard undoing its work")
        .option(
          "--exception-approvers <arns>",
          "comma-separated principal ARNs (wildcards allowed) that alone may set or remove flowlog-guard:exception-* tags",
        )
        .option(
          "--guard-roles <arns>",
          "principal ARN patterns of flowlog-guard itself, exempt from the policy " +
            "(default: arn:<partition>:iam::*:role/flowlog-guard/* and arn:<partition>:iam::*:role/flowlog-guard-*)",
        )
        .addOption(
          new Option("--partition <name>", "ARN partition (default: aws)").choices([
            "aws",
            "aws-cn",
            "aws-us-gov",
          ]),
        )
        .addHelpText(
          "after",
          `
Denies, to every principal but flowlog-guard's roles: deleting flow logs tagged flowlog-guard:managed=true
(or moving that tag), deleting log groups the --log-group-name template produces or their streams,
changing their retention or deletion protection, and changing the delivery role. With
--exception-approvers, only those principals may set or remove flowlog-guard:exception-* tags (also at
creation). The printed document fits AWS Organizations' 5,120-character SCP limit (checked). SCPs do not
apply to the management account or to service principals. Attach it to the OUs flowlog-guard covers.

Examples:
  flowlog-guard guardrails > scp.json
  flowlog-guard guardrails --exception-approvers arn:aws:iam::*:role/SecurityApprover > scp.json
  aws organizations create-policy --type SERVICE_CONTROL_POLICY --name flowlog-guard-guardrails \\
    --description "Protects VPC flow logs" --content file://scp.json`,
        ),
    ),
    (io, _options, command) => guardrailsCommand((command as Command).opts(), io),
  );

  wire(
    addPolicyOptions(
      program
        .command("member-template")
        .description(
          "Print the CloudFormation template (JSON) for member accounts of an organization: role and forwarders",
        )
        .option("--central-account-id <id>", "default for the CentralAccountId parameter")
        .option("--organization-id <id>", "default for the OrganizationId parameter (o-...)")
        .option("--central-event-bus-arn <arn>", "default for CentralEventBusArn (empty: no forwarders)")
        .option(
          "--operator-role-arns <list>",
          "default for OperatorRoleArns: roles that may run the CLI across accounts",
        )
        .option("--member-role-name <name>", `name of the member role (default: ${MEMBER_ROLE_NAME})`)
        .option(
          "--role-region <region>",
          "default for RoleRegion: the one region that creates IAM roles (us-east-1)",
        )
        .addHelpText(
          "after",
          `
The template creates role /flowlog-guard/${MEMBER_ROLE_NAME} with exactly the service policy (iam-policy)
for the account it is deployed in, trusted only by the central deployment's function roles (and the
operator roles you name) from inside your organization; with CentralEventBusArn, EventBridge rules in
each region forward the CloudTrail events flowlog-guard handles to the central bus. The stacks deploy it
to every account with a service-managed StackSet; this command is for the accounts StackSets skip (the
management account) and for review. Parameters: CentralAccountId (required), CentralEventBusArn,
OrganizationId, OperatorRoleArns, RoleRegion. Makes no AWS call. See docs/organizations.md.

Examples:
  flowlog-guard member-template --organization-id o-abc123def4 > member.json
  aws cloudformation deploy --template-file member.json --stack-name flowlog-guard-member \\
    --capabilities CAPABILITY_NAMED_IAM --parameter-overrides CentralAccountId=111122223333`,
        ),
    ),
    (io, _options, command) => memberTemplateCommand((command as Command).opts(), io),
  );

  wire(
    program
      .command("bucket-policy")
      .description(
        "Print the bucket policy (and a lifecycle rule) an S3 bucket needs to receive flow logs from accounts",
      )
      .requiredOption("--bucket <name>", "the destination bucket's name (e.g. org-log-archive)")
      .option(
        "--accounts <list>",
        "all (every account of the caller's organization) or account ids: 111122223333,444455556666 (default: the caller's account)",
      )
      .option(
        "--prefix <folders>",
        "folders before AWSLogs/, as in logDestination arn:aws:s3:::BUCKET/PREFIX (default: from FLOWLOG_GUARD_LOG_DESTINATION when it names this bucket, else none)",
      )
      .option(
        "--organization-id <id>",
        "with --accounts all: the organization (default: read with organizations:DescribeOrganization)",
      )
      .addOption(new Option("--partition <name>", "ARN partition").choices(["aws", "aws-cn", "aws-us-gov"]))
      .option("--quiet", "print only the JSON, no instructions on stderr")
      .addHelpText(
        "after",
        `
Prints {"bucketPolicy": ..., "lifecycleConfiguration": ...} and changes nothing. The policy is the one
AWS documents for delivery.logs.amazonaws.com: s3:PutObject under each account's AWSLogs/ folders (both
the default and the Hive-compatible layout) with bucket-owner-full-control, and s3:GetBucketAcl +
s3:ListBucket on the bucket, conditioned on aws:SourceAccount and aws:SourceArn (aws:SourceOrgID for
--accounts all). The lifecycle rule moves flow-log files to Standard-IA after 30 days and Glacier
Instant Retrieval after 90, and deletes nothing. flowlog-guard never changes a bucket policy itself.

Examples:
  flowlog-guard bucket-policy --bucket org-log-archive --accounts all --quiet | jq .bucketPolicy
  flowlog-guard bucket-policy --bucket org-log-archive --accounts 111122223333,444455556666 --prefix vpc
  flowlog-guard bucket-policy --bucket my-flow-logs       just this account (from STS)`,
      ),
    (io, _options, command) => bucketPolicyCommand((command as Command).opts(), io),
  );

  wire(
    addRunOptions(
      program
        .command("doctor")
        .description(
          "Check the account is ready: CloudTrail trail, delivery role, ledger bus, the caller's permissions",
        )
        .addHelpText(
          "after",
          `
Events reach EventBridge only while a CloudTrail trail logs management write events in the region;
without one, only the daily fix-all sweep catches problems. Each check prints what to do about it.
Exit 0 when nothing failed (warnings allowed), 3 when a check failed.

Examples:
  flowlog-guard doctor --regions eu-west-1,us-east-1
  flowlog-guard doctor --ledger-bus arn:aws:events:us-east-1:111122223333:event-bus/flowlog-guard-ledger`,
        ),
    ),
    (io, _options, command) => doctorCommand((command as Command).opts(), io),
  );

  wire(
    program
      .command("demo")
      .description(
        "Run the whole product on a local AWS emulator (moto): no AWS account needed, under a minute",
      )
      .addHelpText(
        "after",
        `
Starts moto on a free loopback port, builds a small estate in two regions (non-compliant, compliant,
default, S3-logged, exempt, expired exception), runs scan, shows event-driven remediation of a new VPC
and of a deleted flow log through EventBridge rules made from the deployed stack's pattern data, runs
fix-all, and prints the change records. Needs Python 3 with moto: pip install "moto[server]".

Example:
  npm start          (the same as npx flowlog-guard demo)`,
      ),
    (io) => demoCommand(io),
  );

  return program;
}

/** Runs the CLI and returns the process exit code. */
export async function main(argv: string[], io: Io = processIo): Promise<number> {
  let exitCode: number = ExitCode.ok;
  const program = buildProgram(io, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync(normaliseFlagNames(argv), { from: "user" });
    return exitCode;
  } catch (error) {
    return reportError(error, io);
  }
}

function reportError(error: unknown, io: Io): number {
  if (error instanceof CommanderError) {
    if (["commander.helpDisplayed", "commander.version", "commander.help"].includes(error.code))
      return ExitCode.ok;
    return ExitCode.usage;
  }
  const write = (text: string) => io.stderr.write(`flowlog-guard: ${text}\n`);
  if (error instanceof ConfigError || error instanceof UsageError) {
    write(error.message);
    return ExitCode.usage;
  }
  if (error instanceof EventValidationError) {
    write(`event refused, nothing changed. ${error.message}`);
    return ExitCode.usage;
  }
  if (error instanceof Error && error.name === "MotoUnavailableError") {
    write(error.message);
    return ExitCode.usage;
  }
  const name = awsErrorName(error);
  if (name === "CredentialsProviderError" || name === "InvalidClientTokenId" || name === "ExpiredToken") {
    write(`${(error as Error).message}\n${CREDENTIALS_HINT}`);
    return ExitCode.usage;
  }
  write(
    `unexpected error: ${error instanceof Error ? `${name ? `${name}: ` : ""}${error.message}` : String(error)}`,
  );
  if (io.env.FLOWLOG_GUARD_DEBUG && error instanceof Error) io.stderr.write(`${error.stack}\n`);
  return ExitCode.unexpected;
}
