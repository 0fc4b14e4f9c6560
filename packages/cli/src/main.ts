import { PRODUCT_VERSION } from "@flowlog-guard/core";
import { Command, CommanderError } from "commander";

/** Exit codes are a public contract: operators script against them. */
export const ExitCode = {
  ok: 0,
  unexpected: 1,
  usage: 2,
  nonCompliant: 3,
} as const;

/** Builds the command tree. Exported so that docs can be checked against `--help`. */
export function buildProgram(): Command {
  const program = new Command("flowlog-guard")
    .description("Keeps AWS VPC Flow Logs switched on in every VPC, and proves it.")
    .version(PRODUCT_VERSION, "-V, --version", "print the version")
    .helpOption("-h, --help", "show help for a command")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  return program;
}

/** Runs the CLI and returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: "user" });
    return ExitCode.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === "commander.helpDisplayed" || error.code === "commander.version") return ExitCode.ok;
      if (error.code === "commander.help") return ExitCode.ok;
      return ExitCode.usage;
    }
    process.stderr.write(
      `flowlog-guard: unexpected error: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    return ExitCode.unexpected;
  }
}
