import type { Command } from "commander";
import { Argument } from "commander";
import type { RegisterCommand } from "../command.ts";

interface CommandWords {
  name: string;
  flags: string[];
}

function wordsOf(program: Command): CommandWords[] {
  return program.commands.map((command) => ({
    name: command.name(),
    flags: command.options.flatMap((option) => [option.long, option.short].filter((f): f is string => !!f)),
  }));
}

function bash(commands: CommandWords[]): string {
  const cases = commands
    .map((c) => `    ${c.name}) opts="${[...c.flags, "--help"].join(" ")}" ;;`)
    .join("\n");
  return `# flowlog-guard completion for bash: source <(flowlog-guard completion bash)
_flowlog_guard() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" command="\${COMP_WORDS[1]}" opts
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "${commands.map((c) => c.name).join(" ")} --help --version" -- "$cur") )
    return
  fi
  case "$command" in
${cases}
    *) opts="" ;;
  esac
  COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
}
complete -o default -F _flowlog_guard flowlog-guard
`;
}

function zsh(commands: CommandWords[]): string {
  const cases = commands
    .map((c) => `    ${c.name}) compadd -- ${[...c.flags, "--help"].join(" ")} ;;`)
    .join("\n");
  return `#compdef flowlog-guard
# flowlog-guard completion for zsh: flowlog-guard completion zsh > "\${fpath[1]}/_flowlog-guard"
_flowlog_guard() {
  if (( CURRENT == 2 )); then
    compadd -- ${commands.map((c) => c.name).join(" ")}
    return
  fi
  case "$words[2]" in
${cases}
  esac
  _files
}
compdef _flowlog_guard flowlog-guard
`;
}

function fish(commands: CommandWords[]): string {
  const names = commands.map((c) => c.name).join(" ");
  const lines = commands.flatMap((c) => [
    `complete -c flowlog-guard -n "not __fish_seen_subcommand_from ${names}" -a ${c.name}`,
    ...c.flags
      .filter((flag) => flag.startsWith("--"))
      .map(
        (flag) => `complete -c flowlog-guard -n "__fish_seen_subcommand_from ${c.name}" -l ${flag.slice(2)}`,
      ),
  ]);
  return `# flowlog-guard completion for fish: flowlog-guard completion fish > ~/.config/fish/completions/flowlog-guard.fish\n${lines.join("\n")}\n`;
}

const SHELLS = { bash, zsh, fish } as const;

/** `completion bash|zsh|fish`: a completion script made from the command tree itself. */
export const registerCompletion: RegisterCommand = (program, wire) => {
  const command = program
    .command("completion")
    .description("Print a shell completion script: bash, zsh or fish")
    .addArgument(new Argument("<shell>", "the shell").choices(Object.keys(SHELLS)))
    .addHelpText(
      "after",
      `
Examples:
  source <(flowlog-guard completion bash)             in ~/.bashrc
  flowlog-guard completion zsh > "\${fpath[1]}/_flowlog-guard"
  flowlog-guard completion fish > ~/.config/fish/completions/flowlog-guard.fish`,
    );
  wire(command, async ({ io, args }) => {
    io.stdout.write(SHELLS[args[0] as keyof typeof SHELLS](wordsOf(program)));
    return 0;
  });
};
