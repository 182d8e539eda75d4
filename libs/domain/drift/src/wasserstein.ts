import { nonNegativeVector, toFloat64 } from './numeric';
import type { Sample, TestResult } from './types';

export interface WassersteinResult extends TestResult {
  /** W₁ in the units of the data: ∫ |U(t) - V(t)| dt over the two (weighted) empirical CDFs. */
  statistic: number;
  effectSize: number;
  n: [number, number];
}

/**
 * First Wasserstein (earth mover's) distance between two one-dimensional empirical distributions,
 * like `scipy.stats.wasserstein_distance(u, v, uWeights, vWeights)`. Each sample is sorted once
 * and the CDF difference is integrated in a single merge pass.
 */
export function wasserstein(u: Sample, v: Sample, uWeights?: Sample, vWeights?: Sample): WassersteinResult {
  const a = weightedCdf(u, uWeights, 'u');
  const b = weightedCdf(v, vWeights, 'v');
  let i = 0;
  let j = 0;
  let distance = 0;
  let previous = Math.min(a.values[0], b.values[0]);
  while (i < a.values.length || j < b.values.length) {
    const value =
      j >= b.values.length || (i < a.values.length && a.values[i] <= b.values[j]) ? a.values[i] : b.values[j];
    // Both CDFs are constant on [previous, value): they still hold the mass up to `previous`.
    const gap = Math.abs(a.cumulative[i] / a.total - b.cumulative[j] / b.total);
    distance += gap * (value - previous);
    while (i < a.values.length && a.values[i] === value) i++;
    while (j < b.values.length && b.values[j] === value) j++;
    previous = value;
  }
  return { statistic: distance, effectSize: distance, n: [a.values.length, b.values.length] };
}

interface WeightedCdf {
  values: Float64Array;
  /** cumulative[k] = total weight of the k smallest values (cumulative[0] = 0). */
  cumulative: Float64Array;
  total: number;
}

function weightedCdf(sample: Sample, weights: Sample | undefined, name: string): WeightedCdf {
  const values = toFloat64(sample, name);
  const n = values.length;
  const cumulative = new Float64Array(n + 1);
  if (weights === undefined) {
    values.sort();
    for (let k = 1; k <= n; k++) cumulative[k] = k;
    return { values, cumulative, total: n };
  }
  if (weights.length !== n) throw new RangeError(`${name} and its weights must have the same length`);
  const w = nonNegativeVector(weights, `${name}Weights`);
  const order = new Uint32Array(n);
  for (let k = 0; k < n; k++) order[k] = k;
  order.sort((x, y) => values[x] - values[y]);
  const sorted = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    sorted[k] = values[order[k]];
    cumulative[k + 1] = cumulative[k] + w[order[k]];
  }
  const total = cumulative[n];
  if (!(total > 0 && Number.isFinite(total)))
    throw new RangeError(`${name}Weights must have a positive, finite sum`);
  return { values: sorted, cumulative, total };
}
