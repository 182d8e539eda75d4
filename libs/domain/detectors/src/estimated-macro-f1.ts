import {
  calibrationWeights,
  fitCalibration,
  groupVariance,
  seededRandom,
  type Calibration,
  type CalibrationMethod,
  type Random,
} from '@tripline/drift';
import {
  clamp01,
  ESTIMATED_MACRO_F1_METRIC,
  estimateResult,
  noCalibration,
  normalQuantile,
  settingsOf,
  type PerformanceEstimationOptions,
} from './performance-estimation';
import { rounded, variance } from './result';
import type { DetectorResult, WindowEvent } from './types';
import { asWindow, type EventWindow } from './window';

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
  const { classes, index, calibrations } = classCalibrations(labelled, settings.calibration);
  const events = new CalibratedEvents(usable, classes, index, calibrations);
  const n = events.size;
  const confusion = new Confusion(classes.length);
  const means = calibrations.map((calibration) =>
    Float64Array.from(calibration.groups, (group) => group.value),
  );
  events.fill(means);
  const estimate = expectedMacroF1(events, confusion);
  const { tp, fp, fn } = confusion;
  const perClassF1 = Object.fromEntries(
    classes.slice(0, 50).map((name, k) => {
      const denominator = 2 * tp[k] + fp[k] + fn[k];
      return [name, denominator > 0 ? rounded((2 * tp[k]) / denominator) : 0];
    }),
  );

  // One seeded stream: the bootstrap of the estimate draws first, then that of the reference.
  const random = seededRandom(settings.seed);
  const resampled = bootstrapMacroF1(events, calibrations, means, settings.resamples, random, confusion);
  const tail = (1 - settings.confidenceLevel) / 2;
  const at = (q: number) =>
    resampled[Math.min(resampled.length - 1, Math.max(0, Math.round(q * (resampled.length - 1))))];
  const sd = Math.sqrt(variance(resampled));
  const referenceF1 = referenceMacroF1(labelled, index, settings.resamples, random, confusion);

  const z = normalQuantile(settings.confidenceLevel);
  const warnings: string[] = [];
  if (events.unknownPredictions > 0) {
    warnings.push(
      `${events.unknownPredictions} predictions name a label the reference never had: counted as false positives only`,
    );
  }
  return estimateResult(metric, settings, {
    estimate,
    low: at(tail),
    high: at(1 - tail),
    sd,
    reference: referenceF1.value,
    referenceSd: referenceF1.sd,
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

/** Every class the labelled reference names, sorted, each with its one-vs-rest calibration. */
function classCalibrations(
  labelled: readonly WindowEvent[],
  method: CalibrationMethod,
): { classes: string[]; index: Map<string, number>; calibrations: Calibration[] } {
  const classSet = new Set<string>();
  for (const event of labelled) {
    classSet.add(event.truth!);
    classSet.add(event.label);
    for (const name of Object.keys(event.scores!)) classSet.add(name);
  }
  const classes = [...classSet].sort();
  const index = new Map(classes.map((name, k) => [name, k]));
  const calibrations = classes.map((name) =>
    fitCalibration(
      method,
      labelled.map((event) => event.scores![name] ?? 0),
      labelled.map((event) => (event.truth === name ? 1 : 0)),
    ),
  );
  return { classes, index, calibrations };
}

/**
 * The current events with, per event and class, the two calibration groups and the weight its
 * probability comes from, worked out once; `fill` turns a set of group means into the events'
 * class probabilities, normalised to sum to 1, as often as the bootstrap perturbs the means.
 */
class CalibratedEvents {
  readonly size: number;
  readonly classes: number;
  /** Class index of each event's predicted label; -1 for a label the reference never had. */
  readonly predicted: Int32Array;
  readonly probabilities: Float64Array;
  private readonly groupA: Int32Array;
  private readonly groupB: Int32Array;
  private readonly weightB: Float64Array;
  /** Events whose predicted label the reference never had. */
  unknownPredictions = 0;

  constructor(
    usable: readonly WindowEvent[],
    classes: readonly string[],
    index: ReadonlyMap<string, number>,
    calibrations: readonly Calibration[],
  ) {
    const n = usable.length;
    const K = classes.length;
    this.size = n;
    this.classes = K;
    this.groupA = new Int32Array(n * K);
    this.groupB = new Int32Array(n * K);
    this.weightB = new Float64Array(n * K);
    this.predicted = new Int32Array(n);
    this.probabilities = new Float64Array(n * K);
    usable.forEach((event, i) => {
      this.predicted[i] = index.get(event.label) ?? -1;
      if (this.predicted[i] < 0) this.unknownPredictions++;
      for (let k = 0; k < K; k++) {
        const [a, , b, wb] = calibrationWeights(calibrations[k], event.scores![classes[k]] ?? 0);
        this.groupA[i * K + k] = a;
        this.groupB[i * K + k] = b;
        this.weightB[i * K + k] = wb;
      }
    });
  }

  fill(values: Float64Array[]): void {
    const { size: n, classes: K, groupA, groupB, weightB, probabilities } = this;
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
  }
}

/** Confusion counts per class (true positives, false positives, false negatives), reused across resamples. */
class Confusion {
  readonly tp: Float64Array;
  readonly fp: Float64Array;
  readonly fn: Float64Array;

  constructor(classes: number) {
    this.tp = new Float64Array(classes);
    this.fp = new Float64Array(classes);
    this.fn = new Float64Array(classes);
  }

  clear(): void {
    this.tp.fill(0);
    this.fp.fill(0);
    this.fn.fill(0);
  }

  macroF1(): number {
    return macroF1(this.tp, this.fp, this.fn);
  }
}

/** The macro-F1 of the expected confusion counts under the events' current class probabilities. */
function expectedMacroF1(events: CalibratedEvents, confusion: Confusion): number {
  const { size: n, classes: K, predicted, probabilities } = events;
  const { tp, fp, fn } = confusion;
  confusion.clear();
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
  return confusion.macroF1();
}

/**
 * The parametric bootstrap of the estimate, sorted: each resample perturbs every calibration
 * group's mean by its sampling error, draws each event's true class from its calibrated
 * probabilities and takes the realised macro-F1.
 */
function bootstrapMacroF1(
  events: CalibratedEvents,
  calibrations: readonly Calibration[],
  means: readonly Float64Array[],
  resamples: number,
  random: Random,
  confusion: Confusion,
): Float64Array {
  const { size: n, classes: K, predicted, probabilities } = events;
  const { tp, fp, fn } = confusion;
  const resampled = new Float64Array(resamples);
  const sds = calibrations.map((calibration) =>
    Float64Array.from(calibration.groups, (group) => Math.sqrt(groupVariance(group))),
  );
  for (let r = 0; r < resamples; r++) {
    events.fill(
      means.map((values, k) => values.map((value, g) => clamp01(value + sds[k][g] * random.normal()))),
    );
    confusion.clear();
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
    resampled[r] = confusion.macroF1();
  }
  resampled.sort();
  return resampled;
}

/** The reference's realised macro-F1, and its sampling error by a bootstrap of the labelled events. */
function referenceMacroF1(
  labelled: readonly WindowEvent[],
  index: ReadonlyMap<string, number>,
  resamples: number,
  random: Random,
  confusion: Confusion,
): { value: number; sd: number } {
  const { tp, fp, fn } = confusion;
  const truthOf = Int32Array.from(labelled, (event) => index.get(event.truth!)!);
  const predictedOf = Int32Array.from(labelled, (event) => index.get(event.label)!);
  const realised = (pick: (i: number) => number) => {
    confusion.clear();
    for (let i = 0; i < labelled.length; i++) {
      const j = pick(i);
      if (truthOf[j] === predictedOf[j]) tp[truthOf[j]]++;
      else {
        fp[predictedOf[j]]++;
        fn[truthOf[j]]++;
      }
    }
    return confusion.macroF1();
  };
  const value = realised((i) => i);
  const referenceResamples = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) referenceResamples[r] = realised(() => random.integer(labelled.length));
  return { value, sd: Math.sqrt(variance(referenceResamples)) };
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
