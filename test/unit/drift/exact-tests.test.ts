import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { binomialTest, fisherExact, type Alternative } from '@tripline/drift';
import { Comparison, reference } from './reference';

/** Exact tests: SciPy sums exact probabilities, so p-values are held to 1e-9 relative. */
const EXACT = 1e-9;

interface FisherCase {
  table: number[][];
  alternative: Alternative;
  statistic: number;
  pvalue: number;
}

interface BinomialCase {
  k: number;
  n: number;
  p: number;
  alternative: Alternative;
  statistic: number;
  pvalue: number;
  cohen_h: number;
}

describe('fisherExact', () => {
  it('matches scipy.stats.fisher_exact odds ratio and p-value for all three alternatives', () => {
    const check = new Comparison();
    for (const c of reference.fisher_exact as FisherCase[]) {
      const result = fisherExact(c.table, c.alternative);
      const label = `${JSON.stringify(c.table)} ${c.alternative}`;
      check.close(result.statistic, c.statistic, EXACT, `${label}: odds ratio`);
      check.close(result.pValue, c.pvalue, EXACT, `${label}: p-value`);
    }
    check.assert();
  });

  it('counts tables exactly as likely as the observed one on both sides (symmetric margins)', () => {
    // P(a=3) = P(a=1) = 16/70 and P(a=4) = P(a=0) = 1/70, so p = 34/70 exactly.
    assert.ok(
      Math.abs(
        fisherExact([
          [3, 1],
          [1, 3],
        ]).pValue -
          34 / 70,
      ) < 1e-15,
    );
  });

  it('rejects tables that are not 2×2 non-negative integers', () => {
    assert.throws(
      () =>
        fisherExact([
          [1, 2, 3],
          [4, 5, 6],
        ]),
      RangeError,
    );
    assert.throws(
      () =>
        fisherExact([
          [1, 2.5],
          [3, 4],
        ]),
      RangeError,
    );
    assert.throws(
      () =>
        fisherExact([
          [1, -2],
          [3, 4],
        ]),
      RangeError,
    );
  });
});

describe('binomialTest', () => {
  it('matches scipy.stats.binomtest p-values for all three alternatives, n from 1 to 10^6', () => {
    const check = new Comparison();
    for (const c of reference.binomtest as BinomialCase[]) {
      const result = binomialTest(c.k, c.n, c.p, c.alternative);
      const label = `k=${c.k} n=${c.n} p=${c.p} ${c.alternative}`;
      check.close(result.statistic, c.statistic, EXACT, `${label}: proportion`);
      check.close(result.pValue, c.pvalue, EXACT, `${label}: p-value`);
      check.close(result.effectSize, c.cohen_h, EXACT, `${label}: Cohen's h`);
    }
    check.assert();
  });

  it('rejects k outside [0, n] and p outside [0, 1]', () => {
    assert.throws(() => binomialTest(11, 10), RangeError);
    assert.throws(() => binomialTest(3, 10, 1.5), RangeError);
  });
});
