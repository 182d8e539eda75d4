import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { linearMmdTest, seededRandom, special } from '@tripline/drift';

function gaussianRows(count: number, dimension: number, seed: number, shift = 0): Float64Array[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => {
    const row = new Float64Array(dimension);
    for (let c = 0; c < dimension; c++) row[c] = shift + random.normal();
    return row;
  });
}

describe('linearMmdTest', () => {
  it('computes the mean of h over disjoint pairs of pairs and its normal p-value, as defined', () => {
    const x = gaussianRows(9, 3, 1);
    const y = gaussianRows(12, 3, 2, 0.3);
    const bandwidth = 1.7;
    const k = (a: Float64Array, b: Float64Array) =>
      Math.exp(-a.reduce((sum, v, i) => sum + (v - b[i]) ** 2, 0) / (2 * bandwidth * bandwidth));
    const h: number[] = [];
    for (let t = 0; t < 4; t++) {
      const [x1, x2, y1, y2] = [x[2 * t], x[2 * t + 1], y[2 * t], y[2 * t + 1]];
      h.push(k(x1, x2) + k(y1, y2) - k(x1, y2) - k(x2, y1));
    }
    const mean = h.reduce((a, b) => a + b, 0) / h.length;
    const variance = h.reduce((sum, v) => sum + (v - mean) ** 2, 0) / (h.length - 1);
    const standardError = Math.sqrt(variance / h.length);
    const result = linearMmdTest(x, y, { bandwidth });
    assert.equal(result.pairs, 4);
    assert.ok(Math.abs(result.statistic - mean) <= 1e-12, `${result.statistic} vs ${mean}`);
    assert.ok(Math.abs(result.standardError - standardError) <= 1e-12);
    assert.ok(Math.abs(result.pValue - special.normalSf(mean / standardError)) <= 1e-12);
  });

  it('takes the median of the distances it evaluates as the default bandwidth', () => {
    const x = gaussianRows(4, 2, 3);
    const y = gaussianRows(4, 2, 4);
    const distance = (a: Float64Array, b: Float64Array) => Math.hypot(a[0] - b[0], a[1] - b[1]);
    const distances = [0, 1]
      .flatMap((t) => {
        const [x1, x2, y1, y2] = [x[2 * t], x[2 * t + 1], y[2 * t], y[2 * t + 1]];
        return [distance(x1, x2), distance(y1, y2), distance(x1, y2), distance(x2, y1)];
      })
      .sort((a, b) => a - b);
    const expected = (distances[3] + distances[4]) / 2;
    assert.ok(Math.abs(linearMmdTest(x, y).bandwidth - expected) <= 1e-12 * expected);
  });

  it('finds no difference between two large samples of one distribution and a clear one after a shift', () => {
    const same = linearMmdTest(gaussianRows(20_000, 4, 5), gaussianRows(20_000, 4, 6));
    assert.ok(same.pValue > 0.01, `p = ${same.pValue}`);
    const shifted = linearMmdTest(gaussianRows(20_000, 4, 7), gaussianRows(20_000, 4, 8, 0.3));
    assert.ok(shifted.pValue < 1e-6, `p = ${shifted.pValue}`);
    assert.ok(shifted.statistic > 0);
  });

  it('names the row and column of a value that is not finite, and refuses samples too small', () => {
    const x = gaussianRows(6, 2, 9);
    const y = gaussianRows(6, 2, 10);
    y[3] = Float64Array.of(0, Number.NaN);
    assert.throws(() => linearMmdTest(x, y), /y\[3\]\[1\] is not a finite number/);
    assert.throws(() => linearMmdTest(x.slice(0, 3), y), /at least four rows/);
    assert.throws(() => linearMmdTest(x, x, { bandwidth: 0 }), /bandwidth/);
  });
});
