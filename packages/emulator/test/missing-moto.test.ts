import { chmod, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MotoUnavailableError, startMotoServer } from "../src/index.ts";

describe("startMotoServer when moto cannot run", () => {
  it("says how to install it when python3 is missing", async () => {
    const start = startMotoServer({ python: "/nonexistent/python3" });
    await expect(start).rejects.toThrow(MotoUnavailableError);
    await expect(startMotoServer({ python: "/nonexistent/python3" })).rejects.toThrow(
      'pip install "moto[server]"',
    );
  });

  it("says how to install it when moto is not importable", async () => {
    const dir = await mkdtemp(join(tmpdir(), "fake-python-"));
    const fake = join(dir, "python3");
    await writeFile(fake, `#!/bin/sh\necho '{"error":"import","detail":"No module named moto"}'\nexit 3\n`);
    await chmod(fake, 0o755);

    await expect(startMotoServer({ python: fake })).rejects.toThrow(
      /No module named moto.*pip install "moto\[server\]"/,
    );
  });
});
