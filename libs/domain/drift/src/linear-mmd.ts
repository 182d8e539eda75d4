import { selectRanks } from './numeric';
import { normalSf } from './special';
import type { Rows, TestResult } from './types';

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
  // Rows into one flat array, x₁ x₂ y₁ y₂ per term, so the kernel loop reads contiguous memory.
  const flat = new Float64Array(used * 2 * dimension);
  const copy = (rows: Rows, name: string, slot: number) => {
    for (let r = 0; r < used; r++) {
      const row = rows[r];
      if (row.length !== dimension)
        throw new RangeError(`${name}[${r}] has ${row.length} columns, not ${dimension}`);
      const target = ((r >> 1) * 4 + slot + (r & 1)) * dimension;
      if (row instanceof Float64Array) flat.set(row, target);
      else for (let c = 0; c < dimension; c++) flat[target + c] = row[c];
    }
  };
  copy(x, 'x', 0);
  copy(y, 'y', 2);
  for (let i = 0; i < flat.length; i++) {
    if (!Number.isFinite(flat[i])) {
      const term = Math.floor(i / (4 * dimension));
      const slot = Math.floor(i / dimension) % 4;
      const row = 2 * term + (slot & 1);
      const name = slot < 2 ? 'x' : 'y';
      throw new RangeError(`${name}[${row}][${i % dimension}] is not a finite number`);
    }
  }

  // Squared distances of the four kernel terms of each h: (x₁,x₂), (y₁,y₂), (x₁,y₂), (x₂,y₁).
  const squared = new Float64Array(4 * pairs);
  const distance = (a: number, b: number): number => {
    let sum = 0;
    for (let c = 0; c < dimension; c++) {
      const difference = flat[a + c] - flat[b + c];
      sum += difference * difference;
    }
    return sum;
  };
  for (let t = 0; t < pairs; t++) {
    const x1 = t * 4 * dimension;
    const x2 = x1 + dimension;
    const y1 = x2 + dimension;
    const y2 = y1 + dimension;
    squared[4 * t] = distance(x1, x2);
    squared[4 * t + 1] = distance(y1, y2);
    squared[4 * t + 2] = distance(x1, y2);
    squared[4 * t + 3] = distance(x2, y1);
  }

  const bandwidth = options.bandwidth ?? medianDistance(squared.slice());
  if (!(bandwidth > 0) || !Number.isFinite(bandwidth))
    throw new RangeError('bandwidth must be finite and > 0 (are all rows identical?)');
  const scale = -1 / (2 * bandwidth * bandwidth);
  // Welford's running mean and variance of the h values.
  let mean = 0;
  let squares = 0;
  for (let t = 0; t < pairs; t++) {
    const h =
      Math.exp(squared[4 * t] * scale) +
      Math.exp(squared[4 * t + 1] * scale) -
      Math.exp(squared[4 * t + 2] * scale) -
      Math.exp(squared[4 * t + 3] * scale);
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

/** Median of √squared (NumPy's: the mean of the two middle values for an even count); reorders it. */
function medianDistance(squared: Float64Array): number {
  const middle = squared.length >> 1;
  if (squared.length % 2) {
    selectRanks(squared, [middle]);
    return Math.sqrt(squared[middle]);
  }
  selectRanks(squared, [middle - 1, middle]);
  return (Math.sqrt(squared[middle - 1]) + Math.sqrt(squared[middle])) / 2;
}
