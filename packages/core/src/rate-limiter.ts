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
/** Each call that succeeds gives back this share of the published rate (additive increase). */
const RECOVERY_SHARE = 0.02;
/**
 * A throttle this soon (in seconds' worth of the published burst, at least 1 s) after the one before
 * means AWS's bucket for the API really refills slower than published (other callers share it): the
 * rate is halved. A lone throttle means only that AWS's bucket was empty when a call arrived (calls
 * delayed in flight arrive bunched): the limiter drops its tokens to match, and keeps the rate.
 */
const REPEAT_WINDOW_MIN_MS = 1_000;
/**
 * The longest margin kept behind AWS's buckets. The margin only grows: a shrinking one would send
 * calls closer together than the rate, into a bucket that has no token to spare.
 */
const MAX_MARGIN_MS = 1_000;

class TokenBucket {
  private tokens: number;
  private updated: number;
  private readonly limit: RateLimit;
  private readonly now: () => number;
  /** The rate in force: the published one, lowered while AWS throttles and raised again as calls succeed. */
  perSecond: number;
  private lastThrottle: number | undefined;

  constructor(limit: RateLimit, now: () => number) {
    this.limit = limit;
    this.now = now;
    this.tokens = limit.burst;
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
   * AWS throttled a call: drop the burst (AWS's bucket is empty); when it throttled another call
   * shortly before, also halve the rate (not below 5% of the published one). Returns true if halved.
   */
  throttled(): boolean {
    this.refill();
    this.tokens = Math.min(this.tokens, 0);
    const now = this.now();
    const window = Math.max(REPEAT_WINDOW_MIN_MS, (this.limit.burst / this.limit.perSecond) * 1000);
    const repeated = this.lastThrottle !== undefined && now - this.lastThrottle <= window;
    this.lastThrottle = now;
    if (repeated) this.perSecond = Math.max(this.limit.perSecond * MIN_RATE_SHARE, this.perSecond / 2);
    return repeated;
  }

  /** A call went through: raise the rate a little, up to the published one. */
  succeeded(): void {
    this.perSecond = Math.min(this.limit.perSecond, this.perSecond + this.limit.perSecond * RECOVERY_SHARE);
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
  /** The longest any call took from token to answer (AWS got it in between), up to MAX_MARGIN_MS. */
  private latencyMs = 0;

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
    // We count a token when a call leaves; AWS counts it when the call arrives, up to one round trip
    // later. A margin on each wait as long as the longest round trip seen (at least `marginMs`, at
    // most 1 s) keeps us behind AWS's bucket. It shifts the calls, it does not slow the rate (waits
    // are computed from the debt, not added up).
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

  /** Times AWS throttled a call: each dropped that API's burst; repeated ones also lowered its rate. */
  get slowdowns(): number {
    return this.throttles;
  }

  /** The rate in force for an API (requests per second), or undefined when it is not limited. */
  rateOf(service: string, operation: string): number | undefined {
    return this.bucketFor(service, operation)?.perSecond;
  }

  /**
   * Adapts to what AWS says (per account and region, as AWS's buckets are): a throttled call empties
   * that API's burst here, a throttle soon after another halves its rate, and each call that succeeds
   * raises it again towards the published rate, so sustained throttling becomes a slower run rather
   * than failed calls, while one throttle from calls that arrived bunched costs only the burst.
   */
  observe(service: string, operation: string, outcome: "throttled" | "succeeded", latencyMs?: number): void {
    const bucket = this.bucketFor(service, operation);
    if (!bucket) return;
    if (latencyMs !== undefined)
      this.latencyMs = Math.min(MAX_MARGIN_MS, Math.max(latencyMs, this.latencyMs));
    if (outcome === "throttled") {
      this.throttles++;
      bucket.throttled();
    } else bucket.succeeded();
  }

  async acquire(service: string, operation: string): Promise<void> {
    const bucket = this.bucketFor(service, operation);
    if (!bucket) return;
    const wait = bucket.take();
    if (wait <= 0) return;
    const due = this.now() + wait;
    // The margin is checked again on waking: answers that came back meanwhile (the burst's) may
    // have shown longer round trips than were known when the wait began.
    for (let left = wait + this.margin(); left > 0; left = due + this.margin() - this.now()) {
      this.waitedMs += left;
      await this.sleep(left);
    }
  }

  private margin(): number {
    return Math.max(this.marginMs, Math.ceil(this.latencyMs));
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
