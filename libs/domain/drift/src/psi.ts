import { asFloat64, pairwiseSum, selectRanks, toFloat64 } from './numeric';
import type { Sample, TestResult } from './types';

export interface PsiOptions {
  /** Number of quantile bins cut from the reference when `edges` is not given (default 10). */
  bins?: number;
  /**
   * Interior cut points from an earlier run (a stored baseline's `edges`), strictly increasing.
   * When given, the reference is only counted, not re-cut, so the bins stay comparable over time.
   */
  edges?: ArrayLike<number>;
  /**
   * Proportion substituted for a bin that is empty in one sample (default 1e-4), separately for
   * reference and current, so that ln(current / reference) stays finite. Non-empty bins are never
   * altered and the proportions are not renormalised afterwards.
   */
  epsilon?: number;
}

export interface PsiResult extends TestResult {
  /** PSI = Σ (c_i - r_i) ln(c_i / r_i) over bins; ≥ 0. Rules of thumb: < 0.1 stable, > 0.25 shifted. */
  statistic: number;
  effectSize: number;
  n: [number, number];
  /**
   * Interior cut points e_1 < ... < e_(k-1). Bin 0 is (-∞, e_1], bin i is (e_i, e_(i+1)], the last
   * is (e_(k-1), ∞): a value equal to an edge falls in the lower bin. Finite, so a baseline can
   * store them as JSON.
   */
  edges: number[];
  referenceProportions: number[];
  currentProportions: number[];
  /** Each bin's term of the sum, to show which part of the distribution moved. */
  contributions: number[];
}

/**
 * Population stability index of `current` against `reference`.
 *
 * Without `options.edges`, the edges are the reference's quantiles at 1/bins, ..., (bins-1)/bins
 * with NumPy's default linear interpolation (`np.quantile`), reduced to distinct values: a
 * reference with heavy ties yields fewer, wider bins rather than empty duplicates.
 */
export function psi(reference: Sample, current: Sample, options: PsiOptions = {}): PsiResult {
  const epsilon = options.epsilon ?? 1e-4;
  if (!(epsilon > 0 && epsilon < 1)) throw new RangeError('epsilon must lie in (0, 1)');
  // Read only: a Float64Array is validated and used as it is, anything else copied once.
  const ref = asFloat64(reference, 'reference');
  const cur = asFloat64(current, 'current');

  let edges: Float64Array;
  if (options.edges !== undefined) {
    edges = toFloat64Edges(options.edges);
  } else {
    const bins = options.bins ?? 10;
    if (!Number.isInteger(bins) || bins < 2) throw new RangeError('bins must be an integer ≥ 2');
    edges = quantileEdges(ref, bins);
  }

  const binCount = edges.length + 1;
  const referenceCounts = countBins(ref, edges);
  const currentCounts = countBins(cur, edges);
  const referenceProportions = new Float64Array(binCount);
  const currentProportions = new Float64Array(binCount);
  const contributions = new Float64Array(binCount);
  for (let i = 0; i < binCount; i++) {
    const r = referenceCounts[i] === 0 ? epsilon : referenceCounts[i] / ref.length;
    const c = currentCounts[i] === 0 ? epsilon : currentCounts[i] / cur.length;
    referenceProportions[i] = r;
    currentProportions[i] = c;
    contributions[i] = (c - r) * Math.log(c / r);
  }
  const statistic = pairwiseSum(contributions);
  return {
    statistic,
    effectSize: statistic,
    n: [ref.length, cur.length],
    edges: Array.from(edges),
    referenceProportions: Array.from(referenceProportions),
    currentProportions: Array.from(currentProportions),
    contributions: Array.from(contributions),
  };
}

function toFloat64Edges(edges: ArrayLike<number>): Float64Array {
  if (edges.length === 0) return new Float64Array(0);
  const copy = toFloat64(edges, 'edges');
  for (let i = 1; i < copy.length; i++) {
    if (!(copy[i] > copy[i - 1])) throw new RangeError('edges must be strictly increasing');
  }
  return copy;
}

/**
 * Distinct quantiles at k/bins, interpolated exactly as NumPy's 'linear' method rounds them. Only
 * the order statistics the interpolation reads are selected, as `np.quantile` partitions rather
 * than sorts; `values` is left as it is.
 */
function quantileEdges(values: Float64Array, bins: number): Float64Array {
  const n = values.length;
  const virtualIndices = Array.from({ length: bins - 1 }, (_, i) => (n - 1) * ((i + 1) / bins));
  const wanted = new Set<number>();
  for (const index of virtualIndices) {
    const previous = Math.min(Math.floor(index), n - 1);
    wanted.add(previous);
    if (previous + 1 < n) wanted.add(previous + 1);
  }
  const ranks = [...wanted].sort((a, b) => a - b);
  const selected = orderStatistics(values, ranks);
  const at = (rank: number) => selected[ranks.indexOf(rank)];
  const edges: number[] = [];
  for (const virtualIndex of virtualIndices) {
    let value: number;
    if (virtualIndex >= n - 1) {
      value = at(n - 1);
    } else {
      const previous = Math.floor(virtualIndex);
      const gamma = virtualIndex - previous;
      const a = at(previous);
      const b = at(previous + 1);
      const difference = b - a;
      // np.lerp interpolates from the nearer end, so t ≥ 0.5 is measured back from b.
      value = gamma >= 0.5 ? b - difference * (1 - gamma) : a + difference * gamma;
    }
    if (edges.length === 0 || value > edges[edges.length - 1]) edges.push(value);
  }
  return Float64Array.from(edges);
}

/**
 * From this many values on, order statistics and bin counts go through a histogram of the top 16
 * bits of each double (sign, exponent and 4 bits of mantissa): two sequential passes whose
 * branches are predictable, where a selection or a scan over the edges mispredicts on every value.
 * Below it, clearing and walking the 65 536 buckets would cost more than it saves.
 */
const BUCKETED_MIN = 16_384;
const BUCKETS = 65_536;

/**
 * Bucket of a double from its high word: the bits flipped so that unsigned order is numeric order
 * (all bits of a negative value, the sign bit of a non-negative one), top 16 kept. -0 and +0 land
 * in adjacent buckets 0x7fff and 0x8000.
 */
function bucketOf(high: number): number {
  return (high ^ ((high >> 31) | 0x80000000)) >>> 16;
}

function highWords(values: Float64Array): Uint32Array {
  return new Uint32Array(values.buffer, values.byteOffset, values.length * 2);
}

/** The values at the given ascending ranks (0-based), without reordering `values`. */
function orderStatistics(values: Float64Array, ranks: number[]): Float64Array {
  const n = values.length;
  const result = new Float64Array(ranks.length);
  if (n < BUCKETED_MIN) {
    const copy = values.slice();
    selectRanks(copy, ranks);
    ranks.forEach((rank, i) => (result[i] = copy[rank]));
    return result;
  }
  const words = highWords(values);
  const histogram = new Int32Array(BUCKETS);
  for (let i = 1; i < words.length; i += 2) histogram[bucketOf(words[i])]++;
  // The bucket of each rank, then only the values of those buckets are selected among.
  const rankBuckets = new Int32Array(ranks.length);
  const wanted = new Uint8Array(BUCKETS);
  let bucket = 0;
  let before = 0;
  ranks.forEach((rank, i) => {
    while (before + histogram[bucket] <= rank) before += histogram[bucket++];
    rankBuckets[i] = bucket;
    wanted[bucket] = 1;
  });
  let candidateCount = 0;
  for (let b = 0; b < BUCKETS; b++) if (wanted[b]) candidateCount += histogram[b];
  const candidates = new Float64Array(candidateCount);
  let next = 0;
  for (let i = 0; i < n; i++) if (wanted[bucketOf(words[2 * i + 1])]) candidates[next++] = values[i];
  // A rank among the candidates is the overall rank less the values of skipped buckets below it.
  const adjusted: number[] = [];
  let skipped = 0;
  bucket = 0;
  ranks.forEach((rank, i) => {
    for (; bucket < rankBuckets[i]; bucket++) if (!wanted[bucket]) skipped += histogram[bucket];
    adjusted.push(rank - skipped);
  });
  selectRanks(candidates, adjusted);
  adjusted.forEach((rank, i) => (result[i] = candidates[rank]));
  return result;
}

/**
 * Counts per bin with no allocation per value. Many values: the bin of each value's bucket, from a
 * table, with the edges compared only for the few buckets an edge falls in. Fewer values: a linear
 * scan over a few edges (faster than a binary search's unpredictable branches up to a dozen or
 * so), a binary search over more.
 */
function countBins(values: Float64Array, edges: Float64Array): Float64Array {
  const k = edges.length;
  const counts = new Float64Array(k + 1);
  const binarySearch = (value: number): number => {
    let lo = 0;
    let hi = k;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (edges[mid] < value) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  if (values.length >= BUCKETED_MIN && k > 0 && k < 32_768) {
    // table[b] = the bin of every value in bucket b, or -1 where an edge lies in b (both zero
    // buckets when an edge is zero, as -0 and +0 compare equal).
    const edgeBuckets = highWords(edges);
    const straddled = new Uint8Array(BUCKETS);
    for (let e = 0; e < k; e++) {
      straddled[bucketOf(edgeBuckets[2 * e + 1])] = 1;
      if (edges[e] === 0) straddled[0x7fff] = straddled[0x8000] = 1;
    }
    const table = new Int16Array(BUCKETS);
    let e = 0;
    for (let b = 0; b < BUCKETS; b++) {
      while (e < k && bucketOf(edgeBuckets[2 * e + 1]) < b) e++;
      table[b] = straddled[b] ? -1 : e;
    }
    const words = highWords(values);
    for (let i = 0; i < values.length; i++) {
      const bin = table[bucketOf(words[2 * i + 1])];
      counts[bin >= 0 ? bin : binarySearch(values[i])]++;
    }
    return counts;
  }
  if (k <= 16) {
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      let bin = 0;
      while (bin < k && edges[bin] < value) bin++;
      counts[bin]++;
    }
    return counts;
  }
  for (let i = 0; i < values.length; i++) counts[binarySearch(values[i])]++;
  return counts;
}
