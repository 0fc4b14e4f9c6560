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

class TokenBucket {
  private tokens: number;
  private updated: number;
  private readonly limit: RateLimit;
  private readonly now: () => number;
  /** The rate in force: the published one, lowered while AWS throttles and raised again as calls succeed. */
  perSecond: number;

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

  /** AWS throttled a call: halve the rate (not below 5% of the published one) and drop the burst. */
  throttled(): void {
    this.refill();
    this.perSecond = Math.max(this.limit.perSecond * MIN_RATE_SHARE, this.perSecond / 2);
    this.tokens = Math.min(this.tokens, 0);
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

  /**
   * @param override requests per second for every API (0: no limiting), instead of AWS's buckets.
   */
  constructor(options: { override?: number; sleep?: Sleep; now?: () => number; marginMs?: number } = {}) {
    const { override } = options;
    // AWS's bucket starts when our first call arrives, a little after ours did, so it is that much
    // behind on every refill: a constant margin on each wait keeps us behind it. It shifts the calls,
    // it does not slow the rate (waits are computed from the debt, not added up).
    this.marginMs = options.marginMs ?? 25;
    this.limitFor =
      override === undefined
        ? defaultRateLimit
        : override === 0
          ? () => undefined
          : () => ({ perSecond: override, burst: Math.max(1, Math.round(override)) });
    this.sleep = options.sleep ?? realSleep;
    this.now = options.now ?? Date.now;
  }

  /** Total time calls spent waiting for a token. */
  get waited(): number {
    return this.waitedMs;
  }

  /** Times AWS throttled a call, each of which lowered that API's rate. */
  get slowdowns(): number {
    return this.throttles;
  }

  /** The rate in force for an API (requests per second), or undefined when it is not limited. */
  rateOf(service: string, operation: string): number | undefined {
    return this.bucketFor(service, operation)?.perSecond;
  }

  /**
   * Adapts to what AWS says: a throttled call halves that API's rate here (per account and region,
   * as AWS's buckets are), and each call that succeeds raises it again towards the published rate,
   * so sustained throttling becomes a slower run rather than failed calls.
   */
  observe(service: string, operation: string, outcome: "throttled" | "succeeded"): void {
    const bucket = this.bucketFor(service, operation);
    if (!bucket) return;
    if (outcome === "throttled") {
      this.throttles++;
      bucket.throttled();
    } else bucket.succeeded();
  }

  async acquire(service: string, operation: string): Promise<void> {
    const bucket = this.bucketFor(service, operation);
    if (!bucket) return;
    const wait = bucket.take();
    if (wait > 0) {
      this.waitedMs += wait + this.marginMs;
      await this.sleep(wait + this.marginMs);
    }
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
