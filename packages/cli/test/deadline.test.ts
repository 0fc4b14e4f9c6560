import { describe, expect, it } from "vitest";
import { parseDuration, resolveRunSettings } from "../src/options.ts";

describe("--deadline", () => {
  it("reads seconds, minutes, hours and their sums", () => {
    expect(parseDuration("90s", "--deadline")).toBe(90_000);
    expect(parseDuration("15m", "--deadline")).toBe(900_000);
    expect(parseDuration("1h30m", "--deadline")).toBe(5_400_000);
    expect(parseDuration("500ms", "--deadline")).toBe(500);
    expect(parseDuration("900", "--deadline")).toBe(900_000);
    expect(parseDuration(" 2M ", "--deadline")).toBe(120_000);
  });

  it("refuses what is not a duration, zero, and more than a day, naming the flag and an example", () => {
    for (const raw of ["soon", "15 minutes", "0s", "25h", "1h-5m", ""]) {
      expect(() => parseDuration(raw, "--deadline"), raw).toThrow(
        /--deadline takes a duration .* 90s, 15m or 1h30m/,
      );
    }
  });

  it("defaults to 15 minutes; FLOWLOG_GUARD_DEADLINE or the flag (which wins) change it", () => {
    expect(resolveRunSettings({}, {}).deadlineMs).toBe(900_000);
    expect(resolveRunSettings({}, { FLOWLOG_GUARD_DEADLINE: "2m" }).deadlineMs).toBe(120_000);
    expect(resolveRunSettings({ deadline: "30s" }, { FLOWLOG_GUARD_DEADLINE: "2m" }).deadlineMs).toBe(30_000);
  });
});
