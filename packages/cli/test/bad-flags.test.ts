import { ConfigError } from "@flowlog-guard/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { UsageError } from "../src/errors.ts";
import { resolveRunSettings } from "../src/options.ts";

const FLAGS = [
  "regions",
  "concurrency",
  "apiRate",
  "trafficType",
  "retentionDays",
  "logGroupName",
  "roleName",
  "rolePermissionsBoundary",
  "includeDefaultVpcs",
  "maxAggregationInterval",
  "logFormat",
  "kmsKeyArn",
  "maxExceptionDays",
  "ledgerBus",
];

describe("CLI flags: settings, or a UsageError / ConfigError saying what to fix", () => {
  it("holds for any value of any flag", () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.constantFrom(...FLAGS),
          fc.oneof(fc.string(), fc.string({ unit: "grapheme" }), fc.constantFrom("0", "-1", "1e9", "", " ")),
          {
            maxKeys: 4,
          },
        ),
        (flags) => {
          try {
            const settings = resolveRunSettings(flags, {});
            expect(settings.concurrency).toBeGreaterThanOrEqual(1);
            expect(settings.policy.retentionDays).toBeGreaterThanOrEqual(365);
          } catch (error) {
            expect(error instanceof UsageError || error instanceof ConfigError).toBe(true);
            expect((error as Error).message.length).toBeGreaterThan(10);
          }
        },
      ),
      { numRuns: 500, seed: 20261122 },
    );
  });
});
