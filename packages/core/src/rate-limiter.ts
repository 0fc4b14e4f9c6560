import { realSleep, type Sleep } from "./retry.ts";

/** A token bucket: `burst` calls at once, then `perSecond`. */
export interface RateLimit {
  perSecond: number;
  burst: number;
}

/**
 * AWS's own request buckets, per account, region and API, so that a run goes as fast as AWS allows
 * and no faster (sources: EC2 API throttling docs, CloudWatch Logs quotas; see docs/fix-all.md).
 * IAM publishes no rates; its calls are few.
 */
export function defaultRateLimit(service: string, operation: string): RateLimit {
  if (service === "EC2") {
    if (operation === "CreateTags" || operation === "DeleteTags") return { perSecond: 10, burst: 100 };
    if (/^(Describe|Get|List|Search)/.test(operation)) return { perSecond: 20, burst: 100 };
    return { perSecond: 5, burst: 50 };
  }
  if (service === "Logs") return { perSecond: 5, burst: 5 };
  if (service === "IAM") return { perSecond: 10, burst: 10 };
  return { perSecond: 50, burst: 50 };
}

/** The lowest share of AWS's published rate a throttled API is slowed to. */
const MIN_RATE_SHARE = 0.05;
/** A slowdown multiplies the rate by this (the SDK's adaptive retry mode uses the same factor). */
const SLOWDOWN_FACTOR = 0.7;
/** At most one slowdown per API in this time: AWS refills its buckets every second. */
const SLOWDOWN_INTERVAL_MS = 1_000;
/**
 * Throttling is sustained (AWS's bucket stays empty, as when another tool drains it) when at least
 * half of the API's last 20 attempts were throttled, counted once 10 have been made. Random
 * throttling (AWS shedding load: 20% of attempts in the reliability benchmark) almost never gets
 * there, and slowing down for it only made runs slower (docs/reliability.md).
 */
const RECENT_ATTEMPTS = 20;
const MIN_ATTEMPTS_SEEN = 10;
const SUSTAINED_THROTTLE_SHARE = 0.5;
/** Each call that succeeds gives back this share of the published rate (additive increase). */
const RECOVERY_SHARE = 0.1;
/**
 * Tokens of AWS's burst left unused (when the burst has more than one): AWS counts a call when it
 * arrives, not when it left, and calls delayed on the way arrive bunched. With a token to spare in
 * AWS's bucket, calls may arrive up to one token's time (200 ms at 5/s) early against our schedule
 * and still find one; it costs that time once per bucket, not a delay on every call.
 */
const SPARE_TOKENS = 1;

class TokenBucket {
  private tokens: number;
  private updated: number;
  private readonly limit: RateLimit;
  private readonly now: () => number;
  /** The rate in force: the published one, lowered while AWS throttles and raised again as calls succeed. */
  perSecond: number;
  /** When the rate was last lowered: calls sent before then were sent at the older, higher rate. */
  private loweredAt = Number.NEGATIVE_INFINITY;
  /** Whether each of the last RECENT_ATTEMPTS attempts was throttled, oldest first. */
  private readonly recentAttempts: boolean[] = [];

  constructor(limit: RateLimit, now: () => number) {
    this.limit = limit.burst > SPARE_TOKENS ? { ...limit, burst: limit.burst - SPARE_TOKENS } : limit;
    this.now = now;
    this.tokens = this.limit.burst;
    this.updated = now();
    this.perSecond = limit.perSecond;
  }

  /** Takes a token and returns how long to wait for it (0 when one is there); tokens can go into debt. */
  take(): number {
    this.refill();
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.perSecond) * 1000);
  }

  /**
   * AWS throttled a call sent at `sentAt`. When throttling is sustained, drop the burst (AWS's bucket
   * is empty), and when the same call was throttled before (`again`) also lower the rate by 30% (not
   * below 5% of the published one), unless it was lowered after the call was sent or less than a
   * second ago. Returns true if lowered.
   */
  throttled(sentAt: number, again: boolean): boolean {
    this.remember(true);
    if (!this.sustained()) return false;
    this.refill();
    this.tokens = Math.min(this.tokens, 0);
    const now = this.now();
    const justLowered = sentAt <= this.loweredAt || now - this.loweredAt < SLOWDOWN_INTERVAL_MS;
    if (!again || justLowered) return false;
    this.perSecond = Math.max(this.limit.perSecond * MIN_RATE_SHARE, this.perSecond * SLOWDOWN_FACTOR);
    this.loweredAt = now;
    return true;
  }

  /** A call went through: raise the rate a little, up to the published one. */
  succeeded(): void {
    this.remember(false);
    this.refill(); // tokens made so far at the old rate
    this.perSecond = Math.min(this.limit.perSecond, this.perSecond + this.limit.perSecond * RECOVERY_SHARE);
  }

  private remember(throttled: boolean): void {
    this.recentAttempts.push(throttled);
    if (this.recentAttempts.length > RECENT_ATTEMPTS) this.recentAttempts.shift();
  }

  private sustained(): boolean {
    const seen = this.recentAttempts.length;
    const throttled = this.recentAttempts.filter(Boolean).length;
    return seen >= MIN_ATTEMPTS_SEEN && throttled >= seen * SUSTAINED_THROTTLE_SHARE;
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(this.limit.burst, this.tokens + ((now - this.updated) / 1000) * this.perSecond);
    this.updated = now;
  }
}

/**
 * Client-side rate limiting per API (one limiter per account and region), so that a large run
 * spends its time waiting for tokens rather than on throttled calls and retries.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly limitFor: (service: string, operation: string) => RateLimit | undefined;
  private readonly sleep: Sleep;
  private readonly now: () => number;
  private waitedMs = 0;
  private throttles = 0;
  private readonly marginMs: number;

  /**
   * @param override requests per second for every API (0: no limiting), instead of AWS's buckets.
   * @param limits the bucket of each API (undefined: not limited), instead of AWS's published ones
   *   (an account with raised quotas; a benchmark that runs AWS's buckets on a slower clock).
   */
  constructor(
    options: {
      override?: number;
      limits?: (service: string, operation: string) => RateLimit | undefined;
      sleep?: Sleep;
      now?: () => number;
      marginMs?: number;
    } = {},
  ) {
    const { override } = options;
    // AWS's bucket starts when our first call arrives, a little after ours did, so it is that much
    // behind on every refill: a constant margin on each wait keeps us behind it. It shifts the calls,
    // it does not slow the rate (waits are computed from the debt, not added up). Calls that arrive
    // bunched are covered by the spare token (SPARE_TOKENS), not by a longer margin: a margin delays
    // every paced call, and a run whose calls in flight are few becomes bound by it.
    this.marginMs = options.marginMs ?? 25;
    this.limitFor =
      override === undefined
        ? (options.limits ?? defaultRateLimit)
        : override === 0
          ? () => undefined
          : () => ({ perSecond: override, burst: Math.max(1, Math.round(override)) });
    this.sleep = options.sleep ?? realSleep;
    this.now = options.now ?? Date.now;
  }

  /** The limiter's clock (ms): round trips reported to `observe` are measured on it. */
  clock(): number {
    return this.now();
  }

  /** Total time calls spent waiting for a token. */
  get waited(): number {
    return this.waitedMs;
  }

  /** Times AWS throttled a call (under sustained throttling each dropped that API's burst, and calls throttled again lowered its rate). */
  get slowdowns(): number {
    return this.throttles;
  }

  /** The rate in force for an API (requests per second), or undefined when it is not limited. */
  rateOf(service: string, operation: string): number | undefined {
    return this.bucketFor(service, operation)?.perSecond;
  }

  /**
   * Adapts to what AWS says (per account and region, as AWS's buckets are), when throttling is
   * sustained: at least half of the API's last 20 attempts throttled, once 10 have been made (AWS's
   * bucket stays empty, as when another tool drains it). Then a throttled call empties that API's
   * burst here, and a call throttled again (`"throttled-again"`: the same call, after the SDK's
   * backoff) lowers the rate by 30%, at most once a second and only for a call sent after the last
   * drop (one sent before was sent at the older rate and says nothing of the new one; TCP slows down
   * once per window for the same reason). Each call that succeeds raises the rate by 10% of the
   * published one. So sustained throttling becomes a slower run rather than failed calls, while
   * scattered throttles (calls that arrived bunched, AWS shedding load: nothing a slower rate or a
   * smaller burst would avoid) cost nothing but their retry. Slowing down on every throttle, with 2%
   * back per success, made fix-all 6.5 times slower under 20% random throttling; slowing down on
   * every call throttled again still cost about 12% there (docs/reliability.md).
   * @param latencyMs the call's time from token to answer (its round trip), on the limiter's clock.
   */
  observe(
    service: string,
    operation: string,
    outcome: "throttled" | "throttled-again" | "succeeded",
    latencyMs?: number,
  ): void {
    const bucket = this.bucketFor(service, operation);
    if (!bucket) return;
    if (outcome === "succeeded") {
      bucket.succeeded();
      return;
    }
    this.throttles++;
    bucket.throttled(this.now() - (latencyMs ?? 0), outcome === "throttled-again");
  }

  async acquire(service: string, operation: string): Promise<void> {
    const bucket = this.bucketFor(service, operation);
    if (!bucket) return;
    const wait = bucket.take();
    if (wait <= 0) return;
    this.waitedMs += wait + this.marginMs;
    await this.sleep(wait + this.marginMs);
  }

  private bucketFor(service: string, operation: string): TokenBucket | undefined {
    const key = `${service}:${operation}`;
    let bucket = this.buckets.get(key);
    if (!bucket) {
      const limit = this.limitFor(service, operation);
      if (!limit) return undefined;
      bucket = new TokenBucket(limit, this.now);
      this.buckets.set(key, bucket);
    }
    return bucket;
  }
}
