/**
 * When to try again, in one place for every caller that retries: the event bus, the outbox, model
 * calls, notification deliveries and the SDK. Dependency-free, so the published SDK can carry it.
 */

/**
 * Exponential backoff with equal jitter: half the ceiling fixed, half random, so a retry never
 * comes at once yet a fleet of callers does not retry in step. Attempt counts from 1; the ceiling
 * doubles from `baseMs` up to `capMs`.
 */
export function backoffDelay(
  attempt: number,
  baseMs = 200,
  capMs = 30_000,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * Retry-After (RFC 9110 10.2.3) in milliseconds from delta-seconds or an HTTP date; undefined when
 * absent or unreadable. A repeated header counts by its first value.
 */
export function parseRetryAfter(
  value: string | readonly string[] | null | undefined,
  now = Date.now(),
): number | undefined {
  const text = typeof value === 'string' ? value : value?.[0];
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
