import { nonNegativeVector, pairwiseSum } from './numeric';
import { chiSquareSf } from './special';
import type { Sample, TestResult } from './types';

export interface ChiSquareResult extends TestResult {
  statistic: number;
  pValue: number;
  /** Cohen's w = √(χ² / N), N the total observed count. */
  effectSize: number;
  n: [number];
  degreesOfFreedom: number;
  /** The expected frequencies the statistic was computed against (after any rescaling). */
  expected: number[];
}

/** Relative tolerance on Σ observed vs Σ expected: SciPy's √(float64 eps). */
const SUM_TOLERANCE = Math.sqrt(2.220446049250313e-16);

/**
 * Pearson's chi-square goodness-of-fit test, like `scipy.stats.chisquare(observed, expected, ddof)`.
 * `expected` defaults to a uniform spread of the observed total. When given, its total must agree
 * with the observed total to SciPy's relative tolerance (√eps ≈ 1.5e-8); within that tolerance it is
 * rescaled to the observed total, so rounding in stored expectations cannot bias the statistic.
 * (SciPy checks the same tolerance but does not rescale; the two differ by at most that tolerance.)
 */
export function chiSquareTest(observed: Sample, expected?: Sample, ddof = 0): ChiSquareResult {
  const f = nonNegativeVector(observed, 'observed');
  const k = f.length;
  if (k < 2) throw new RangeError('observed needs at least two categories');
  const observedTotal = pairwiseSum(f);
  let e: Float64Array;
  if (expected === undefined) {
    e = new Float64Array(k).fill(observedTotal / k);
  } else {
    if (expected.length !== k) throw new RangeError('observed and expected must have the same length');
    e = nonNegativeVector(expected, 'expected');
    const expectedTotal = pairwiseSum(e);
    const relativeDifference =
      Math.abs(observedTotal - expectedTotal) / Math.min(observedTotal, expectedTotal);
    if (relativeDifference > SUM_TOLERANCE) {
      throw new RangeError(
        `sum of expected (${expectedTotal}) must match sum of observed (${observedTotal}) ` +
          `to a relative tolerance of ${SUM_TOLERANCE}`,
      );
    }
    if (expectedTotal !== observedTotal) {
      const scale = observedTotal / expectedTotal;
      for (let i = 0; i < k; i++) e[i] *= scale;
    }
  }
  const statistic = pearsonStatistic(f, e);
  const degreesOfFreedom = k - 1 - ddof;
  if (degreesOfFreedom < 1)
    throw new RangeError(`degrees of freedom must be positive, got ${degreesOfFreedom}`);
  return {
    statistic,
    pValue: chiSquareSf(statistic, degreesOfFreedom),
    effectSize: Math.sqrt(statistic / observedTotal),
    n: [observedTotal],
    degreesOfFreedom,
    expected: Array.from(e),
  };
}

function pearsonStatistic(observed: Float64Array, expected: Float64Array): number {
  const terms = new Float64Array(observed.length);
  for (let i = 0; i < observed.length; i++) {
    const difference = observed[i] - expected[i];
    terms[i] = (difference * difference) / expected[i];
  }
  return pairwiseSum(terms);
}

export interface ContingencyOptions {
  /** Yates' continuity correction, applied (as SciPy does) only when there is one degree of freedom. */
  correction?: boolean;
}

export interface ContingencyResult extends TestResult {
  statistic: number;
  pValue: number;
  /** Cramér's V, from the uncorrected statistic (as `scipy.stats.contingency.association`). */
  effectSize: number;
  n: [number];
  degreesOfFreedom: number;
  expected: number[][];
  /** Whether Yates' correction was applied to `statistic`. */
  corrected: boolean;
}

/**
 * Chi-square test of independence on an r×c table of counts, like
 * `scipy.stats.chi2_contingency(table)`: expected counts from the margins, Yates' correction
 * (|O - E| reduced by at most 0.5) when the table has one degree of freedom, and a statistic of 0
 * with p = 1 when it has none.
 */
export function chiSquareContingency(
  table: ReadonlyArray<ArrayLike<number>>,
  options: ContingencyOptions = {},
): ContingencyResult {
  const rows = table.length;
  if (rows === 0) throw new RangeError('table has no rows');
  const columns = table[0].length;
  if (columns === 0) throw new RangeError('table has no columns');
  const observed = new Float64Array(rows * columns);
  for (let r = 0; r < rows; r++) {
    if (table[r].length !== columns) throw new RangeError('table rows must have the same length');
    observed.set(nonNegativeVector(table[r], `table[${r}]`), r * columns);
  }

  const rowSums = new Float64Array(rows);
  const columnSums = new Float64Array(columns);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      rowSums[r] += observed[r * columns + c];
      columnSums[c] += observed[r * columns + c];
    }
  }
  const total = pairwiseSum(observed);
  const expected = new Float64Array(rows * columns);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      const value = (rowSums[r] * columnSums[c]) / total;
      if (value === 0) throw new RangeError(`expected frequency at (${r}, ${c}) is zero`);
      expected[r * columns + c] = value;
    }
  }
  const degreesOfFreedom = rows * columns - rows - columns + 1;
  const expectedRows = Array.from({ length: rows }, (_, r) =>
    Array.from(expected.subarray(r * columns, (r + 1) * columns)),
  );
  if (degreesOfFreedom === 0) {
    return {
      statistic: 0,
      pValue: 1,
      effectSize: 0,
      n: [total],
      degreesOfFreedom,
      expected: expectedRows,
      corrected: false,
    };
  }

  const uncorrected = pearsonStatistic(observed, expected);
  let statistic = uncorrected;
  const corrected = degreesOfFreedom === 1 && (options.correction ?? true);
  if (corrected) {
    const adjusted = new Float64Array(observed.length);
    for (let i = 0; i < observed.length; i++) {
      const difference = expected[i] - observed[i];
      adjusted[i] = observed[i] + Math.min(0.5, Math.abs(difference)) * Math.sign(difference);
    }
    statistic = pearsonStatistic(adjusted, expected);
  }
  const cramerV = Math.sqrt(uncorrected / total / Math.min(columns - 1, rows - 1));
  return {
    statistic,
    pValue: chiSquareSf(statistic, degreesOfFreedom),
    effectSize: cramerV,
    n: [total],
    degreesOfFreedom,
    expected: expectedRows,
    corrected,
  };
}
