import { readFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildFunctionBundle, FUNCTION_ENTRIES } from "../../scripts/build/functions.ts";

describe("function bundles (as the stacks build them)", () => {
  it.each(Object.entries(FUNCTION_ENTRIES))(
    "%s builds, and its entry loads neither the engine nor the AWS SDK",
    async (name, entry) => {
      const bundle = await buildFunctionBundle(
        entry,
        join(await mkdtemp(join(tmpdir(), "fg-bundle-")), name),
      );

      const entryCode = readFileSync(bundle.entry, "utf8");
      expect(entryCode).toContain("handler");
      expect(entryCode).not.toMatch(/from\s*"@aws-sdk\//);
      expect(bundle.chunks.map((chunk) => readFileSync(chunk, "utf8")).join("\n")).toMatch(
        /from\s*"@aws-sdk\/client-ec2"/,
      );
      expect(bundle.totalBytes).toBeGreaterThan(0);
    },
  );
});
