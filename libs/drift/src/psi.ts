import { pairwiseSum, selectRanks, toFloat64 } from './numeric';
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
  const ref = toFloat64(reference, 'reference');
  const cur = toFloat64(current, 'current');

  let edges: Float64Array;
  if (options.edges !== undefined) {
    edges = toFloat64Edges(options.edges);
  } else {
    const bins = options.bins ?? 10;
    if (!Number.isInteger(bins) || bins < 2) throw new RangeError('bins must be an integer ≥ 2');
    edges = quantileEdges(ref.slice(), bins);
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
 * than sorts; `values` is reordered.
 */
function quantileEdges(values: Float64Array, bins: number): Float64Array {
  const n = values.length;
  const virtualIndices = Array.from({ length: bins - 1 }, (_, i) => (n - 1) * ((i + 1) / bins));
  const ranks = new Set<number>();
  for (const index of virtualIndices) {
    const previous = Math.min(Math.floor(index), n - 1);
    ranks.add(previous);
    if (previous + 1 < n) ranks.add(previous + 1);
  }
  selectRanks(values, [...ranks]);
  const edges: number[] = [];
  for (const virtualIndex of virtualIndices) {
    let value: number;
    if (virtualIndex >= n - 1) {
      value = values[n - 1];
    } else {
      const previous = Math.floor(virtualIndex);
      const gamma = virtualIndex - previous;
      const a = values[previous];
      const b = values[previous + 1];
      const difference = b - a;
      // np.lerp interpolates from the nearer end, so t ≥ 0.5 is measured back from b.
      value = gamma >= 0.5 ? b - difference * (1 - gamma) : a + difference * gamma;
    }
    if (edges.length === 0 || value > edges[edges.length - 1]) edges.push(value);
  }
  return Float64Array.from(edges);
}

/**
 * Counts per bin with no allocation per value: a linear scan over a few edges (faster than a
 * binary search's unpredictable branches up to a dozen or so), a binary search over more.
 */
function countBins(values: Float64Array, edges: Float64Array): Float64Array {
  const k = edges.length;
  const counts = new Float64Array(k + 1);
  if (k <= 16) {
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      let bin = 0;
      while (bin < k && edges[bin] < value) bin++;
      counts[bin]++;
    }
    return counts;
  }
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    let lo = 0;
    let hi = k;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (edges[mid] < value) lo = mid + 1;
      else hi = mid;
    }
    counts[lo]++;
  }
  return counts;
}
