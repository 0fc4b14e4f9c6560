import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("moto cleanup (the harness and demo launcher)", () => {
  it("leaves no moto process behind when its parent is killed with SIGKILL", async () => {
    const script = `
      import { startMotoServer } from ${JSON.stringify(new URL("../packages/emulator/src/index.ts", import.meta.url).pathname)};
      const moto = await startMotoServer();
      console.log(moto.pid);
      setInterval(() => {}, 1000);
    `;
    const parent = spawn(process.execPath, ["--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    try {
      const motoPid = await new Promise<number>((resolve) =>
        parent.stdout.once("data", (chunk: Buffer) => resolve(Number(chunk.toString().trim()))),
      );
      expect(motoPid).toBeGreaterThan(0);
      expect(alive(motoPid)).toBe(true);

      parent.kill("SIGKILL");
      const deadline = Date.now() + 5_000;
      while (alive(motoPid) && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 100));

      expect(alive(motoPid)).toBe(false);
    } finally {
      parent.kill("SIGKILL");
    }
  }, 30_000);
});
