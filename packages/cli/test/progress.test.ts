import { describe, expect, it } from "vitest";
import { createProgress } from "../src/progress.ts";

function stream(isTTY: boolean) {
  const written: string[] = [];
  return {
    written,
    stream: { isTTY, write: (text: string) => written.push(text) } as unknown as NodeJS.WriteStream,
  };
}

describe("createProgress", () => {
  it("draws regions, VPCs and changes on one line of a terminal, and clears it when done", () => {
    const tty = stream(true);
    const progress = createProgress(true, tty.stream);
    progress.update({ regionsDone: 1, regions: 4, vpcsEvaluated: 120, changes: 0 });
    progress.update({ regionsDone: 4, regions: 4, vpcsEvaluated: 480, changes: 36 });
    progress.done();

    expect(tty.written[0]).toMatch(/^\r\[#####-{15}\] regions 1\/4 · VPCs evaluated 120 · changes 0/);
    expect(tty.written[1]).toContain("[####################] regions 4/4 · VPCs evaluated 480 · changes 36");
    expect(tty.written.at(-1)).toBe("\r\x1b[2K");
  });

  it.each([
    ["stderr is not a terminal", false, true],
    ["--json", true, false],
  ])("writes nothing when %s", (_name, isTTY, enabled) => {
    const out = stream(isTTY);
    const progress = createProgress(enabled, out.stream);
    progress.update({ regionsDone: 1, regions: 2, vpcsEvaluated: 5, changes: 1 });
    progress.done();
    expect(out.written).toEqual([]);
  });
});
