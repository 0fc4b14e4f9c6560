import { describe, expect, it } from "vitest";
import { createProgress } from "../src/progress.ts";

function stream(isTTY: boolean) {
  const written: string[] = [];
  return {
    written,
    text: () => written.join(""),
    stream: {
      isTTY,
      columns: 120,
      write: (text: string) => written.push(text),
    } as unknown as NodeJS.WriteStream,
  };
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control sequences are what is checked
const CONTROL = /\x1b\[|\r/;

describe("createProgress", () => {
  it("draws the reading phase, then the changing phase with its total and an ETA, and clears it when done", () => {
    const tty = stream(true);
    const progress = createProgress(true, tty.stream, {});
    progress.update({ regionsDone: 1, regions: 4, vpcsEvaluated: 120, changes: 0 });
    const reading = tty.text();
    progress.changing(36);
    progress.update({ regionsDone: 4, regions: 4, vpcsEvaluated: 480, changes: 12 });
    const changing = tty.text().slice(reading.length);
    progress.done();

    expect(reading).toMatch(/reading\s+\[[^\]]+\] 1\/4 regions · 120 VPCs · ETA/);
    expect(changing).toMatch(/changing\s+\[-+\] 0\/36 changes · 120 VPCs/);
    expect(CONTROL.test(tty.text())).toBe(true);
  });

  it.each([
    ["TERM=dumb", { TERM: "dumb" }],
    ["NO_COLOR", { NO_COLOR: "1" }],
  ])("prints plain lines without control sequences for %s", (_name, env) => {
    const out = stream(true);
    const progress = createProgress(true, out.stream, env, 0);
    progress.update({ regionsDone: 2, regions: 4, vpcsEvaluated: 10, changes: 0 });
    progress.changing(300);
    progress.update({ regionsDone: 4, regions: 4, vpcsEvaluated: 20, changes: 150 });
    progress.done();

    expect(out.written).toEqual([
      expect.stringMatching(/^reading: 2\/4 regions · 10 VPCs · ETA \d+s\n$/),
      "changing: 0/300 changes · 10 VPCs\n",
      expect.stringMatching(/^changing: 150\/300 changes · 20 VPCs · ETA \d+s\n$/),
    ]);
    expect(CONTROL.test(out.text())).toBe(false);
  });

  it("prints a plain line only every interval within a phase", () => {
    const out = stream(true);
    const progress = createProgress(true, out.stream, { TERM: "dumb" }, 60_000);
    for (let done = 1; done <= 3; done++)
      progress.update({ regionsDone: done, regions: 10, vpcsEvaluated: done, changes: 0 });
    expect(out.written).toEqual([expect.stringMatching(/^reading: 1\/10 regions · 1 VPCs · ETA \d+s\n$/)]);
  });

  it.each([
    ["stderr is not a terminal", false, true],
    ["--json", true, false],
  ])("writes nothing when %s", (_name, isTTY, enabled) => {
    const out = stream(isTTY);
    const progress = createProgress(enabled, out.stream, {});
    progress.update({ regionsDone: 1, regions: 2, vpcsEvaluated: 5, changes: 1 });
    progress.done();
    expect(out.written).toEqual([]);
  });
});
