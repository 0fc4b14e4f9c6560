import { describe, expect, it } from "vitest";
import { tieredMonthlyCost } from "../src/evidence/cost.ts";

describe("vended-log tiers", () => {
  it.each([
    ["cloudwatch-logs", 0, 0],
    ["cloudwatch-logs", 100, 50],
    ["cloudwatch-logs", 20 * 1024, 10 * 1024 * 0.5 + 10 * 1024 * 0.25],
    ["cloudwatch-logs", 60 * 1024, 10240 * 0.5 + 20480 * 0.25 + 20480 * 0.1 + 10240 * 0.05],
    ["s3", 100, 25],
    ["s3", 40 * 1024, 10240 * 0.25 + 20480 * 0.15 + 10240 * 0.075],
  ] as const)("%s: %d GB a month cost $%d", (kind, gb, usd) => {
    expect(tieredMonthlyCost(kind, gb)).toBeCloseTo(usd, 6);
  });
});
