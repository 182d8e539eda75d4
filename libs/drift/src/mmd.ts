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
   * Refuse more pooled rows than this (default 20 000, at most 65 536). The kernel matrix is kept,
   * packed, in 4·N² bytes (N = rows of x plus y), and every permutation costs O(min(n, m)²):
   * subsample first.
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

/** Packed kernel offsets are 32-bit integers (faster typed-array indexing); 2^16 rows is 16 GiB of kernel. */
const MAX_ROWS = 65_536;

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
  if (total > Math.min(maxRows, MAX_ROWS)) {
    throw new RangeError(`${total} rows exceed maxRows (${Math.min(maxRows, MAX_ROWS)}); subsample first`);
  }

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
  const rowStart = new Int32Array(total);
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
  const combine = (within: number, rowTotal: number): number => {
    const cross = rowTotal - 2 * within;
    const otherWithin = grandTotal - within - cross;
    return (
      (2 * within) / (smallSize * (smallSize - 1)) +
      (2 * otherWithin) / (largeSize * (largeSize - 1)) -
      (2 * cross) / (smallSize * largeSize)
    );
  };

  // Permutations are scored BLOCK at a time, row by row, so each kernel row is fetched once per
  // block rather than once per permutation (at 10⁴ rows the packed kernel is 400 MB, far beyond
  // any cache). Block b's members are kept in ascending order (its slice of `members`), and
  // `position[b]` counts the members already passed, i.e. the current row's place among them.
  const BLOCK = 16;
  const members = new Uint32Array(BLOCK * smallSize);
  const chosen = new Uint8Array(BLOCK * total);
  const position = new Int32Array(BLOCK);
  const within = new Float64Array(BLOCK);
  const rowTotals = new Float64Array(BLOCK);
  const scoreBlock = (count: number): void => {
    position.fill(0);
    within.fill(0);
    rowTotals.fill(0);
    for (let i = 0; i < total; i++) {
      const base = rowStart[i];
      for (let b = 0; b < count; b++) {
        if (!chosen[b * total + i]) continue;
        const offset = b * smallSize;
        const end = offset + smallSize;
        let sum = 0;
        for (let q = offset + ++position[b]; q < end; q++) sum += kernel[base + members[q]];
        within[b] += sum;
        rowTotals[b] += rowSums[i];
      }
    }
  };

  const firstSmall = n <= m ? 0 : n;
  for (let p = 0; p < smallSize; p++) {
    members[p] = firstSmall + p;
    chosen[firstSmall + p] = 1;
  }
  scoreBlock(1);
  const observed = combine(within[0], rowTotals[0]);

  const random = seededRandom(seed);
  const indices = new Uint32Array(total);
  let atLeastAsLarge = 0;
  for (let start = 0; start < permutations; start += BLOCK) {
    const count = Math.min(BLOCK, permutations - start);
    chosen.fill(0);
    for (let b = 0; b < count; b++) {
      const flags = chosen.subarray(b * total, (b + 1) * total);
      for (let i = 0; i < total; i++) indices[i] = i;
      for (let p = 0; p < smallSize; p++) {
        const pick = p + random.integer(total - p);
        const swap = indices[p];
        indices[p] = indices[pick];
        indices[pick] = swap;
        flags[indices[p]] = 1;
      }
      let next = b * smallSize;
      for (let i = 0; i < total; i++) if (flags[i]) members[next++] = i;
    }
    scoreBlock(count);
    for (let b = 0; b < count; b++) if (combine(within[b], rowTotals[b]) >= observed) atLeastAsLarge++;
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
