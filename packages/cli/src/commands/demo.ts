import type { RegisterCommand } from "../command.ts";

/** `demo`: the emulator, the S3 client and the estate load only when the demo runs (dynamic import). */
export const registerDemo: RegisterCommand = (program, wire) => {
  const command = program
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

Examples:
  flowlog-guard demo                                  the whole tour, then moto stops
  npm start                                           the same, from a clone of the repository`,
    );
  wire(command, async ({ io }) => {
    const { runDemo } = await import("../demo/run-demo.ts");
    return runDemo(io);
  });
};
