import { kernelExp } from './kernel-exp';
import { PermutedSums } from './mmd-permutations';
import { forEachDistanceRow } from './squared-distances';
import { seededRandom } from './random';
import { bracketSampleSize, selectByBracket } from './rank-bracket';
import type { Rows, TestResult } from './types';

export interface MmdOptions {
  /** Seed of the permutation sampler; the same inputs and seed always give the same p-value. */
  seed?: number;
  /** Number of random relabellings for the p-value (default 500). */
  permutations?: number;
  /** RBF bandwidth σ in k(a, b) = exp(-‖a-b‖² / 2σ²); default: the median pairwise distance. */
  bandwidth?: number;
  /**
   * Refuse more pooled rows than this (default 20 000, at most 65 536): the kernel is O(N²·d) to
   * compute (N = rows of x plus y) and every permutation costs O(N²/log N) more; subsample first.
   * Memory is O(N·(d + permutations)): the kernel is never stored.
   */
  maxRows?: number;
}

export interface MmdResult extends TestResult {
  /** Unbiased estimate of MMD² (can be slightly negative when the distributions agree). */
  statistic: number;
  /** Permutation p-value (1 + #{permuted ≥ observed}) / (1 + permutations); never 0. */
  pValue: number;
  /** MMD = √max(0, MMD²), in kernel units on [0, √2]. */
  effectSize: number;
  n: [number, number];
  bandwidth: number;
  permutations: number;
  seed: number;
}

export const DEFAULT_MMD_SEED = 0x5eed;

/** A hard cap on the pooled rows, whatever maxRows says: the quadratic cost is prohibitive beyond it. */
const MAX_ROWS = 65_536;
/** Seed of the pairs drawn for the bracket: only the speed of the selection depends on them. */
const BRACKET_SEED = 0xb4ac;

/**
 * Kernel two-sample test (Gretton et al., 2012) on multivariate rows: unbiased MMD² with a Gaussian
 * RBF kernel whose bandwidth is the median pairwise distance of the pooled sample, and a p-value
 * from random relabellings of the pooled rows drawn from a seeded generator.
 *
 * Quadratic in the number of rows: building the kernel is O(N²·d) and each permutation is
 * O(min(n, m)²), using the fact that the within-group sum of the smaller group, with the row sums
 * and the grand total, determines the other two sums. The kernel is never stored: it is computed
 * one row at a time, and each row is added to the observed sums and every permutation's sums
 * while it is in the cache (N² doubles would be 72 MB at 3,000 rows and 800 MB at 10,000). The
 * median needs every distance before the first kernel value, so the distances are computed twice.
 */
export function mmdTest(x: Rows, y: Rows, options: MmdOptions = {}): MmdResult {
  const n = x.length;
  const m = y.length;
  if (n < 2 || m < 2) throw new RangeError('each sample needs at least two rows');
  const dimension = x[0].length;
  if (dimension === 0) throw new RangeError('rows must not be empty');
  const permutations = options.permutations ?? 500;
  if (!Number.isInteger(permutations) || permutations < 0) throw new RangeError('permutations must be ≥ 0');
  const seed = options.seed ?? DEFAULT_MMD_SEED;
  const total = n + m;
  const maxRows = options.maxRows ?? 20_000;
  if (total > Math.min(maxRows, MAX_ROWS)) {
    throw new RangeError(`${total} rows exceed maxRows (${Math.min(maxRows, MAX_ROWS)}); subsample first`);
  }
  const pooled = new Float64Array(total * dimension);
  copyRows(x, pooled, 0, dimension, 'x');
  copyRows(y, pooled, n, dimension, 'y');

  const bandwidth = options.bandwidth ?? medianDistance(pooled, dimension);
  if (!(bandwidth >= 0) || !Number.isFinite(bandwidth))
    throw new RangeError('bandwidth must be finite and ≥ 0');
  // All rows identical: every kernel value is 1 and MMD² is 0 whatever σ is.
  const scale = bandwidth > 0 ? -1 / (2 * bandwidth * bandwidth) : 0;
  // The smaller group's within-group sum is the only O(size²) piece of each statistic.
  const smallSize = Math.min(n, m);
  const largeSize = total - smallSize;
  const permuted = new PermutedSums(total, smallSize, permutations, seed);
  const sums = kernelSums(pooled, dimension, scale, n <= m ? 0 : n, smallSize, permuted);
  const combine = (within: number, rowTotal: number): number => {
    const cross = rowTotal - 2 * within;
    const otherWithin = sums.grandTotal - within - cross;
    return (
      (2 * within) / (smallSize * (smallSize - 1)) +
      (2 * otherWithin) / (largeSize * (largeSize - 1)) -
      (2 * cross) / (smallSize * largeSize)
    );
  };
  const observed = combine(sums.observedWithin, sums.observedRowTotal);
  let atLeastAsLarge = 0;
  for (let b = 0; b < permutations; b++) {
    if (combine(permuted.within[b], permuted.rowTotals[b]) >= observed) atLeastAsLarge++;
  }

  return {
    statistic: observed,
    pValue: (1 + atLeastAsLarge) / (1 + permutations),
    effectSize: Math.sqrt(Math.max(0, observed)),
    n: [n, m],
    bandwidth,
    permutations,
    seed,
  };
}

function copyRows(rows: Rows, pooled: Float64Array, offset: number, dimension: number, name: string): void {
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    if (row.length !== dimension)
      throw new RangeError(`${name}[${r}] has ${row.length} columns, not ${dimension}`);
    for (let c = 0; c < dimension; c++) {
      const value = row[c];
      if (!Number.isFinite(value)) throw new RangeError(`${name}[${r}][${c}] is not a finite number`);
      pooled[(offset + r) * dimension + c] = value;
    }
  }
}

interface KernelSums {
  /** Σ_{i<j} K_ij over the pooled rows. */
  grandTotal: number;
  /** Σ_{i<j} K_ij within the smaller sample. */
  observedWithin: number;
  /** Σ_i Σ_{j≠i} K_ij over the rows i of the smaller sample. */
  observedRowTotal: number;
}

/**
 * One pass over the kernel, row by row: each row of exp(scale·‖a-b‖²) right of the diagonal is
 * added to the row sums, the grand total, the smaller sample's sums and every permutation's sums,
 * each sum in the order of the plain loop over i < j. Row i's sum is complete when row i comes
 * (rows before it added their column i), as the permutations need.
 */
function kernelSums(
  pooled: Float64Array,
  dimension: number,
  scale: number,
  firstSmall: number,
  smallSize: number,
  permuted: PermutedSums,
): KernelSums {
  const total = pooled.length / dimension;
  const endSmall = firstSmall + smallSize;
  const rowSums = new Float64Array(total);
  let grandTotal = 0;
  let observedWithin = 0;
  let observedRowTotal = 0;
  forEachDistanceRow(pooled, dimension, (i, row) => {
    let rowSum = rowSums[i];
    let grand = grandTotal;
    for (let j = i + 1; j < total; j++) {
      const value = kernelExp(row[j] * scale);
      row[j] = value;
      rowSum += value;
      rowSums[j] += value;
      grand += value;
    }
    grandTotal = grand;
    rowSums[i] = rowSum;
    if (i >= firstSmall && i < endSmall) {
      let sum = 0;
      for (let j = i + 1; j < endSmall; j++) sum += row[j];
      observedWithin += sum;
      observedRowTotal += rowSum;
    }
    permuted.addRow(i, row, rowSum);
  });
  return { grandTotal, observedWithin, observedRowTotal };
}

/**
 * The median pairwise distance (NumPy's convention: the mean of the two middle values for an even
 * count), exactly, without storing the N²/2 distances: the quantiles of a sample of pairs bracket
 * the median's squared distance, one pass counts the distances below the bracket and keeps those
 * inside it (a few per cent), and the wanted ranks are selected among those. Should the bracket
 * miss (the sample is far off), a wider one is tried; the last one is unbounded.
 */
function medianDistance(pooled: Float64Array, dimension: number): number {
  const total = pooled.length / dimension;
  const count = (total * (total - 1)) / 2;
  const upper = Math.floor(count / 2);
  const ranks = count % 2 ? [upper] : [upper - 1, upper];
  const sample = sampleDistances(pooled, dimension, bracketSampleSize(count));
  const selected = selectByBracket(count, ranks, sample, (counter) =>
    forEachDistanceRow(pooled, dimension, (i, row) => counter.add(row, i + 1, row.length)),
  );
  return selected.length === 1
    ? Math.sqrt(selected[0])
    : (Math.sqrt(selected[0]) + Math.sqrt(selected[1])) / 2;
}

/** Squared distances of `size` pairs of distinct rows drawn uniformly (with replacement), sorted. */
function sampleDistances(pooled: Float64Array, dimension: number, size: number): Float64Array {
  const total = pooled.length / dimension;
  const random = seededRandom(BRACKET_SEED);
  const sample = new Float64Array(size);
  for (let s = 0; s < size; s++) {
    let a = 0;
    let b = 0;
    while (a === b) {
      a = random.integer(total) * dimension;
      b = random.integer(total) * dimension;
    }
    let sum = 0;
    for (let c = 0; c < dimension; c++) {
      const difference = pooled[a + c] - pooled[b + c];
      sum += difference * difference;
    }
    sample[s] = sum;
  }
  return sample.sort();
}
