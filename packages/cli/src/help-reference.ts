import type { Io } from "./io.ts";
import { buildProgram } from "./main.ts";

/** docs/cli.md, made from the commands' own `--help`, so the reference cannot drift from the CLI. */
export function renderCliReference(): string {
  let captured = "";
  const io: Io = {
    stdout: { write: (text: string) => (captured += text) },
    stderr: { write: () => true },
    env: {},
    interactive: false,
    stdinIsTTY: false,
    readStdin: async () => "",
    ask: async () => "",
  };
  const program = buildProgram(io, () => {});
  const sections: string[] = [];
  for (const command of [program, ...program.commands]) {
    captured = "";
    command.outputHelp();
    const title = command === program ? "flowlog-guard" : `flowlog-guard ${command.name()}`;
    sections.push(`## ${title}\n\n\`\`\`text\n${captured.trimEnd()}\n\`\`\``);
  }
  return [
    "# CLI reference",
    "",
    "Generated from `--help` by `npm run docs:cli`; a unit test fails when this file and the CLI disagree.",
    "Run from the repository root after `npm ci` as `npx flowlog-guard <command>`.",
    "",
    sections.join("\n\n"),
    "",
  ].join("\n");
}
