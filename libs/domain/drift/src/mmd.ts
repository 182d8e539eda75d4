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
  // Squared distances row by row, one coordinate at a time over a column-major copy: a long
  // contiguous inner loop instead of a short reduction per pair. Each pair still adds its squared
  // differences in coordinate order from 0, so the sums round exactly as a per-pair loop does.
  const columns = new Float64Array(total * dimension);
  for (let r = 0; r < total; r++) {
    for (let c = 0; c < dimension; c++) columns[c * total + r] = pooled[r * dimension + c];
  }
  for (let i = 0; i < total - 1; i++) {
    const base = rowStart[i];
    // Four coordinates per sweep of the row, added in order, so the row is loaded and stored a
    // quarter as often.
    let c = 0;
    for (; c + 4 <= dimension; c += 4) {
      const o0 = c * total;
      const o1 = o0 + total;
      const o2 = o1 + total;
      const o3 = o2 + total;
      const v0 = columns[o0 + i];
      const v1 = columns[o1 + i];
      const v2 = columns[o2 + i];
      const v3 = columns[o3 + i];
      for (let j = i + 1; j < total; j++) {
        const d0 = v0 - columns[o0 + j];
        const d1 = v1 - columns[o1 + j];
        const d2 = v2 - columns[o2 + j];
        const d3 = v3 - columns[o3 + j];
        let sum = c === 0 ? d0 * d0 : kernel[base + j] + d0 * d0;
        sum += d1 * d1;
        sum += d2 * d2;
        sum += d3 * d3;
        kernel[base + j] = sum;
      }
    }
    for (; c < dimension; c++) {
      const offset = c * total;
      const value = columns[offset + i];
      for (let j = i + 1; j < total; j++) {
        const difference = value - columns[offset + j];
        kernel[base + j] = c === 0 ? difference * difference : kernel[base + j] + difference * difference;
      }
    }
  }
  // The median is selected by radix on the bits of the squared distances, which leaves them in
  // place: no second N²/2 copy and no second pass over the rows to compute them again.
  const bandwidth = options.bandwidth ?? medianOfSquareRoots(kernel);
  if (!(bandwidth >= 0) || !Number.isFinite(bandwidth))
    throw new RangeError('bandwidth must be finite and ≥ 0');
  // All rows identical: every kernel value is 1 and MMD² is 0 whatever σ is.
  const scale = bandwidth > 0 ? -1 / (2 * bandwidth * bandwidth) : 0;
  const rowSums = new Float64Array(total);
  let grandTotal = 0;
  for (let i = 0; i < total; i++) {
    const base = rowStart[i];
    let rowSum = rowSums[i];
    for (let j = i + 1; j < total; j++) {
      const value = Math.exp(kernel[base + j] * scale);
      kernel[base + j] = value;
      rowSum += value;
      rowSums[j] += value;
      grandTotal += value;
    }
    rowSums[i] = rowSum;
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

  const firstSmall = n <= m ? 0 : n;
  let observedWithin = 0;
  let observedRowTotal = 0;
  for (let p = 0; p < smallSize; p++) {
    const base = rowStart[firstSmall + p] + firstSmall;
    let sum = 0;
    for (let q = p + 1; q < smallSize; q++) sum += kernel[base + q];
    observedWithin += sum;
    observedRowTotal += rowSums[firstSmall + p];
  }
  const observed = combine(observedWithin, observedRowTotal);
  const { within, rowTotals } = permutedSums(kernel, rowStart, rowSums, smallSize, permutations, seed);
  let atLeastAsLarge = 0;
  for (let b = 0; b < permutations; b++) if (combine(within[b], rowTotals[b]) >= observed) atLeastAsLarge++;

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

/**
 * For each of `permutations` random subsets S of `size` rows (drawn in order from the seeded
 * generator): the within-subset kernel sum Σ_{i<j ∈ S} K_ij and the row-sum total Σ_{i ∈ S} rowSums_i.
 *
 * The method of the Four Russians: columns are cut into chunks of C bits and each subset is
 * stored as one C-bit mask per chunk. For every row i the sums of K_i over all 2^C subsets of
 * each chunk to its right are tabulated once (2^C additions per chunk), after which a
 * permutation containing i adds one table entry per chunk instead of C/2 kernel values. The
 * kernel is read once, row by row, whatever the number of permutations, instead of once per
 * block of permutations. Cost Σ_i (N - i)/C · (2^C + permutations·size/N); C minimises it.
 */
function permutedSums(
  kernel: Float64Array,
  rowStart: Int32Array,
  rowSums: Float64Array,
  size: number,
  permutations: number,
  seed: number,
): { within: Float64Array; rowTotals: Float64Array } {
  const total = rowSums.length;
  const within = new Float64Array(permutations);
  const rowTotals = new Float64Array(permutations);
  if (permutations === 0) return { within, rowTotals };
  const perRow = (permutations * size) / total;
  let bits = 1;
  for (let c = 2; c <= 8; c++) if ((perRow + 2 ** c) / c < (perRow + 2 ** bits) / bits) bits = c;
  const chunks = Math.ceil(total / bits);
  const masks = new Uint8Array(permutations * chunks);
  const random = seededRandom(seed);
  const indices = new Uint32Array(total);
  for (let b = 0; b < permutations; b++) {
    const offset = b * chunks;
    for (let i = 0; i < total; i++) indices[i] = i;
    for (let p = 0; p < size; p++) {
      const pick = p + random.integer(total - p);
      const row = indices[pick];
      indices[pick] = indices[p];
      indices[p] = row;
      masks[offset + Math.floor(row / bits)] |= 1 << row % bits;
    }
  }

  const width = 1 << bits;
  const table = new Float64Array(chunks * width);
  for (let i = 0; i < total; i++) {
    const base = rowStart[i];
    const first = Math.floor((i + 1) / bits);
    for (let c = first; c < chunks; c++) {
      const entry = c * width;
      const column = c * bits;
      table[entry] = 0;
      for (let bit = 0, half = 1; bit < bits; bit++, half *= 2) {
        const j = column + bit;
        const value = j > i && j < total ? kernel[base + j] : 0;
        for (let mask = 0; mask < half; mask++) table[entry + half + mask] = table[entry + mask] + value;
      }
    }
    const own = Math.floor(i / bits);
    const flag = 1 << i % bits;
    const rowSum = rowSums[i];
    for (let b = 0; b < permutations; b++) {
      const offset = b * chunks;
      if ((masks[offset + own] & flag) === 0) continue;
      let sum = 0;
      for (let c = first; c < chunks; c++) sum += table[c * width + masks[offset + c]];
      within[b] += sum;
      rowTotals[b] += rowSum;
    }
  }
  return { within, rowTotals };
}

/** Median of √values (NumPy's convention: the mean of the two middle values for an even count). */
function medianOfSquareRoots(values: Float64Array): number {
  const length = values.length;
  const upper = Math.floor(length / 2);
  if (length % 2 === 1) return Math.sqrt(selectNonNegative(values, upper, upper)[0]);
  const [lower, higher] = selectNonNegative(values, upper - 1, upper);
  return (Math.sqrt(lower) + Math.sqrt(higher)) / 2;
}

/**
 * The k1-th and k2-th smallest (from 0, k1 ≤ k2) of non-negative doubles, without reordering them:
 * the bit patterns of non-negative IEEE doubles sort as unsigned integers, so one histogram pass
 * on the high word's top half and one on its bottom half (for the one or two top values holding
 * the ranks) narrow the search to one or two high words, whose few low words are then sorted.
 */
function selectNonNegative(values: Float64Array, k1: number, k2: number): [number, number] {
  const words = new Uint32Array(values.buffer, values.byteOffset, values.length * 2);
  const top = new Float64Array(65_536);
  for (let i = 1; i < words.length; i += 2) top[words[i] >>> 16]++;
  const locate = (histogram: Float64Array, rank: number): [number, number] => {
    let bucket = 0;
    while (rank >= histogram[bucket]) rank -= histogram[bucket++];
    return [bucket, rank];
  };
  const [top1, rank1] = locate(top, k1);
  const [top2, rank2] = locate(top, k2);
  const bottom1 = new Float64Array(65_536);
  const bottom2 = top2 === top1 ? bottom1 : new Float64Array(65_536);
  for (let i = 1; i < words.length; i += 2) {
    const high = words[i];
    const bucket = high >>> 16;
    if (bucket === top1) bottom1[high & 0xffff]++;
    else if (bucket === top2) bottom2[high & 0xffff]++;
  }
  const [low1, final1] = locate(bottom1, rank1);
  const [low2, final2] = locate(bottom2, rank2);
  const high1 = ((top1 << 16) | low1) >>> 0;
  const high2 = ((top2 << 16) | low2) >>> 0;
  const lows1 = new Uint32Array(bottom1[low1]);
  const lows2 = high2 === high1 ? lows1 : new Uint32Array(bottom2[low2]);
  let count1 = 0;
  let count2 = 0;
  for (let i = 1; i < words.length; i += 2) {
    const high = words[i];
    if (high === high1) lows1[count1++] = words[i - 1];
    else if (high === high2) lows2[count2++] = words[i - 1];
  }
  lows1.sort();
  if (lows2 !== lows1) lows2.sort();
  const result = new Uint32Array([lows1[final1], high1, lows2[final2], high2]);
  const doubles = new Float64Array(result.buffer);
  return [doubles[0], doubles[1]];
}
