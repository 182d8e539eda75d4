import { special, type CalibrationMethod } from '@tripline/drift';
import { insufficientData, resolveOptions, rounded } from './result';
import type { DetectorOptions, DetectorResult } from './types';

/**
 * Label-free performance estimation: confidence-based performance estimation (CBPE, as NannyML
 * defines it). The model's scores are calibrated on the reference events whose feedback arrived;
 * the calibrated probability that each current prediction is right (or that each class is the
 * true one) gives the expected confusion counts, hence the expected accuracy and macro-F1, of a
 * window with no labels at all.
 *
 * What it assumes, and so what it cannot see: the calibrated map P(right | score) learnt on the
 * reference holds on the current window. That is true under covariate shift (the inputs move,
 * P(label | input) does not), which is what it is for. It is false under concept drift (the same
 * input now has another right answer) and under label shift (the class mix changes, so a score
 * means a different chance of being right): then the estimate is wrong and does not know it.
 * When some feedback has arrived in the window, the estimate is checked against it and marked
 * `contradicted-by-feedback` when the two disagree.
 *
 * This file holds what both estimates share (options, the interval's z, the verdict rule and the
 * result); the estimates are estimated-accuracy.ts and estimated-macro-f1.ts.
 */
export const CBPE_DETECTOR = 'cbpe';
export const ESTIMATED_ACCURACY_METRIC = 'estimated_accuracy';
export const ESTIMATED_MACRO_F1_METRIC = 'estimated_macro_f1';
/** How far the estimate must fall below the reference's realised value for a drift verdict. */
export const DEFAULT_PERFORMANCE_MARGIN = 0.05;
export const DEFAULT_CONFIDENCE_LEVEL = 0.95;
export const DEFAULT_CBPE_RESAMPLES = 200;
export const DEFAULT_CBPE_SEED = 0x0cbe;
/** Labelled current events needed before the estimate is checked against them. */
export const MIN_FEEDBACK_CHECK = 30;
/** Two-sided level of that check. */
export const FEEDBACK_CHECK_LEVEL = 0.01;

export interface PerformanceEstimationOptions extends DetectorOptions {
  /** Calibration of the scores on the reference feedback (default isotonic, as NannyML). */
  calibration?: CalibrationMethod;
  /** Drop below the reference's realised value that counts as drift (default 0.05). */
  margin?: number;
  /** Level of the stated interval (default 0.95). */
  confidenceLevel?: number;
  /** Parametric-bootstrap resamples for the macro-F1 interval (default 200). */
  resamples?: number;
  /** Seed of those resamples. */
  seed?: number;
}

export interface Settings {
  minSamples: number;
  alpha: number;
  calibration: CalibrationMethod;
  margin: number;
  confidenceLevel: number;
  resamples: number;
  seed: number;
}

export function settingsOf(options: PerformanceEstimationOptions): Settings {
  const { minSamples, alpha } = resolveOptions(options);
  const margin = options.margin ?? DEFAULT_PERFORMANCE_MARGIN;
  const confidenceLevel = options.confidenceLevel ?? DEFAULT_CONFIDENCE_LEVEL;
  const resamples = options.resamples ?? DEFAULT_CBPE_RESAMPLES;
  if (!(margin >= 0 && margin < 1)) throw new RangeError(`margin must lie in [0, 1) (got ${margin})`);
  if (!(confidenceLevel > 0 && confidenceLevel < 1)) {
    throw new RangeError(`confidenceLevel must lie in (0, 1) (got ${confidenceLevel})`);
  }
  if (!Number.isInteger(resamples) || resamples < 20) {
    throw new RangeError(`resamples must be an integer of at least 20 (got ${resamples})`);
  }
  return {
    minSamples,
    alpha,
    calibration: options.calibration ?? 'isotonic',
    margin,
    confidenceLevel,
    resamples,
    seed: options.seed ?? DEFAULT_CBPE_SEED,
  };
}

/** z with P(|Z| > z) = 1 − level, by bisection on the normal tail (no table, any level). */
export function normalQuantile(level: number): number {
  const tail = (1 - level) / 2;
  let lo = 0;
  let hi = 40;
  for (let i = 0; i < 200 && hi - lo > 1e-12; i++) {
    const mid = (lo + hi) / 2;
    if (special.normalSf(mid) > tail) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

export const clamp01 = (value: number) => Math.min(1, Math.max(0, value));
export const finiteScore = (value: number | null | undefined): value is number =>
  typeof value === 'number' && Number.isFinite(value);

/** One-sided p-value that the current value lies below the reference's: P(Z < difference / sd). */
function lowerTail(difference: number, sd: number): number {
  if (!(sd > 0)) return difference < 0 ? 0 : 1;
  return special.normalSf(-difference / sd);
}

/** The common body of a result: the verdict rule, the interval and the validity report. */
export function estimateResult(
  metric: string,
  settings: Settings,
  fields: {
    estimate: number;
    low: number;
    high: number;
    sd: number;
    reference: number;
    referenceSd: number;
    sample: number;
    referenceSize: number;
    validity: Validity;
    details: Record<string, unknown>;
  },
): DetectorResult {
  const effect = fields.estimate - fields.reference;
  const pValue = lowerTail(effect, Math.sqrt(fields.sd ** 2 + fields.referenceSd ** 2));
  return {
    metric,
    detector: CBPE_DETECTOR,
    statistic: fields.estimate,
    p_value: pValue,
    effect_size: effect,
    sample_size: fields.sample,
    reference_size: fields.referenceSize,
    verdict: effect <= -settings.margin && pValue < settings.alpha ? 'drift' : 'ok',
    details: {
      alpha: settings.alpha,
      margin: settings.margin,
      rule: 'drift when estimate <= reference - margin and the one-sided p-value < alpha',
      statistic: `${metric === ESTIMATED_ACCURACY_METRIC ? 'accuracy' : 'macro-F1'} expected from calibrated scores (CBPE)`,
      effect: 'estimate minus the realised value on the reference feedback',
      p_value: 'one-sided: the current value is below the reference (normal approximation)',
      calibration: settings.calibration,
      interval: [rounded(fields.low), rounded(fields.high)],
      interval_level: settings.confidenceLevel,
      standard_error: rounded(fields.sd),
      reference_value: rounded(fields.reference),
      ...fields.details,
      validity: fields.validity.state,
      ...(fields.validity.warnings.length > 0 ? { warnings: fields.validity.warnings } : {}),
      assumption:
        'P(right | score) is the same as on the reference: true under covariate shift, false under concept drift or label shift',
    },
  };
}

export interface Validity {
  state: 'valid' | 'contradicted-by-feedback';
  warnings: string[];
}

/** The result when either window lacks the events the estimate needs; a reference short of feedback leaves nothing to calibrate on. */
export function noCalibration(
  metric: string,
  settings: Settings,
  sizes: { sample: number; reference: number },
  what: string,
  extra: Record<string, unknown>,
): DetectorResult {
  const result = insufficientData(metric, CBPE_DETECTOR, sizes, settings.minSamples, what, extra);
  if (sizes.reference < settings.minSamples) {
    result.details = {
      ...result.details,
      validity: 'no-calibration-data',
      reason: `no calibration data: ${String(result.details.reason)} (CBPE calibrates the scores on reference events whose feedback arrived)`,
    };
  }
  return result;
}
