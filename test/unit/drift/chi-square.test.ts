import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chiSquareContingency, chiSquareTest } from '@tripline/drift';
import { Comparison, reference } from './reference';

/** SciPy's statistics are closed forms and its chdtrc is accurate to ~1e-14: hold both to 1e-9. */
const EXACT = 1e-9;

interface GoodnessOfFitCase {
  observed: number[];
  expected: number[] | null;
  ddof: number;
  statistic: number;
  pvalue: number;
  cohen_w: number;
}

interface ContingencyCase {
  table: number[][];
  correction: boolean;
  statistic: number;
  pvalue: number;
  dof: number;
  expected: number[][];
  cramer_v: number;
}

describe('chiSquareTest', () => {
  it('matches scipy.stats.chisquare statistic and p-value, default and given expectations, with ddof', () => {
    const check = new Comparison();
    for (const [i, c] of (reference.chisquare as GoodnessOfFitCase[]).entries()) {
      const result = chiSquareTest(c.observed, c.expected ?? undefined, c.ddof);
      check.close(result.statistic, c.statistic, EXACT, `case ${i}: statistic`);
      check.close(result.pValue, c.pvalue, EXACT, `case ${i}: p-value`);
      check.close(result.effectSize, c.cohen_w, EXACT, `case ${i}: Cohen's w`);
    }
    check.assert();
  });

  it('rescales expectations whose total is off by rounding, so scale does not move the statistic', () => {
    const observed = [180, 320, 500];
    const exact = chiSquareTest(observed, [200, 300, 500]);
    const rounded = chiSquareTest(observed, [200 * (1 + 1e-9), 300 * (1 + 1e-9), 500 * (1 + 1e-9)]);
    assert.ok(Math.abs(rounded.statistic - exact.statistic) <= 1e-12 * exact.statistic);
    assert.ok(Math.abs(rounded.expected[0] - 200) <= 1e-12 * 200);
  });

  it('refuses expectations whose total differs by more than SciPy tolerates (√eps)', () => {
    assert.throws(() => chiSquareTest([10, 20], [10, 21]), /sum of expected/);
    assert.throws(() => chiSquareTest([10], undefined), RangeError);
    assert.throws(() => chiSquareTest([10, -1]), RangeError);
  });
});

describe('chiSquareContingency', () => {
  it("matches scipy.stats.chi2_contingency, Yates' correction for 2×2 included, and Cramér's V", () => {
    const check = new Comparison();
    for (const [i, c] of (reference.chi2_contingency as ContingencyCase[]).entries()) {
      const result = chiSquareContingency(c.table, { correction: c.correction });
      check.close(result.statistic, c.statistic, EXACT, `table ${i}: statistic`);
      check.close(result.pValue, c.pvalue, EXACT, `table ${i}: p-value`);
      check.equal(result.degreesOfFreedom, c.dof, `table ${i}: dof`);
      check.close(result.effectSize, c.cramer_v, EXACT, `table ${i}: Cramér's V`);
      result.expected
        .flat()
        .forEach((e, j) => check.close(e, c.expected.flat()[j], EXACT, `table ${i}: E[${j}]`));
    }
    check.assert();
  });

  it('applies the continuity correction only to tables with one degree of freedom', () => {
    assert.equal(
      chiSquareContingency([
        [10, 20],
        [30, 40],
      ]).corrected,
      true,
    );
    assert.equal(
      chiSquareContingency(
        [
          [10, 20],
          [30, 40],
        ],
        { correction: false },
      ).corrected,
      false,
    );
    assert.equal(
      chiSquareContingency([
        [10, 20, 5],
        [30, 40, 9],
      ]).corrected,
      false,
    );
  });

  it('refuses a table with an empty row or column (a zero expected count)', () => {
    assert.throws(
      () =>
        chiSquareContingency([
          [0, 0],
          [3, 4],
        ]),
      /expected frequency/,
    );
  });
});
