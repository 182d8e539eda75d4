import { toFloat64 } from './numeric';

function probabilities(pValues: ArrayLike<number>): Float64Array {
  const ps = pValues.length === 0 ? new Float64Array(0) : toFloat64(pValues, 'pValues');
  for (let i = 0; i < ps.length; i++) {
    if (!(ps[i] >= 0 && ps[i] <= 1)) throw new RangeError(`pValues[${i}] must lie in [0, 1]`);
  }
  return ps;
}

/**
 * Benjamini–Hochberg adjusted p-values (false discovery rate), in input order, like
 * `scipy.stats.false_discovery_control(ps, method='bh')` and statsmodels' 'fdr_bh': p_(i)·m/i made
 * monotone from the largest down. Reject where the adjusted value is ≤ the target FDR.
 */
export function benjaminiHochberg(pValues: ArrayLike<number>): number[] {
  const ps = probabilities(pValues);
  const m = ps.length;
  if (m <= 1) return Array.from(ps);
  const order = new Uint32Array(m);
  for (let i = 0; i < m; i++) order[i] = i;
  order.sort((a, b) => ps[a] - ps[b]);
  const adjusted = new Array<number>(m);
  let running = Infinity;
  for (let rank = m; rank >= 1; rank--) {
    const index = order[rank - 1];
    running = Math.min(running, ps[index] * (m / rank));
    adjusted[index] = running;
  }
  return adjusted;
}

/** Bonferroni adjusted p-values min(1, p·m), in input order (statsmodels' 'bonferroni'). */
export function bonferroni(pValues: ArrayLike<number>): number[] {
  const ps = probabilities(pValues);
  const m = ps.length;
  return Array.from(ps, (p) => Math.min(1, p * m));
}
