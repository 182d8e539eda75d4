import { selectRanks } from './numeric';
import { seededRandom } from './random';
import type { Rows, TestResult } from './types';

export interface MmdOptions {
  /** Seed of the permutation sampler; the same inputs and seed always give the same p-value. */
  seed?: number;
  /** Number of random relabellings for the p-value (default 500). */
  permutations?: number;
  /** RBF bandwidth σ in k(a, b) = exp(-‖a-b‖² / 2σ²); default: the median pairwise distance. */
  bandwidth?: number;
  /**
   * Refuse more pooled rows than this (default 20 000). The kernel matrix is kept, packed, in
   * 4·N² bytes (N = rows of x plus y), and every permutation costs O(min(n, m)²): subsample first.
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

/**
 * Kernel two-sample test (Gretton et al., 2012) on multivariate rows: unbiased MMD² with a Gaussian
 * RBF kernel whose bandwidth is the median pairwise distance of the pooled sample, and a p-value
 * from random relabellings of the pooled rows drawn from a seeded generator.
 *
 * Quadratic in the number of rows: building the kernel is O(N²·d) and each permutation is
 * O(min(n, m)²), using the fact that the within-group sum of the smaller group, with the row sums
 * and the grand total, determines the other two sums.
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
  if (total > maxRows) throw new RangeError(`${total} rows exceed maxRows (${maxRows}); subsample first`);

  const pooled = new Float64Array(total * dimension);
  const copyRows = (rows: Rows, offset: number, name: string) => {
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
  };
  copyRows(x, 0, 'x');
  copyRows(y, n, 'y');

  // Packed strict upper triangle: entry (i, j), i < j, lives at rowStart[i] + j.
  const rowStart = new Float64Array(total);
  for (let i = 0; i < total; i++) rowStart[i] = (i * (2 * total - i - 1)) / 2 - i - 1;
  const kernel = new Float64Array((total * (total - 1)) / 2);
  const fillSquaredDistances = () => {
    for (let i = 0; i < total; i++) {
      const base = rowStart[i];
      const a = i * dimension;
      for (let j = i + 1; j < total; j++) {
        const b = j * dimension;
        let sum = 0;
        for (let c = 0; c < dimension; c++) {
          const difference = pooled[a + c] - pooled[b + c];
          sum += difference * difference;
        }
        kernel[base + j] = sum;
      }
    }
  };

  fillSquaredDistances();
  let bandwidth = options.bandwidth;
  if (bandwidth === undefined) {
    // Selection reorders the array in place, so the distances are computed again afterwards
    // rather than keeping a second N²/2 copy.
    bandwidth = medianOfSquareRoots(kernel);
    fillSquaredDistances();
  }
  if (!(bandwidth >= 0) || !Number.isFinite(bandwidth))
    throw new RangeError('bandwidth must be finite and ≥ 0');
  // All rows identical: every kernel value is 1 and MMD² is 0 whatever σ is.
  const scale = bandwidth > 0 ? -1 / (2 * bandwidth * bandwidth) : 0;
  for (let i = 0; i < kernel.length; i++) kernel[i] = Math.exp(kernel[i] * scale);

  const rowSums = new Float64Array(total);
  let grandTotal = 0;
  for (let i = 0; i < total; i++) {
    const base = rowStart[i];
    for (let j = i + 1; j < total; j++) {
      const value = kernel[base + j];
      rowSums[i] += value;
      rowSums[j] += value;
      grandTotal += value;
    }
  }

  // The smaller group's within-group sum is the only O(size²) piece of each statistic.
  const smallSize = Math.min(n, m);
  const largeSize = total - smallSize;
  const members = new Uint32Array(smallSize);
  const statistic = (): number => {
    let within = 0;
    let rowTotal = 0;
    for (let p = 0; p < smallSize; p++) {
      const i = members[p];
      rowTotal += rowSums[i];
      const base = rowStart[i];
      let sum = 0;
      for (let q = p + 1; q < smallSize; q++) sum += kernel[base + members[q]];
      within += sum;
    }
    const cross = rowTotal - 2 * within;
    const otherWithin = grandTotal - within - cross;
    return (
      (2 * within) / (smallSize * (smallSize - 1)) +
      (2 * otherWithin) / (largeSize * (largeSize - 1)) -
      (2 * cross) / (smallSize * largeSize)
    );
  };

  const firstSmall = n <= m ? 0 : n;
  for (let p = 0; p < smallSize; p++) members[p] = firstSmall + p;
  const observed = statistic();

  const random = seededRandom(seed);
  const indices = new Uint32Array(total);
  const chosen = new Uint8Array(total);
  let atLeastAsLarge = 0;
  for (let t = 0; t < permutations; t++) {
    for (let i = 0; i < total; i++) indices[i] = i;
    chosen.fill(0);
    for (let p = 0; p < smallSize; p++) {
      const pick = p + random.integer(total - p);
      const swap = indices[p];
      indices[p] = indices[pick];
      indices[pick] = swap;
      chosen[indices[p]] = 1;
    }
    // Ascending member order keeps each row's reads moving forward through memory.
    let next = 0;
    for (let i = 0; i < total; i++) if (chosen[i]) members[next++] = i;
    if (statistic() >= observed) atLeastAsLarge++;
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

/** Median of √values (NumPy's convention: the mean of the two middle values for an even count). */
function medianOfSquareRoots(values: Float64Array): number {
  const length = values.length;
  const upper = Math.floor(length / 2);
  if (length % 2 === 1) {
    selectRanks(values, [upper]);
    return Math.sqrt(values[upper]);
  }
  selectRanks(values, [upper - 1, upper]);
  return (Math.sqrt(values[upper - 1]) + Math.sqrt(values[upper])) / 2;
}
