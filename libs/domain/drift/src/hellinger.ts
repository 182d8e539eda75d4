import { nonNegativeVector, normalise } from './numeric';
import type { Sample, TestResult } from './types';

export interface HellingerResult extends TestResult {
  /** H(p, q) on [0, 1]: 0 for identical distributions, 1 for disjoint supports. */
  statistic: number;
  effectSize: number;
  /** Number of bins (categories) compared. */
  n: [number];
}

/**
 * Hellinger distance between two histograms or probability vectors, both normalised to sum to 1:
 * H = ‖√p - √q‖₂ / √2. Summed as squared differences of roots rather than as 1 - Σ√(p q), which
 * would cancel catastrophically for nearly equal distributions.
 */
export function hellinger(p: Sample, q: Sample): HellingerResult {
  if (p.length !== q.length) throw new RangeError('p and q must have the same length');
  const pn = normalise(nonNegativeVector(p, 'p'), 'p');
  const qn = normalise(nonNegativeVector(q, 'q'), 'q');
  let sum = 0;
  for (let i = 0; i < pn.length; i++) {
    const difference = Math.sqrt(pn[i]) - Math.sqrt(qn[i]);
    sum += difference * difference;
  }
  const distance = Math.sqrt(sum) / Math.SQRT2;
  return { statistic: distance, effectSize: distance, n: [pn.length] };
}
