/** A one-dimensional sample: a plain array or any typed array. */
export type Sample = ArrayLike<number>;

/** Multivariate observations, one row per observation (number[] or Float64Array rows). */
export type Rows = ReadonlyArray<ArrayLike<number>>;

export type Alternative = 'two-sided' | 'less' | 'greater';

/**
 * The one shape every test and distance in this library returns, so a caller (a drift monitor, a
 * baseline store) can treat them alike. Functions add their own fields next to these.
 */
export interface TestResult {
  statistic: number;
  pValue?: number;
  effectSize?: number;
  /** Sample sizes: two for two-sample tests, one for one-sample tests and single tables. */
  n: [number, number] | [number];
}
