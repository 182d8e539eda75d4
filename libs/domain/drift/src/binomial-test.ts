import { binarySearch } from './numeric';
import { binomialCdf, binomialPmf, binomialSf } from './special';
import type { Alternative, TestResult } from './types';

export interface BinomialTestResult extends TestResult {
  /** The observed proportion k / n. */
  statistic: number;
  pValue: number;
  /** Cohen's h = 2 asin √(k/n) - 2 asin √p: the difference of proportions on a variance-stable scale. */
  effectSize: number;
  n: [number];
  alternative: Alternative;
}

/** SciPy's relative slack when collecting outcomes "no more likely than" the observed one. */
const RELATIVE_ERROR = 1 + 1e-7;

/**
 * Exact binomial test of H0: P(success) = p, like `scipy.stats.binomtest(k, n, p, alternative)`.
 * The two-sided p-value adds the opposite tail of outcomes whose probability does not exceed the
 * observed outcome's (× (1 + 1e-7)), found by binary search on the other side of the mode.
 */
export function binomialTest(
  k: number,
  n: number,
  p = 0.5,
  alternative: Alternative = 'two-sided',
): BinomialTestResult {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError('n must be a positive integer');
  if (!Number.isSafeInteger(k) || k < 0 || k > n) throw new RangeError('k must be an integer in [0, n]');
  if (!(p >= 0 && p <= 1)) throw new RangeError('p must lie in [0, 1]');
  let pValue: number;
  if (alternative === 'less') {
    pValue = binomialCdf(k, n, p);
  } else if (alternative === 'greater') {
    pValue = binomialSf(k - 1, n, p);
  } else if (alternative === 'two-sided') {
    const d = binomialPmf(k, n, p);
    const threshold = d * RELATIVE_ERROR;
    if (k === p * n) {
      pValue = 1;
    } else if (k < p * n) {
      const ix = binarySearch((x) => Math.sign(threshold - binomialPmf(x, n, p)), Math.ceil(p * n), n);
      const y = n - ix + (threshold === binomialPmf(ix, n, p) ? 1 : 0);
      pValue = binomialCdf(k, n, p) + binomialSf(n - y, n, p);
    } else {
      const ix = binarySearch((x) => Math.sign(binomialPmf(x, n, p) - threshold), 0, Math.floor(p * n));
      const y = ix + 1;
      pValue = binomialCdf(y - 1, n, p) + binomialSf(k - 1, n, p);
    }
    pValue = Math.min(1, pValue);
  } else {
    throw new RangeError(`unknown alternative: ${String(alternative)}`);
  }
  const proportion = k / n;
  const effectSize = 2 * Math.asin(Math.sqrt(proportion)) - 2 * Math.asin(Math.sqrt(p));
  return { statistic: proportion, pValue, effectSize, n: [n], alternative };
}
