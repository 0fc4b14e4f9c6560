import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { renderCliReference } from "../src/help-reference.ts";

describe("docs/cli.md", () => {
  it("is exactly what the CLI's --help says (run `npm run docs:cli` after changing a command)", () => {
    const onDisk = readFileSync(new URL("../../../docs/cli.md", import.meta.url), "utf8");
    expect(onDisk).toBe(renderCliReference());
  });

  it("documents every command and the exit codes operators script against", () => {
    const reference = renderCliReference();
    for (const command of ["scan", "fix-all", "handle-event", "iam-policy", "doctor", "demo", "completion"]) {
      expect(reference).toContain(`## flowlog-guard ${command}`);
    }
    expect(reference).toContain("3    non-compliant or failed VPCs remain");
  });
});
