import { describe, expect, it } from "vitest";
import { EXCEPTION_TAGS, evaluateException, parseExceptionExpiry } from "../src/exceptions.ts";

const NOW = new Date("2026-06-01T12:00:00Z");

describe("parseExceptionExpiry", () => {
  it.each([
    ["2026-12-31", "2026-12-31T00:00:00.000Z"],
    ["2026-12-31T18:30:00Z", "2026-12-31T18:30:00.000Z"],
    ["2026-12-31T18:30Z", "2026-12-31T18:30:00.000Z"],
    ["2026-12-31T18:30:00.250Z", "2026-12-31T18:30:00.250Z"],
    ["2026-12-31T18:30:00+00:00", "2026-12-31T18:30:00.000Z"],
    ["2028-02-29", "2028-02-29T00:00:00.000Z"],
  ])("%s -> %s", (value, iso) => {
    expect(parseExceptionExpiry(value)?.toISOString()).toBe(iso);
  });

  it.each([
    "2026-02-30",
    "2027-02-29",
    "2026-13-01",
    "2026-12-31T25:00:00Z",
    "2026-12-31T18:30:00+02:00",
    "2026-12-31T18:30:00",
    "31/12/2026",
    "tomorrow",
    "",
    " 2026-12-31",
    "2026-12-31; DROP TABLE vpcs",
    "２０２６-12-31",
  ])("rejects %j", (value) => {
    expect(parseExceptionExpiry(value)).toBeUndefined();
  });
});

describe("evaluateException", () => {
  const tags = (owner?: string, expires?: string, reason?: string) => ({
    ...(owner !== undefined ? { [EXCEPTION_TAGS.owner]: owner } : {}),
    ...(expires !== undefined ? { [EXCEPTION_TAGS.expires]: expires } : {}),
    ...(reason !== undefined ? { [EXCEPTION_TAGS.reason]: reason } : {}),
  });

  it("is undefined without exception tags", () => {
    expect(evaluateException({ Name: "x" }, NOW, 365)).toBeUndefined();
  });

  it.each([
    { name: "valid", input: tags("alice", "2026-07-01", "migration"), state: "valid" },
    { name: "expired", input: tags("alice", "2026-05-01"), state: "expired" },
    { name: "expires exactly now", input: tags("alice", "2026-06-01T12:00:00Z"), state: "expired" },
    {
      name: "missing owner",
      input: tags(undefined, "2026-07-01"),
      state: "invalid",
      problem: "missing owner",
    },
    { name: "blank owner", input: tags("   ", "2026-07-01"), state: "invalid", problem: "missing owner" },
    { name: "missing expiry", input: tags("alice"), state: "invalid", problem: "missing expiry" },
    {
      name: "reason only",
      input: tags(undefined, undefined, "why"),
      state: "invalid",
      problem: "missing owner",
    },
    { name: "malformed", input: tags("alice", "soon"), state: "invalid", problem: "malformed expiry" },
    {
      name: "too far out",
      input: tags("alice", "2027-06-02"),
      state: "invalid",
      problem: "more than 365 days",
    },
    {
      name: "huge owner",
      input: tags("a".repeat(300), "2026-07-01"),
      state: "invalid",
      problem: "longer than 256",
    },
  ])("$name -> $state", ({ input, state, problem }) => {
    const verdict = evaluateException(input, NOW, 365);
    expect(verdict?.state).toBe(state);
    if (problem) expect(verdict?.state === "invalid" && verdict.problems.join(" ")).toContain(problem);
  });

  it("reports when an expired exception expired", () => {
    expect(evaluateException(tags("alice", "2026-05-01"), NOW, 365)).toEqual({
      state: "expired",
      owner: "alice",
      expires: "2026-05-01",
      expiredAt: "2026-05-01T00:00:00.000Z",
    });
  });

  it("honours a shorter maxExceptionDays", () => {
    expect(evaluateException(tags("alice", "2026-07-15"), NOW, 30)?.state).toBe("invalid");
    expect(evaluateException(tags("alice", "2026-06-15"), NOW, 30)?.state).toBe("valid");
  });

  it("truncates huge tag values in what it reports", () => {
    const verdict = evaluateException(tags("alice", "x".repeat(5000)), NOW, 365);
    expect(JSON.stringify(verdict).length).toBeLessThan(1000);
  });
});
