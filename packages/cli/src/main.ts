import { awsErrorName, ConfigError, EventValidationError, PRODUCT_VERSION } from "@flowlog-guard/core";
import { Command, CommanderError } from "commander";
import { type Action, EXIT_CODES_HELP, ExitCode, type RegisterCommand } from "./command.ts";
import { registerBucketPolicy } from "./commands/bucket-policy.ts";
import { registerCompletion } from "./commands/completion.ts";
import { registerCost } from "./commands/cost.ts";
import { registerDemo } from "./commands/demo.ts";
import { registerDoctor } from "./commands/doctor.ts";
import { registerExceptions } from "./commands/exceptions.ts";
import { registerFixAll } from "./commands/fix-all.ts";
import { registerGuardrails } from "./commands/guardrails.ts";
import { registerHandleEvent } from "./commands/handle-event.ts";
import { registerIamPolicy } from "./commands/iam-policy.ts";
import { registerMemberTemplate } from "./commands/member-template.ts";
import { registerRedrive } from "./commands/redrive.ts";
import { registerScan } from "./commands/scan.ts";
import { UsageError } from "./errors.ts";
import { type Io, processIo } from "./io.ts";
import { normaliseFlagNames } from "./options.ts";

export { ExitCode } from "./command.ts";

/** Every command, in the order `--help` lists them; each module registers itself. */
const COMMANDS: RegisterCommand[] = [
  registerScan,
  registerFixAll,
  registerHandleEvent,
  registerRedrive,
  registerIamPolicy,
  registerExceptions,
  registerCost,
  registerGuardrails,
  registerMemberTemplate,
  registerBucketPolicy,
  registerDoctor,
  registerDemo,
  registerCompletion,
];

const CREDENTIALS_HINT =
  "flowlog-guard uses the standard AWS credential chain: set AWS_PROFILE (or --profile), or AWS_ACCESS_KEY_ID and " +
  "AWS_SECRET_ACCESS_KEY, and AWS_REGION. To try it without an AWS account: npx flowlog-guard demo";

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
    .helpCommand("help [command]", "show help for a command (flowlog-guard help scan)")
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
  npx flowlog-guard fix-all --yes --json > report.json   fix everything, keep a machine-readable report
  npx flowlog-guard handle-event event.json           replay one CloudTrail event as the Lambda would
  npx flowlog-guard redrive --queue URL               replay a dead-letter queue, deleting what was handled
  npx flowlog-guard iam-policy > policy.json          least-privilege IAM policy for fix-all and the functions
  npx flowlog-guard iam-policy --security-hub --cost  ... plus what --security-hub and cost need
  npx flowlog-guard member-template > member.json     CloudFormation for each account of an organization
  npx flowlog-guard bucket-policy --bucket log-archive --accounts all   policy for a central S3 bucket
  npx flowlog-guard help scan                         help for one command
${EXIT_CODES_HELP}

Settings come from flags or FLOWLOG_GUARD_* variables (flags win); credentials and region from the
standard AWS chain, --profile or --role-arn. Docs: docs/cli.md, docs/configuration.md`,
    );

  const wire = (command: Command, action: Action) =>
    command.action(async (...args: unknown[]) => {
      const self = args.at(-1) as Command;
      setExitCode(await action({ io, options: self.opts(), args: self.args }));
    });
  for (const register of COMMANDS) register(program, wire);
  return program;
}

/** Runs the CLI and returns the process exit code. */
export async function main(argv: string[], io: Io = processIo): Promise<number> {
  let exitCode: number = ExitCode.ok;
  const program = buildProgram(io, (code) => {
    exitCode = code;
  });
  if (argv.length === 0) {
    program.outputHelp();
    return ExitCode.ok;
  }
  // `help nosuch` would print the general help and exit 0: a typo must say so, as `nosuch` does.
  const known = ["help", ...program.commands.flatMap((command) => [command.name(), ...command.aliases()])];
  if (argv[0] === "help" && argv[1] !== undefined && !argv[1].startsWith("-") && !known.includes(argv[1])) {
    io.stderr.write(
      `error: unknown command '${argv[1]}' (commands: ${known.filter((name) => name !== "help").join(", ")})\n`,
    );
    return ExitCode.usage;
  }
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
