import type { Command } from "commander";
import type { Io } from "./io.ts";

/** What a command's action gets: where to read and write, its parsed flags, its arguments. */
export interface ActionInput {
  io: Io;
  options: Record<string, unknown>;
  args: string[];
}

/** A command's work; the number it returns is the process exit code. */
export type Action = (input: ActionInput) => Promise<number>;

/** Attaches an action to a command. */
export type Wire = (command: Command, action: Action) => Command;

/**
 * One CLI command, registered by its own module: it adds itself (name, flags, help with examples)
 * to the program and wires its action. `main.ts` only collects them.
 */
export type RegisterCommand = (program: Command, wire: Wire) => void;

/** Exit codes are a public contract: operators script against them. */
export const ExitCode = {
  ok: 0,
  unexpected: 1,
  usage: 2,
  nonCompliant: 3,
  interrupted: 130,
} as const;

export const EXIT_CODES_HELP = `
Exit codes:
  0    every VPC is compliant, exempt or not owned (shared by another account) at the end of the run
  3    non-compliant or failed VPCs remain, a region could not be read, or change records were not delivered
  2    bad usage or configuration (the message says what to fix)
  1    unexpected error
  130  interrupted (Ctrl-C): in-flight changes finished, the partial report was written`;
