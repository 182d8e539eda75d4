/** A half-open time range [from, to) in epoch milliseconds. */
export interface TimeRange {
  from: number;
  to: number;
}

/**
 * How long after a window ends it is evaluated: events reach ClickHouse through producers'
 * batching, Kafka and the sink's flush, so the last seconds of a window land a little late. A
 * tenth of the window, between one second and one minute.
 */
export function windowGraceMs(windowMs: number): number {
  return Math.min(60_000, Math.max(1_000, Math.floor(windowMs / 10)));
}

/**
 * The most recent window that has ended, grace included, at `now`. Windows are aligned to
 * multiples of their length since the epoch, so every replica and every restart cuts the same
 * windows, and a result published twice lands on the same drift_metrics key.
 */
export function lastCompletedWindow(now: number, windowMs: number): TimeRange {
  const to = Math.floor((now - windowGraceMs(windowMs)) / windowMs) * windowMs;
  return { from: to - windowMs, to };
}

/** When the window after `window` may be evaluated. */
export function nextEvaluationAt(window: TimeRange, windowMs: number): number {
  return window.to + windowMs + windowGraceMs(windowMs);
}

/** The reference for a window: the pinned period when one is set, else the span just before it. */
export function referenceFor(window: TimeRange, referenceMs: number, pinned?: TimeRange): TimeRange {
  return pinned ?? { from: window.from - referenceMs, to: window.from };
}
