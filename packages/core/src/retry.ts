/** Waits; injectable so tests and benchmarks can run retries without real delays. */
export type Sleep = (ms: number) => Promise<void>;

export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export interface RetryOptions {
  /** True when the error is worth another try. */
  retryable: (error: unknown) => boolean;
  /** Give up once this much time has passed since the first try. */
  timeoutMs: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  sleep?: Sleep;
  now?: () => number;
  /** Called before each wait, for logs. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

/**
 * Calls `operation` until it succeeds, fails with an error that is not retryable, or `timeoutMs`
 * runs out; waits with exponential backoff and full jitter between tries. Used where the SDK's own
 * retries do not apply (IAM propagation, eventual consistency right after a create).
 */
export async function retryWithBackoff<T>(operation: () => Promise<T>, options: RetryOptions): Promise<T> {
  const sleep = options.sleep ?? realSleep;
  const now = options.now ?? Date.now;
  const base = options.baseDelayMs ?? 1_000;
  const max = options.maxDelayMs ?? 15_000;
  const started = now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      const elapsed = now() - started;
      if (!options.retryable(error) || elapsed >= options.timeoutMs) throw error;
      const ceiling = Math.min(max, base * 2 ** (attempt - 1));
      const delay = Math.min(
        Math.max(1, Math.round(ceiling / 2 + Math.random() * (ceiling / 2))),
        options.timeoutMs - elapsed,
      );
      options.onRetry?.(error, attempt, delay);
      await sleep(delay);
    }
  }
}

/** Runs `worker` over `items` with at most `concurrency` at once; keeps the results in input order. */
export async function mapWithConcurrency<T, R>(
  items: readonly T[],
  concurrency: number,
  worker: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const runners = Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await worker(items[index] as T, index);
    }
  });
  await Promise.all(runners);
  return results;
}
