import {
  calibrationWeights,
  fitCalibration,
  groupVariance,
  seededRandom,
  special,
  type Calibration,
  type CalibrationMethod,
} from '@tripline/drift';
import { insufficientData, mean, resolveOptions, rounded, variance } from './result';
import type { DetectorOptions, DetectorResult, WindowEvent } from './types';
import { asWindow, type EventWindow } from './window';

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

interface Settings {
  minSamples: number;
  alpha: number;
  calibration: CalibrationMethod;
  margin: number;
  confidenceLevel: number;
  resamples: number;
  seed: number;
}

function settingsOf(options: PerformanceEstimationOptions): Settings {
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

const clamp01 = (value: number) => Math.min(1, Math.max(0, value));
const finiteScore = (value: number | null | undefined): value is number =>
  typeof value === 'number' && Number.isFinite(value);

/** One-sided p-value that the current value lies below the reference's: P(Z < difference / sd). */
function lowerTail(difference: number, sd: number): number {
  if (!(sd > 0)) return difference < 0 ? 0 : 1;
  return special.normalSf(-difference / sd);
}

/** The common body of a result: the verdict rule, the interval and the validity report. */
function estimateResult(
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

interface Validity {
  state: 'valid' | 'contradicted-by-feedback';
  warnings: string[];
}

function noCalibration(
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

/**
 * Estimated accuracy (CBPE): the scores of the predicted labels are calibrated against whether
 * each reference prediction was right (top-label calibration), and the estimate is the mean
 * calibrated probability over the current window. Needs only `confidence`, so it works for any
 * number of classes.
 *
 * Interval: the realised accuracy of n predictions that are each right with probability p_i
 * varies by Σ p_i(1 − p_i) / n² around the estimate; the calibration adds the sampling error of
 * each calibration group's mean, weighted by the share of the window it carries. The two add (a
 * normal approximation; a group's variance is Laplace-smoothed so a small pure block is not exact).
 */
export function estimatedAccuracy(
  reference: EventWindow | readonly WindowEvent[],
  current: EventWindow | readonly WindowEvent[],
  options: PerformanceEstimationOptions = {},
): DetectorResult {
  const settings = settingsOf(options);
  const metric = ESTIMATED_ACCURACY_METRIC;
  const ref = asWindow(reference);
  const cur = asWindow(current);
  const scores: number[] = [];
  const outcomes: number[] = [];
  for (const event of ref.events) {
    if ((event.correct === true || event.correct === false) && finiteScore(event.confidence)) {
      scores.push(event.confidence);
      outcomes.push(event.correct ? 1 : 0);
    }
  }
  const confidences = cur.confidences();
  const sizes = { sample: confidences.length, reference: scores.length };
  if (sizes.reference < settings.minSamples || sizes.sample < settings.minSamples) {
    return noCalibration(
      metric,
      settings,
      sizes,
      'events with a confidence and, in the reference, feedback',
      {
        current_mean_confidence: confidences.length > 0 ? rounded(mean(confidences)) : null,
      },
    );
  }
  const calibration = fitCalibration(settings.calibration, scores, outcomes);
  const groups = calibration.groups.length;
  const share = new Float64Array(groups);
  let estimate = 0;
  let sampling = 0;
  let outside = 0;
  const first = calibration.groups[0].low;
  const last = calibration.groups[groups - 1].high;
  for (const score of confidences) {
    const [a, wa, b, wb] = calibrationWeights(calibration, score);
    share[a] += wa;
    share[b] += wb;
    const p = wa * calibration.groups[a].value + wb * calibration.groups[b].value;
    estimate += p;
    sampling += p * (1 - p);
    if (score < first || score > last) outside++;
  }
  const n = confidences.length;
  estimate /= n;
  let calibrationVariance = 0;
  for (let g = 0; g < groups; g++)
    calibrationVariance += (share[g] / n) ** 2 * groupVariance(calibration.groups[g]);
  const sd = Math.sqrt(sampling / n ** 2 + calibrationVariance);
  const z = normalQuantile(settings.confidenceLevel);
  const referenceAccuracy = outcomes.reduce((sum, value) => sum + value, 0) / outcomes.length;
  const referenceSd = Math.sqrt((referenceAccuracy * (1 - referenceAccuracy)) / outcomes.length);

  const validity = checkAgainstFeedback(cur, calibration, z);
  if (outside / n > 0.1) {
    validity.validity.warnings.push(
      `${rounded((100 * outside) / n, 3)}% of the window's confidences lie outside the calibrated range ` +
        `[${rounded(first)}, ${rounded(last)}]: their calibration is extrapolated`,
    );
  }
  return estimateResult(metric, settings, {
    estimate,
    low: clamp01(estimate - z * sd),
    high: clamp01(estimate + z * sd),
    sd,
    reference: referenceAccuracy,
    referenceSd,
    sample: n,
    referenceSize: outcomes.length,
    validity: validity.validity,
    details: {
      calibration_groups: groups,
      sampling_standard_error: rounded(Math.sqrt(sampling) / n),
      calibration_standard_error: rounded(Math.sqrt(calibrationVariance)),
      current_mean_confidence: rounded(mean(confidences)),
      ...validity.details,
    },
  });
}

/**
 * The estimate against the feedback that did arrive in the window, when there is enough of it:
 * the realised accuracy of those events against CBPE's expectation for the same events. A
 * disagreement beyond the check's level says the calibration no longer holds (concept drift,
 * label shift, a changed model): the estimate is then marked contradicted.
 */
function checkAgainstFeedback(
  window: EventWindow,
  calibration: Calibration,
  z: number,
): { validity: Validity; details: Record<string, unknown> } {
  let labelled = 0;
  let correct = 0;
  let expected = 0;
  let variance = 0;
  for (const event of window.events) {
    if ((event.correct === true || event.correct === false) && finiteScore(event.confidence)) {
      const [a, wa, b, wb] = calibrationWeights(calibration, event.confidence);
      const p = wa * calibration.groups[a].value + wb * calibration.groups[b].value;
      labelled++;
      if (event.correct) correct++;
      expected += p;
      variance += Math.max(p * (1 - p), 1e-4);
    }
  }
  const validity: Validity = { state: 'valid', warnings: [] };
  if (labelled < MIN_FEEDBACK_CHECK) {
    return {
      validity,
      details: {
        feedback_check: `not run: ${labelled} events of the window have feedback (needs ${MIN_FEEDBACK_CHECK})`,
      },
    };
  }
  const realised = correct / labelled;
  const expectedAccuracy = expected / labelled;
  const pValue = 2 * special.normalSf(Math.abs(correct - expected) / Math.sqrt(variance));
  if (pValue < FEEDBACK_CHECK_LEVEL) {
    validity.state = 'contradicted-by-feedback';
    validity.warnings.push(
      `on the ${labelled} events of the window with feedback the model was right ${rounded(realised, 3)} of the time ` +
        `where CBPE expects ${rounded(expectedAccuracy, 3)} (p ${rounded(pValue, 3)}): the reference calibration ` +
        `does not hold (concept drift, label shift or a changed model); trust the feedback accuracy`,
    );
  }
  return {
    validity,
    details: {
      feedback_events: labelled,
      feedback_accuracy: rounded(realised),
      feedback_expected_accuracy: rounded(expectedAccuracy),
      feedback_check_p_value: rounded(pValue),
      feedback_check_interval_z: rounded(z),
    },
  };
}

/** Macro-F1 from confusion counts per class (true positives, false positives, false negatives). */
function macroF1(tp: Float64Array, fp: Float64Array, fn: Float64Array): number {
  let sum = 0;
  for (let k = 0; k < tp.length; k++) {
    const denominator = 2 * tp[k] + fp[k] + fn[k];
    sum += denominator > 0 ? (2 * tp[k]) / denominator : 0;
  }
  return sum / tp.length;
}

/**
 * Estimated macro-F1 (CBPE): each class's score is calibrated one-vs-rest against whether the
 * class was the true one on the reference feedback, the calibrated class probabilities of each
 * current event are normalised to sum to 1, and the expected true positives, false positives and
 * false negatives per class give the F1 of each class; their mean is the estimate. Needs the
 * model's scores for every class (`output.scores`).
 *
 * Interval: a seeded parametric bootstrap. Each resample perturbs every calibration group's mean
 * by its sampling error, draws each event's true class from its calibrated probabilities, and
 * takes the realised macro-F1; the interval is the central `confidenceLevel` of the resamples.
 */
export function estimatedMacroF1(
  reference: EventWindow | readonly WindowEvent[],
  current: EventWindow | readonly WindowEvent[],
  options: PerformanceEstimationOptions = {},
): DetectorResult {
  const settings = settingsOf(options);
  const metric = ESTIMATED_MACRO_F1_METRIC;
  const ref = asWindow(reference);
  const cur = asWindow(current);
  const hasScores = (event: WindowEvent) =>
    event.scores !== null && event.scores !== undefined && Object.keys(event.scores).length >= 2;
  const labelled = ref.events.filter((event) => event.truth && event.label && hasScores(event));
  const usable = cur.events.filter((event) => event.label && hasScores(event));
  const sizes = { sample: usable.length, reference: labelled.length };
  if (sizes.reference < settings.minSamples || sizes.sample < settings.minSamples) {
    return noCalibration(
      metric,
      settings,
      sizes,
      'events with scores for every class and, in the reference, feedback',
      {},
    );
  }
  const classSet = new Set<string>();
  for (const event of labelled) {
    classSet.add(event.truth!);
    classSet.add(event.label);
    for (const name of Object.keys(event.scores!)) classSet.add(name);
  }
  const classes = [...classSet].sort();
  const index = new Map(classes.map((name, k) => [name, k]));
  const K = classes.length;
  const calibrations = classes.map((name) =>
    fitCalibration(
      settings.calibration,
      labelled.map((event) => event.scores![name] ?? 0),
      labelled.map((event) => (event.truth === name ? 1 : 0)),
    ),
  );

  // Per current event and class: the two calibration groups and weights its probability comes from.
  const n = usable.length;
  const groupA = new Int32Array(n * K);
  const groupB = new Int32Array(n * K);
  const weightB = new Float64Array(n * K);
  const predicted = new Int32Array(n);
  let unknownPredictions = 0;
  usable.forEach((event, i) => {
    predicted[i] = index.get(event.label) ?? -1;
    if (predicted[i] < 0) unknownPredictions++;
    for (let k = 0; k < K; k++) {
      const [a, , b, wb] = calibrationWeights(calibrations[k], event.scores![classes[k]] ?? 0);
      groupA[i * K + k] = a;
      groupB[i * K + k] = b;
      weightB[i * K + k] = wb;
    }
  });
  const probabilities = new Float64Array(n * K);
  const fill = (values: Float64Array[]) => {
    for (let i = 0; i < n; i++) {
      let sum = 0;
      for (let k = 0; k < K; k++) {
        const j = i * K + k;
        const p = (1 - weightB[j]) * values[k][groupA[j]] + weightB[j] * values[k][groupB[j]];
        probabilities[j] = p;
        sum += p;
      }
      for (let k = 0; k < K; k++) probabilities[i * K + k] = sum > 0 ? probabilities[i * K + k] / sum : 1 / K;
    }
  };
  const tp = new Float64Array(K);
  const fp = new Float64Array(K);
  const fn = new Float64Array(K);
  const expectedF1 = () => {
    tp.fill(0);
    fp.fill(0);
    fn.fill(0);
    for (let i = 0; i < n; i++) {
      const c = predicted[i];
      for (let k = 0; k < K; k++) {
        const p = probabilities[i * K + k];
        if (k === c) {
          tp[k] += p;
          fp[k] += 1 - p;
        } else fn[k] += p;
      }
      // A predicted label the reference never had is a false positive of a class outside the average.
    }
    return macroF1(tp, fp, fn);
  };
  const means = calibrations.map((calibration) =>
    Float64Array.from(calibration.groups, (group) => group.value),
  );
  fill(means);
  const estimate = expectedF1();
  const perClassF1 = Object.fromEntries(
    classes.slice(0, 50).map((name, k) => {
      const denominator = 2 * tp[k] + fp[k] + fn[k];
      return [name, denominator > 0 ? rounded((2 * tp[k]) / denominator) : 0];
    }),
  );

  const random = seededRandom(settings.seed);
  const resampled = new Float64Array(settings.resamples);
  const sds = calibrations.map((calibration) =>
    Float64Array.from(calibration.groups, (group) => Math.sqrt(groupVariance(group))),
  );
  for (let r = 0; r < settings.resamples; r++) {
    fill(means.map((values, k) => values.map((value, g) => clamp01(value + sds[k][g] * random.normal()))));
    tp.fill(0);
    fp.fill(0);
    fn.fill(0);
    for (let i = 0; i < n; i++) {
      // The event's true class, drawn from its calibrated probabilities.
      let u = random.next();
      let truth = K - 1;
      for (let k = 0; k < K; k++) {
        u -= probabilities[i * K + k];
        if (u < 0) {
          truth = k;
          break;
        }
      }
      const c = predicted[i];
      if (truth === c) tp[truth]++;
      else {
        if (c >= 0) fp[c]++;
        fn[truth]++;
      }
    }
    resampled[r] = macroF1(tp, fp, fn);
  }
  resampled.sort();
  const tail = (1 - settings.confidenceLevel) / 2;
  const at = (q: number) =>
    resampled[Math.min(resampled.length - 1, Math.max(0, Math.round(q * (resampled.length - 1))))];
  const sd = Math.sqrt(variance(resampled));

  // The reference's realised macro-F1, and its sampling error by a bootstrap of the labelled events.
  const truthOf = Int32Array.from(labelled, (event) => index.get(event.truth!)!);
  const predictedOf = Int32Array.from(labelled, (event) => index.get(event.label)!);
  const realised = (pick: (i: number) => number) => {
    tp.fill(0);
    fp.fill(0);
    fn.fill(0);
    for (let i = 0; i < labelled.length; i++) {
      const j = pick(i);
      if (truthOf[j] === predictedOf[j]) tp[truthOf[j]]++;
      else {
        fp[predictedOf[j]]++;
        fn[truthOf[j]]++;
      }
    }
    return macroF1(tp, fp, fn);
  };
  const referenceF1 = realised((i) => i);
  const referenceResamples = new Float64Array(settings.resamples);
  for (let r = 0; r < settings.resamples; r++)
    referenceResamples[r] = realised(() => random.integer(labelled.length));

  const z = normalQuantile(settings.confidenceLevel);
  const warnings: string[] = [];
  if (unknownPredictions > 0) {
    warnings.push(
      `${unknownPredictions} predictions name a label the reference never had: counted as false positives only`,
    );
  }
  return estimateResult(metric, settings, {
    estimate,
    low: at(tail),
    high: at(1 - tail),
    sd,
    reference: referenceF1,
    referenceSd: Math.sqrt(variance(referenceResamples)),
    sample: n,
    referenceSize: labelled.length,
    validity: { state: 'valid', warnings },
    details: {
      classes: classes.slice(0, 50),
      per_class_f1: perClassF1,
      feedback_check: 'see estimated_accuracy: the same calibration assumption, checked there',
      resamples: settings.resamples,
      seed: settings.seed,
      interval_method: `central ${settings.confidenceLevel} of a parametric bootstrap (z-equivalent ${rounded(z, 4)})`,
    },
  });
}
