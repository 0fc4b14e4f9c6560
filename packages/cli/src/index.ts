/**
 * The programmatic entry of the `flowlog-guard` package: run the CLI in-process.
 *
 * @example
 * import { ExitCode, main } from "flowlog-guard";
 * const code = await main(["scan", "--json", "--regions", "eu-west-1"]);
 * if (code === ExitCode.nonCompliant) console.log("non-compliant VPCs remain");
 */
export type { Io } from "./io.ts";
export { ExitCode, main } from "./main.ts";
