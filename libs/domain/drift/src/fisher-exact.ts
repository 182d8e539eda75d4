import { binarySearch } from './numeric';
import { hypergeometricCdf, hypergeometricPmf, hypergeometricSf } from './special';
import type { Alternative, TestResult } from './types';

export interface FisherExactResult extends TestResult {
  /** The sample odds ratio (a·d)/(b·c), as SciPy reports: not the conditional MLE R's fisher.test gives. */
  statistic: number;
  pValue: number;
  /** The sample odds ratio again: Infinity when b·c = 0 < a·d, NaN for an empty row or column. */
  effectSize: number;
  n: [number];
  alternative: Alternative;
}

/** SciPy's relative tolerance for "as likely as the observed table" in the two-sided p-value. */
const RELATIVE_TOLERANCE = 1e-14;

/**
 * Fisher's exact test on a 2×2 table [[a, b], [c, d]], like `scipy.stats.fisher_exact`. The
 * two-sided p-value sums the probabilities of all tables with the observed margins that are no more
 * likely than the observed one (within a relative 1e-14); 'less' and 'greater' are the one-sided
 * hypergeometric tails.
 */
export function fisherExact(
  table: ReadonlyArray<ArrayLike<number>>,
  alternative: Alternative = 'two-sided',
): FisherExactResult {
  if (table.length !== 2 || table[0].length !== 2 || table[1].length !== 2) {
    throw new RangeError('table must be 2×2');
  }
  const [a, b, c, d] = [table[0][0], table[0][1], table[1][0], table[1][1]];
  for (const value of [a, b, c, d]) {
    if (!Number.isSafeInteger(value) || value < 0)
      throw new RangeError('table entries must be non-negative integers');
  }
  const total = a + b + c + d;
  const result = (statistic: number, pValue: number): FisherExactResult => ({
    statistic,
    pValue,
    effectSize: statistic,
    n: [total],
    alternative,
  });
  if (a + b === 0 || c + d === 0 || a + c === 0 || b + d === 0) return result(NaN, 1);
  const oddsRatio = c > 0 && b > 0 ? (a * d) / (c * b) : Infinity;

  const n1 = a + b;
  const n2 = c + d;
  const n = a + c;
  const pmf = (x: number) => hypergeometricPmf(x, n1, n2, n);
  let pValue: number;
  if (alternative === 'less') {
    pValue = hypergeometricCdf(a, n1, n2, n);
  } else if (alternative === 'greater') {
    pValue = hypergeometricCdf(b, n1, n2, b + d);
  } else if (alternative === 'two-sided') {
    const mode = Math.trunc(((n + 1) * (n1 + 1)) / (n1 + n2 + 2));
    const pExact = pmf(a);
    const relation = new PmfRelation(n1, n2, n, a, pExact);
    if (relation.sameAsObserved(mode)) return result(oddsRatio, 1);
    if (a < mode) {
      const lower = hypergeometricCdf(a, n1, n2, n);
      if (relation.compare(n) > 0) return result(oddsRatio, lower);
      const guess = binarySearch((x) => -relation.compare(x), mode, n);
      pValue = lower + hypergeometricSf(guess, n1, n2, n);
    } else {
      const upper = hypergeometricSf(a - 1, n1, n2, n);
      if (relation.compare(0) > 0) return result(oddsRatio, upper);
      const guess = binarySearch((x) => relation.compare(x), 0, mode);
      pValue = upper + hypergeometricCdf(guess, n1, n2, n);
    }
  } else {
    throw new RangeError(`unknown alternative: ${String(alternative)}`);
  }
  return result(oddsRatio, Math.min(pValue, 1));
}

/**
 * Compares table probabilities with the observed one's. Symmetric margins make some tables exactly
 * as likely as the observed one; SciPy's 1e-14 tolerance is meant to catch those, and any two
 * floating-point evaluations may land either side of it. Within 1e-10 of the threshold this
 * decides with exact integer arithmetic: P(x)/P(x0) is a ratio of products of small integers.
 */
class PmfRelation {
  private readonly threshold: number;

  constructor(
    private readonly n1: number,
    private readonly n2: number,
    private readonly n: number,
    private readonly observed: number,
    private readonly pObserved: number,
  ) {
    this.threshold = pObserved * (1 + RELATIVE_TOLERANCE);
  }

  /** Sign of P(x) - P(observed)·(1 + 1e-14). */
  compare(x: number): number {
    const p = hypergeometricPmf(x, this.n1, this.n2, this.n);
    // An observed probability that underflowed is compared in floating point, as SciPy's would be.
    if (!(this.threshold > 0)) return Math.sign(p - this.threshold);
    const relative = (p - this.threshold) / this.threshold;
    if (Math.abs(relative) > 1e-10) return Math.sign(relative);
    const [numerator, denominator] = this.exactRatio(x);
    const scale = 10n ** 14n;
    const left = numerator * scale;
    const right = denominator * (scale + 1n);
    return left > right ? 1 : left < right ? -1 : 0;
  }

  /** |P(x) - P(observed)| ≤ 1e-14 · max of the two. */
  sameAsObserved(x: number): boolean {
    const p = hypergeometricPmf(x, this.n1, this.n2, this.n);
    const larger = Math.max(p, this.pObserved);
    if (!(larger > 0)) return false;
    const relative = Math.abs(this.pObserved - p) / larger;
    if (relative > 1e-10) return false;
    const [numerator, denominator] = this.exactRatio(x);
    const difference = numerator > denominator ? numerator - denominator : denominator - numerator;
    const max = numerator > denominator ? numerator : denominator;
    return difference * 10n ** 14n <= max;
  }

  /** P(x) / P(observed) as an exact fraction, from the ratio of neighbouring hypergeometric terms. */
  private exactRatio(x: number): [bigint, bigint] {
    const { n1, n2, n } = this;
    let numerator = 1n;
    let denominator = 1n;
    // P(t+1)/P(t) = (n1 - t)(n - t) / ((t + 1)(n2 - n + t + 1))
    for (let t = Math.min(x, this.observed); t < Math.max(x, this.observed); t++) {
      numerator *= BigInt((n1 - t) * (n - t));
      denominator *= BigInt((t + 1) * (n2 - n + t + 1));
    }
    return x >= this.observed ? [numerator, denominator] : [denominator, numerator];
  }
}
