import { nonNegativeVector, normalise, pairwiseSum } from './numeric';
import { devianceTerm } from './special';
import type { Sample, TestResult } from './types';

export interface JensenShannonResult extends TestResult {
  /** √JSD, a metric on [0, √ln 2] in nats, or [0, 1] with base 2. */
  statistic: number;
  effectSize: number;
  /** Number of bins (categories) compared. */
  n: [number];
}

/**
 * Jensen–Shannon distance between two histograms or probability vectors, like
 * `scipy.spatial.distance.jensenshannon(p, q, base)`: both are normalised to sum to 1, then
 * √((KL(p‖m) + KL(q‖m)) / 2) with m = (p + q) / 2. Natural log unless `base` is given.
 *
 * Each KL term is summed as p ln(p/m) - p + m, which adds zero in total but makes every term
 * non-negative. SciPy sums p ln(p/m) directly, whose first-order parts cancel; for nearly equal
 * inputs the rounding of the normalised vectors then dominates its result (a relative error of
 * 1e-7 at a distance of 1e-5), while this stays within a few ulps of the exact value.
 */
export function jensenShannon(p: Sample, q: Sample, base?: number): JensenShannonResult {
  if (p.length !== q.length) throw new RangeError('p and q must have the same length');
  const pn = normalise(nonNegativeVector(p, 'p'), 'p');
  const qn = normalise(nonNegativeVector(q, 'q'), 'q');
  const k = pn.length;
  const terms = new Float64Array(k);
  for (let i = 0; i < k; i++) {
    const m = (pn[i] + qn[i]) / 2;
    terms[i] = divergenceTerm(pn[i], m) + divergenceTerm(qn[i], m);
  }
  let divergence = pairwiseSum(terms);
  if (base !== undefined) {
    if (!(base > 0 && base !== 1)) throw new RangeError('base must be positive and not 1');
    divergence /= Math.log(base);
  }
  const distance = Math.sqrt(divergence / 2);
  return { statistic: distance, effectSize: distance, n: [k] };
}

/** x ln(x/m) - x + m with 0 ln 0 = 0; m > 0 whenever x > 0 since m = (x + other) / 2. */
function divergenceTerm(x: number, m: number): number {
  return x > 0 ? devianceTerm(x, m) : m;
}
