import { kernelExp } from './kernel-exp';
import { seededRandom } from './random';
import { bracketSampleSize, selectByBracket } from './rank-bracket';
import { normalSf } from './special';
import type { Rows, TestResult } from './types';

/** Seed of the values drawn to bracket the median: only the speed of the selection depends on it. */
const BRACKET_SEED = 0xb4ac;

export interface LinearMmdOptions {
  /**
   * RBF bandwidth σ in k(a, b) = exp(-‖a-b‖² / 2σ²). Default: the median of the distances the
   * estimator itself evaluates (4 per pair of pairs), which keeps the whole test linear in n.
   */
  bandwidth?: number;
}

export interface LinearMmdResult extends TestResult {
  /** The mean of h over ⌊min(n, m)/2⌋ disjoint pairs of pairs: an unbiased estimate of MMD². */
  statistic: number;
  /** One-sided: P(Z ≥ statistic / standard error) under N(0, 1), the null limit of the mean. */
  pValue: number;
  /** √max(0, statistic), in kernel units on [0, √2]. */
  effectSize: number;
  n: [number, number];
  /** Number of terms h averaged. */
  pairs: number;
  standardError: number;
  bandwidth: number;
}

/**
 * Linear-time kernel two-sample test (Gretton et al., 2012, section 6): with rows taken two at a
 * time, h = k(x₁, x₂) + k(y₁, y₂) − k(x₁, y₂) − k(x₂, y₁), and the mean of the independent h values
 * divided by their standard error is asymptotically standard normal under the null. O((n + m)·d)
 * time and memory, no permutations: the test for samples too large for the quadratic `mmdTest`
 * (which refuses more than 20 000 rows), at the price of power. Rows are used in the order given:
 * pass them in a random order. Rows beyond 2·⌊min(n, m)/2⌋ of the larger sample are not used.
 */
export function linearMmdTest(x: Rows, y: Rows, options: LinearMmdOptions = {}): LinearMmdResult {
  const pairs = Math.floor(Math.min(x.length, y.length) / 2);
  if (pairs < 2) throw new RangeError('each sample needs at least four rows');
  const dimension = x[0].length;
  if (dimension === 0) throw new RangeError('rows must not be empty');
  const used = 2 * pairs;
  for (let r = 0; r < used; r++) {
    if (x[r].length !== dimension)
      throw new RangeError(`x[${r}] has ${x[r].length} columns, not ${dimension}`);
  }
  for (let r = 0; r < used; r++) {
    if (y[r].length !== dimension)
      throw new RangeError(`y[${r}] has ${y[r].length} columns, not ${dimension}`);
  }
  // Squared distances of the four kernel terms of each h: (x₁,x₂), (y₁,y₂), (x₁,y₂), (x₂,y₁),
  // read from the rows where they are (no copy), the four sums side by side in one loop over the
  // coordinates, each added in coordinate order from 0.
  const squared = new Float64Array(4 * pairs);
  for (let t = 0; t < pairs; t++) {
    const x1 = x[2 * t];
    const x2 = x[2 * t + 1];
    const y1 = y[2 * t];
    const y2 = y[2 * t + 1];
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let c = 0; c < dimension; c++) {
      const a1 = x1[c];
      const a2 = x2[c];
      const b1 = y1[c];
      const b2 = y2[c];
      const e0 = a1 - a2;
      const e1 = b1 - b2;
      const e2 = a1 - b2;
      const e3 = a2 - b1;
      s0 += e0 * e0;
      s1 += e1 * e1;
      s2 += e2 * e2;
      s3 += e3 * e3;
    }
    // A value that is not finite makes a sum that is not finite (finite values can too, by
    // overflow): only then are the four rows searched, in the order they are named.
    if (!Number.isFinite(s0 + s1 + s2 + s3)) refuseNonFinite([x1, x2, y1, y2], t, dimension);
    squared[4 * t] = s0;
    squared[4 * t + 1] = s1;
    squared[4 * t + 2] = s2;
    squared[4 * t + 3] = s3;
  }

  const bandwidth = options.bandwidth ?? medianDistance(squared);
  if (!(bandwidth > 0) || !Number.isFinite(bandwidth))
    throw new RangeError('bandwidth must be finite and > 0 (are all rows identical?)');
  const scale = -1 / (2 * bandwidth * bandwidth);
  // Welford's running mean and variance of the h values.
  let mean = 0;
  let squares = 0;
  for (let t = 0; t < pairs; t++) {
    const h =
      kernelExp(squared[4 * t] * scale) +
      kernelExp(squared[4 * t + 1] * scale) -
      kernelExp(squared[4 * t + 2] * scale) -
      kernelExp(squared[4 * t + 3] * scale);
    const delta = h - mean;
    mean += delta / (t + 1);
    squares += delta * (h - mean);
  }
  const standardError = Math.sqrt(squares / (pairs - 1) / pairs);
  const pValue = standardError > 0 ? normalSf(mean / standardError) : mean > 0 ? 0 : 1;
  return {
    statistic: mean,
    pValue,
    effectSize: Math.sqrt(Math.max(0, mean)),
    n: [x.length, y.length],
    pairs,
    standardError,
    bandwidth,
  };
}

/**
 * Median of √squared (NumPy's: the mean of the two middle values for an even count), exactly, by a
 * bracket from a seeded sample of the values (see rank-bracket.ts); `squared` is left as it is.
 */
function medianDistance(squared: Float64Array): number {
  const count = squared.length;
  const middle = count >> 1;
  const ranks = count % 2 ? [middle] : [middle - 1, middle];
  const sample = new Float64Array(bracketSampleSize(count));
  const random = seededRandom(BRACKET_SEED);
  for (let s = 0; s < sample.length; s++) sample[s] = squared[random.integer(count)];
  sample.sort();
  const selected = selectByBracket(count, ranks, sample, (counter) => counter.add(squared, 0, count));
  return selected.length === 1
    ? Math.sqrt(selected[0])
    : (Math.sqrt(selected[0]) + Math.sqrt(selected[1])) / 2;
}

/** Throws naming the first value that is not finite among the rows x₁ x₂ y₁ y₂ of term t, if any. */
function refuseNonFinite(rows: ArrayLike<number>[], t: number, dimension: number): void {
  for (let slot = 0; slot < 4; slot++) {
    for (let c = 0; c < dimension; c++) {
      if (Number.isFinite(rows[slot][c])) continue;
      throw new RangeError(`${slot < 2 ? 'x' : 'y'}[${2 * t + (slot & 1)}][${c}] is not a finite number`);
    }
  }
}
