/**
 * The remediate function in a process of its own, for tests that kill it hard as Lambda does at its
 * time limit: reads one event on stdin and handles it with the runtime the environment describes
 * (AWS_ENDPOINT_URL, FLOWLOG_GUARD_*). No Lambda context: no stop-before-the-limit guard, so a kill
 * lands wherever the run is.
 */
import { createRemediateHandler } from "@flowlog-guard/functions/remediate-handler";
import { createRuntime } from "@flowlog-guard/functions/runtime";

const chunks: Buffer[] = [];
for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
const event: unknown = JSON.parse(Buffer.concat(chunks).toString("utf8"));
const remediate = createRemediateHandler(await createRuntime(process.env));
process.stdout.write("handling\n");
await remediate(event).catch((error: Error) => process.stdout.write(`failed: ${error.message}\n`));
process.stdout.write("done\n");
