import { describe, expect, it } from "vitest";
import { defaultRateLimit, RateLimiter } from "../src/rate-limiter.ts";

/** A clock that only moves when the limiter sleeps, so the test measures the schedule exactly. */
function fakeClock() {
  let now = 0;
  const sleep = async (ms: number) => {
    now += ms;
  };
  return { now: () => now, sleep, elapsed: () => now };
}

describe("RateLimiter", () => {
  it("lets AWS's burst but one through at once, then paces at the refill rate (EC2 CreateFlowLogs: 49, then 5/s)", async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter({ ...clock, marginMs: 0 });
    for (let i = 0; i < 49; i++) await limiter.acquire("EC2", "CreateFlowLogs");
    expect(clock.elapsed()).toBe(0);
    for (let i = 0; i < 25; i++) await limiter.acquire("EC2", "CreateFlowLogs");
    // 25 tokens at 5/s: one every 200 ms.
    expect(clock.elapsed()).toBe(5_000);
  });

  it("keeps APIs apart: one API's debt does not slow another", async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter({ ...clock, marginMs: 0 });
    for (let i = 0; i < 60; i++) await limiter.acquire("EC2", "CreateFlowLogs");
    const before = clock.elapsed();
    await limiter.acquire("EC2", "DescribeVpcs");
    expect(clock.elapsed()).toBe(before);
  });

  it("uses one rate for every API with an override, and none with 0", async () => {
    const clock = fakeClock();
    const limited = new RateLimiter({ ...clock, override: 2, marginMs: 0 });
    // A burst of 2, one kept to spare: one call at once, then one every 500 ms.
    for (let i = 0; i < 6; i++) await limited.acquire("Logs", "CreateLogGroup");
    expect(clock.elapsed()).toBe(2_500);

    const unlimited = new RateLimiter({ ...fakeClock(), override: 0 });
    for (let i = 0; i < 1000; i++) await unlimited.acquire("EC2", "CreateFlowLogs");
    expect(unlimited.waited).toBe(0);
  });

  it("adds a constant margin to each wait without lowering the rate", async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter({ ...clock, override: 5, marginMs: 25 });
    for (let i = 0; i < 4; i++) await limiter.acquire("Logs", "CreateLogGroup");
    const calledAt: number[] = [];
    for (let i = 0; i < 10; i++) {
      await limiter.acquire("Logs", "CreateLogGroup");
      calledAt.push(clock.elapsed());
    }
    // The first wait is 200 ms + 25; each later call still comes 200 ms after the one before.
    expect(calledAt).toEqual(Array.from({ length: 10 }, (_, index) => 225 + index * 200));
  });

  it("keeps one token of AWS's bucket to spare: calls that arrive up to one token early still find one", async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter({ ...clock, marginMs: 0 });
    const sentAt: number[] = [];
    for (let i = 0; i < 8; i++) {
      await limiter.acquire("Logs", "CreateLogGroup");
      sentAt.push(clock.elapsed());
    }
    expect(sentAt).toEqual([0, 0, 0, 0, 200, 400, 600, 800]);
    // AWS's bucket (burst 5, 5/s) as the calls arrive, each up to 199 ms early against the one before
    // it (the first four delayed by 199 ms, the rest on time): none is refused.
    let tokens = 5;
    let at = 0;
    const arrivals = sentAt.map((sent, index) => (index < 4 ? sent + 199 : sent));
    const refused = [...arrivals]
      .sort((x, y) => x - y)
      .filter((arrival) => {
        tokens = Math.min(5, tokens + ((arrival - at) / 1000) * 5);
        at = arrival;
        if (tokens < 1) return true;
        tokens -= 1;
        return false;
      });
    expect(refused).toEqual([]);
  });

  it.each([
    ["EC2", "CreateFlowLogs", 5, 50],
    ["EC2", "DescribeVpcs", 20, 100],
    ["Logs", "CreateLogGroup", 5, 5],
  ])("%s:%s defaults to %i/s, burst %i", (service, operation, perSecond, burst) => {
    expect(defaultRateLimit(service, operation)).toEqual({ perSecond, burst });
  });
});

/** Nine throttled attempts of one API: with the tenth, throttling counts as sustained (AWS's bucket stays empty). */
function throttleNineTimes(limiter: RateLimiter, service: string, operation: string): void {
  for (let i = 0; i < 9; i++) limiter.observe(service, operation, "throttled");
}

/** A seeded generator (mulberry32), so the random throttling below is the same on every run. */
function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

describe("RateLimiter adapts to throttling", () => {
  it("lowers an API's rate by 30% when a call is throttled again while throttling is sustained, not below 5% of AWS's, and leaves other APIs alone", async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter({ ...clock, marginMs: 0 });
    throttleNineTimes(limiter, "Logs", "CreateLogGroup");
    // Throttled attempts alone: AWS's bucket was empty when they arrived; the rate stays.
    expect(limiter.rateOf("Logs", "CreateLogGroup")).toBe(5);
    limiter.observe("Logs", "CreateLogGroup", "throttled-again");
    expect(limiter.rateOf("Logs", "CreateLogGroup")).toBe(3.5);
    for (let i = 0; i < 10; i++) {
      await clock.sleep(1_000);
      limiter.observe("Logs", "CreateLogGroup", "throttled-again");
    }
    expect(limiter.rateOf("Logs", "CreateLogGroup")).toBeCloseTo(0.25);
    expect(limiter.rateOf("Logs", "PutRetentionPolicy")).toBe(5);
    expect(limiter.slowdowns).toBe(20);
  });

  it("lowers nothing before an API has made ten attempts: the first calls of a run say little about its bucket", () => {
    const limiter = new RateLimiter({ ...fakeClock(), marginMs: 0 });
    limiter.observe("Logs", "CreateLogGroup", "throttled");
    limiter.observe("Logs", "CreateLogGroup", "throttled-again");
    expect(limiter.rateOf("Logs", "CreateLogGroup")).toBe(5);
  });

  it("keeps the rate on lone throttles, however close together (calls arrived bunched, AWS shed load)", () => {
    const limiter = new RateLimiter({ ...fakeClock(), marginMs: 0 });
    for (let i = 0; i < 10; i++) limiter.observe("Logs", "CreateLogGroup", "throttled");
    expect(limiter.rateOf("Logs", "CreateLogGroup")).toBe(5);
    expect(limiter.slowdowns).toBe(10);
  });

  it("keeps the rate under scattered throttling: one attempt in five throttled at random, calls throttled again included", async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter({ ...clock, marginMs: 0 });
    const random = seededRandom(7);
    let throttledAgain = 0;
    let rateSum = 0;
    let lowered = 0;
    const calls = 2_000;
    for (let call = 0; call < calls; call++) {
      // A call's attempts (the SDK's three), each throttled one time in five, as in the 20% scenario.
      for (let attempt = 1; attempt <= 3; attempt++) {
        await limiter.acquire("Logs", "CreateLogGroup");
        if (random() >= 0.2) {
          limiter.observe("Logs", "CreateLogGroup", "succeeded");
          break;
        }
        if (attempt > 1) throttledAgain++;
        const before = limiter.rateOf("Logs", "CreateLogGroup")!;
        limiter.observe("Logs", "CreateLogGroup", attempt > 1 ? "throttled-again" : "throttled");
        if (limiter.rateOf("Logs", "CreateLogGroup")! < before) lowered++;
      }
      rateSum += limiter.rateOf("Logs", "CreateLogGroup")!;
    }
    // Enough calls were throttled again to have slowed down each time under a rule that did so...
    expect(throttledAgain).toBeGreaterThan(50);
    // ...yet it seldom slowed down, and the rate stayed at AWS's nearly all the time.
    expect(lowered).toBeLessThan(throttledAgain / 10);
    expect(rateSum / calls).toBeGreaterThan(4.95);
  });

  it("slows down when AWS's bucket stays empty (another tool drains it): every attempt throttled", async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter({ ...clock, marginMs: 0 });
    for (let second = 0; second < 10; second++) {
      limiter.observe("Logs", "CreateLogGroup", "throttled");
      limiter.observe("Logs", "CreateLogGroup", "throttled-again");
      await clock.sleep(1_000);
    }
    // Ten attempts in five seconds make it sustained; from then on, 30% less each second.
    expect(limiter.rateOf("Logs", "CreateLogGroup")).toBeLessThan(5 * 0.7 ** 4);
  });

  it("slows down at most once a second: calls throttled again within the second lower nothing more", async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter({ ...clock, marginMs: 0 });
    throttleNineTimes(limiter, "Logs", "CreateLogGroup");
    limiter.observe("Logs", "CreateLogGroup", "throttled-again");
    await clock.sleep(999);
    for (let i = 0; i < 5; i++) limiter.observe("Logs", "CreateLogGroup", "throttled-again");
    expect(limiter.rateOf("Logs", "CreateLogGroup")).toBe(3.5);
    await clock.sleep(1);
    limiter.observe("Logs", "CreateLogGroup", "throttled-again");
    expect(limiter.rateOf("Logs", "CreateLogGroup")).toBeCloseTo(2.45);
  });

  it("a call sent before the last slowdown lowers the rate no further (it was sent at the older rate)", async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter({ ...clock, marginMs: 0 });
    await clock.sleep(5_000);
    throttleNineTimes(limiter, "EC2", "CreateFlowLogs");
    limiter.observe("EC2", "CreateFlowLogs", "throttled-again");
    await clock.sleep(5_000);
    // Sent 6 s ago (its round trip), before the slowdown 5 s ago.
    limiter.observe("EC2", "CreateFlowLogs", "throttled-again", 6_000);
    expect(limiter.rateOf("EC2", "CreateFlowLogs")).toBe(3.5);
    // Sent 10 ms ago, after it.
    limiter.observe("EC2", "CreateFlowLogs", "throttled-again", 10);
    expect(limiter.rateOf("EC2", "CreateFlowLogs")).toBeCloseTo(2.45);
  });

  it("raises the rate again as calls succeed (10% of AWS's a call), up to AWS's published rate", () => {
    const limiter = new RateLimiter({ ...fakeClock(), marginMs: 0 });
    throttleNineTimes(limiter, "EC2", "CreateFlowLogs");
    limiter.observe("EC2", "CreateFlowLogs", "throttled-again");
    expect(limiter.rateOf("EC2", "CreateFlowLogs")).toBe(3.5);
    for (let i = 0; i < 2; i++) limiter.observe("EC2", "CreateFlowLogs", "succeeded");
    expect(limiter.rateOf("EC2", "CreateFlowLogs")).toBeCloseTo(4.5);
    for (let i = 0; i < 100; i++) limiter.observe("EC2", "CreateFlowLogs", "succeeded");
    expect(limiter.rateOf("EC2", "CreateFlowLogs")).toBe(5);
  });

  it("a lone throttle keeps the burst: the next calls go at once (a slower start would not have avoided it)", async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter({ ...clock, marginMs: 0 });
    limiter.observe("Logs", "CreateLogGroup", "throttled");
    for (let i = 0; i < 4; i++) await limiter.acquire("Logs", "CreateLogGroup");
    // The four tokens of the burst (five, one kept to spare), no wait.
    expect(clock.elapsed()).toBe(0);
  });

  it("sustained throttling drops the burst: the next calls wait at the published rate", async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter({ ...clock, marginMs: 0 });
    for (let i = 0; i < 10; i++) limiter.observe("Logs", "CreateLogGroup", "throttled");
    for (let i = 0; i < 5; i++) await limiter.acquire("Logs", "CreateLogGroup");
    // Five tokens at 5/s after the burst was dropped: one every 200 ms.
    expect(clock.elapsed()).toBe(1_000);
  });

  it("a call throttled again under sustained throttling drops the burst and lowers the rate: the next calls wait at the lowered rate", async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter({ ...clock, marginMs: 0 });
    throttleNineTimes(limiter, "Logs", "CreateLogGroup");
    limiter.observe("Logs", "CreateLogGroup", "throttled-again");
    for (let i = 0; i < 7; i++) await limiter.acquire("Logs", "CreateLogGroup");
    // Seven tokens at 3.5/s after the burst was dropped: 2 s (each wait rounded up to the millisecond).
    expect(clock.elapsed()).toBeGreaterThanOrEqual(2_000);
    expect(clock.elapsed()).toBeLessThanOrEqual(2_007);
  });

  it("a limiter that is off (rate 0) has nothing to adapt", () => {
    const limiter = new RateLimiter({ override: 0, ...fakeClock() });
    limiter.observe("EC2", "CreateFlowLogs", "throttled-again");
    expect(limiter.rateOf("EC2", "CreateFlowLogs")).toBeUndefined();
    expect(limiter.slowdowns).toBe(0);
  });
});
