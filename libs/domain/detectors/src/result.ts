import { DEFAULT_ALPHA, DEFAULT_MIN_SAMPLES, type DetectorOptions, type DetectorResult } from './types';

export interface ResolvedOptions {
  minSamples: number;
  alpha: number;
}

export function resolveOptions(options: DetectorOptions = {}): ResolvedOptions {
  const minSamples = options.minSamples ?? DEFAULT_MIN_SAMPLES;
  const alpha = options.alpha ?? DEFAULT_ALPHA;
  if (!Number.isInteger(minSamples) || minSamples < 1) {
    throw new RangeError(`minSamples must be a positive integer (got ${minSamples})`);
  }
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must lie in (0, 1) (got ${alpha})`);
  return { minSamples, alpha };
}

/** The message contract takes finite numbers or null; an infinite odds ratio or lift becomes null. */
export function finite(value: number | null | undefined): number | null {
  return value === null || value === undefined || !Number.isFinite(value) ? null : value;
}

/**
 * The result of a detector that did not have enough observations: no statistic, no p-value, and
 * the reason in words, so that a dashboard or an alert shows why there is no verdict.
 */
export function insufficientData(
  metric: string,
  detector: string,
  sizes: { sample: number; reference: number },
  minSamples: number,
  what: string,
  details: Record<string, unknown> = {},
): DetectorResult {
  const short: string[] = [];
  if (sizes.sample < minSamples) short.push(`the current window has ${sizes.sample} ${what}`);
  if (sizes.reference < minSamples) short.push(`the reference has ${sizes.reference} ${what}`);
  return {
    metric,
    detector,
    statistic: null,
    p_value: null,
    effect_size: null,
    sample_size: sizes.sample,
    reference_size: sizes.reference,
    verdict: 'insufficient-data',
    details: {
      ...details,
      reason: `${short.join(' and ')}; at least ${minSamples} are needed for a verdict`,
      min_samples: minSamples,
    },
  };
}

export function verdictOf(pValue: number, alpha: number): 'ok' | 'drift' {
  return pValue < alpha ? 'drift' : 'ok';
}

export function mean(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i];
  return sum / values.length;
}

/** Unbiased sample variance (n - 1), by Welford's update so large means do not cost precision. */
export function variance(values: ArrayLike<number>): number {
  let average = 0;
  let squares = 0;
  for (let i = 0; i < values.length; i++) {
    const delta = values[i] - average;
    average += delta / (i + 1);
    squares += delta * (values[i] - average);
  }
  return values.length > 1 ? squares / (values.length - 1) : 0;
}

/** Linear-interpolation quantile (NumPy's default) of an already sorted array. */
export function sortedQuantile(sorted: Float64Array, q: number): number {
  const position = (sorted.length - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.min(lower + 1, sorted.length - 1);
  return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - lower);
}

/** Rounds for the details shown to people; the statistic fields keep full precision. */
export function rounded(value: number, digits = 6): number {
  return Number(value.toPrecision(digits));
}
