// Backoff policy: exponential with jitter, capped; a server's Retry-After wins when present.

export interface RetryPolicy {
  /** Tries after the first. Default 4. */
  maxRetries: number;
  /** First backoff in ms. Default 500. */
  baseDelayMs: number;
  /** Backoff cap in ms (also caps Retry-After). Default 30000. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxRetries: 4, baseDelayMs: 500, maxDelayMs: 30_000 };

/** Delay before retry number `retry` (0-based): base * 2^retry, with full jitter in [50%, 100%]. */
export function backoffMs(policy: RetryPolicy, retry: number, random: () => number): number {
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
  return Math.round(exp * (0.5 + 0.5 * random()));
}

/**
 * Parses a Retry-After header: seconds ("3", "1.5") or an HTTP date. Returns ms from `now`, or
 * undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const t = Date.parse(v);
  if (Number.isNaN(t)) return undefined;
  return Math.max(0, t - now);
}

/** Resolves after `ms`, or rejects when `signal` aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
