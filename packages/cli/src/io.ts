import { createInterface } from "node:readline/promises";

/** Where a command reads and writes; real streams in the binary, buffers in tests. */
export interface Io {
  stdout: { write(text: string): unknown; isTTY?: boolean };
  stderr: NodeJS.WriteStream | { write(text: string): unknown; isTTY?: boolean };
  env: Record<string, string | undefined>;
  /** A person can answer questions: stdin and stderr are terminals. */
  interactive?: boolean;
  /** stdin is a terminal: nothing is piped in. */
  stdinIsTTY?: boolean;
  readStdin(): Promise<string>;
  /** Asks on stderr and returns the answer line ("" when there is no one to ask). */
  ask?(question: string): Promise<string>;
}

export const processIo: Io = {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  interactive: Boolean(process.stdin.isTTY && process.stderr.isTTY),
  stdinIsTTY: Boolean(process.stdin.isTTY),
  async readStdin() {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  },
  async ask(question) {
    const prompt = createInterface({ input: process.stdin, output: process.stderr });
    try {
      const aborted = new Promise<string>((resolve) => prompt.once("SIGINT", () => resolve("")));
      return await Promise.race([prompt.question(question), aborted]);
    } finally {
      prompt.close();
    }
  },
};
