import type { Sample } from './types';

/**
 * Probability calibration: a map from a model's score to the probability that the outcome is
 * positive (the prediction is right, or the class is the true one), fitted on labelled scores.
 *
 * Both methods produce the same shape: groups of reference observations (an isotonic block or a
 * histogram bin) over increasing score ranges, each with its count and its positives. A score is
 * mapped by linear interpolation between the groups' boundary scores (constant inside a group,
 * linear across the gap between two groups, clipped outside the fitted range), as scikit-learn's
 * `IsotonicRegression` does. Every calibrated value is therefore a weighted sum of at most two
 * group means, which is what lets a caller propagate the groups' sampling error (`calibrationWeights`).
 */
export type CalibrationMethod = 'isotonic' | 'histogram';

export interface CalibrationGroup {
  /** Smallest and largest reference score in the group. */
  low: number;
  high: number;
  /** Reference observations in the group, and how many of them were positive. */
  count: number;
  positives: number;
  /** positives / count: the calibrated probability on the group's range. */
  value: number;
}

export interface Calibration {
  method: CalibrationMethod;
  /** In increasing score order; isotonic groups also have non-decreasing values. */
  groups: CalibrationGroup[];
  /** Labelled observations the map was fitted on. */
  n: number;
}

export interface HistogramOptions {
  /** Equal-mass bins (default 10; fewer when there are fewer than `minPerBin` scores per bin). */
  bins?: number;
  /** Observations each bin needs at least (default 20). */
  minPerBin?: number;
}

function checkInputs(scores: Sample, outcomes: ArrayLike<number | boolean>): void {
  if (scores.length !== outcomes.length) {
    throw new RangeError(
      `scores and outcomes must have the same length (got ${scores.length} and ${outcomes.length})`,
    );
  }
  if (scores.length === 0) throw new RangeError('calibration needs at least one labelled score');
  for (let i = 0; i < scores.length; i++) {
    if (!Number.isFinite(scores[i])) throw new RangeError(`score ${i} is not a finite number (${scores[i]})`);
  }
}

/** Indices sorted by score, ties by index (a stable, deterministic order). */
function order(scores: Sample): Uint32Array {
  const index = new Uint32Array(scores.length);
  for (let i = 0; i < index.length; i++) index[i] = i;
  return index.sort((a, b) => scores[a] - scores[b] || a - b);
}

const positive = (outcome: number | boolean) => (outcome === true || outcome === 1 ? 1 : 0);

/**
 * Isotonic (monotone non-decreasing) calibration by the pool-adjacent-violators algorithm: the
 * least-squares non-decreasing fit of the outcomes on the scores. Equal scores are pooled first,
 * so ties never straddle a block. O(n log n) for the sort, O(n) for the pooling.
 */
export function isotonicCalibration(scores: Sample, outcomes: ArrayLike<number | boolean>): Calibration {
  checkInputs(scores, outcomes);
  const sorted = order(scores);
  const groups: CalibrationGroup[] = [];
  let i = 0;
  while (i < sorted.length) {
    const score = scores[sorted[i]];
    let count = 0;
    let positives = 0;
    while (i < sorted.length && scores[sorted[i]] === score) {
      positives += positive(outcomes[sorted[i]]);
      count++;
      i++;
    }
    let group: CalibrationGroup = { low: score, high: score, count, positives, value: positives / count };
    // Pool backwards while the previous block's mean exceeds this one's.
    while (groups.length > 0 && groups[groups.length - 1].value > group.value) {
      const previous = groups.pop()!;
      const pooledCount = previous.count + group.count;
      const pooledPositives = previous.positives + group.positives;
      group = {
        low: previous.low,
        high: group.high,
        count: pooledCount,
        positives: pooledPositives,
        value: pooledPositives / pooledCount,
      };
    }
    groups.push(group);
  }
  return { method: 'isotonic', groups, n: scores.length };
}

/**
 * Histogram binning: equal-mass bins of the sorted scores (equal scores kept in one bin), each
 * calibrated to its share of positives. Not forced to be monotone; fewer, larger groups than
 * isotonic blocks, so a steadier map on small references.
 */
export function histogramCalibration(
  scores: Sample,
  outcomes: ArrayLike<number | boolean>,
  options: HistogramOptions = {},
): Calibration {
  checkInputs(scores, outcomes);
  const requested = options.bins ?? 10;
  const minPerBin = options.minPerBin ?? 20;
  if (!Number.isInteger(requested) || requested < 1) {
    throw new RangeError(`bins must be a positive integer (got ${requested})`);
  }
  if (!Number.isInteger(minPerBin) || minPerBin < 1) {
    throw new RangeError(`minPerBin must be a positive integer (got ${minPerBin})`);
  }
  const n = scores.length;
  const bins = Math.max(1, Math.min(requested, Math.floor(n / minPerBin)));
  const sorted = order(scores);
  const groups: CalibrationGroup[] = [];
  let start = 0;
  for (let b = 1; b <= bins && start < n; b++) {
    let end = b === bins ? n : Math.round((b * n) / bins);
    if (end <= start) continue;
    // Keep equal scores together: extend the bin over the run of its last score.
    while (end < n && scores[sorted[end]] === scores[sorted[end - 1]]) end++;
    let positives = 0;
    for (let k = start; k < end; k++) positives += positive(outcomes[sorted[k]]);
    const count = end - start;
    groups.push({
      low: scores[sorted[start]],
      high: scores[sorted[end - 1]],
      count,
      positives,
      value: positives / count,
    });
    start = end;
  }
  return { method: 'histogram', groups, n };
}

export function fitCalibration(
  method: CalibrationMethod,
  scores: Sample,
  outcomes: ArrayLike<number | boolean>,
): Calibration {
  return method === 'isotonic'
    ? isotonicCalibration(scores, outcomes)
    : histogramCalibration(scores, outcomes);
}

/**
 * The groups a score's calibrated value is made of and their weights (summing to 1): one group
 * inside a group's range or beyond the ends, two across the gap between neighbouring groups.
 */
export function calibrationWeights(
  calibration: Calibration,
  score: number,
): [group: number, weight: number, group2: number, weight2: number] {
  const groups = calibration.groups;
  const last = groups.length - 1;
  if (score <= groups[0].high) return [0, 1, 0, 0];
  if (score >= groups[last].low) return [last, 1, last, 0];
  // Binary search for the first group whose high is >= score.
  let lo = 0;
  let hi = last;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (groups[mid].high < score) lo = mid + 1;
    else hi = mid;
  }
  const group = groups[lo];
  if (score >= group.low) return [lo, 1, lo, 0];
  const previous = groups[lo - 1];
  const span = group.low - previous.high;
  const weight = span > 0 ? (score - previous.high) / span : 1;
  return [lo - 1, 1 - weight, lo, weight];
}

/** The calibrated probability of a score. */
export function calibrate(calibration: Calibration, score: number): number {
  const [a, wa, b, wb] = calibrationWeights(calibration, score);
  return wa * calibration.groups[a].value + wb * calibration.groups[b].value;
}

/**
 * Sampling variance of a group's mean, for error propagation: p(1 − p) / count with p taken as
 * (positives + 1) / (count + 2) (Laplace), so a small block whose observations all agree still
 * counts as uncertain rather than exact.
 */
export function groupVariance(group: CalibrationGroup): number {
  const p = (group.positives + 1) / (group.count + 2);
  return (p * (1 - p)) / group.count;
}
