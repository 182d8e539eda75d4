import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mmdTest, seededRandom } from '@tripline/drift';

/** No SciPy equivalent: these tests prove the properties the permutation test must have. */

function gaussianRows(count: number, dimension: number, seed: number, shift = 0, scale = 1): Float64Array[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => {
    const row = new Float64Array(dimension);
    for (let c = 0; c < dimension; c++) row[c] = shift + scale * random.normal();
    return row;
  });
}

describe('mmdTest', () => {
  it('finds no difference between two samples of the same distribution (large p-value)', () => {
    const result = mmdTest(gaussianRows(150, 8, 1), gaussianRows(120, 8, 2), { seed: 42 });
    assert.ok(result.pValue > 0.05, `p = ${result.pValue}`);
    assert.ok(Math.abs(result.statistic) < 0.01, `MMD² = ${result.statistic}`);
  });

  it('detects a mean shift in every coordinate with the smallest p-value the permutations allow', () => {
    const result = mmdTest(gaussianRows(150, 8, 3), gaussianRows(120, 8, 4, 0.5), {
      seed: 42,
      permutations: 200,
    });
    assert.equal(result.pValue, 1 / 201);
    assert.ok(result.statistic > 0.01);
  });

  it('detects a change of spread with the same mean', () => {
    const result = mmdTest(gaussianRows(200, 4, 5), gaussianRows(200, 4, 6, 0, 2), {
      seed: 1,
      permutations: 200,
    });
    assert.ok(result.pValue < 0.01, `p = ${result.pValue}`);
  });

  it('is deterministic for a seed and draws different permutations for another seed', () => {
    const x = gaussianRows(60, 5, 7);
    const y = gaussianRows(50, 5, 8, 0.15);
    const first = mmdTest(x, y, { seed: 9 });
    assert.deepEqual(mmdTest(x, y, { seed: 9 }), first);
    const other = mmdTest(x, y, { seed: 10 });
    assert.equal(other.statistic, first.statistic);
    assert.notEqual(other.pValue, first.pValue);
  });

  it('computes the unbiased MMD² of its definition with the median-distance bandwidth', () => {
    const x = gaussianRows(12, 3, 11);
    const y = gaussianRows(9, 3, 12, 0.4);
    const pooled = [...x, ...y];
    const distances: number[] = [];
    const distance = (a: Float64Array, b: Float64Array) => Math.hypot(...a.map((v, i) => v - b[i]));
    for (let i = 0; i < pooled.length; i++) {
      for (let j = i + 1; j < pooled.length; j++) distances.push(distance(pooled[i], pooled[j]));
    }
    distances.sort((a, b) => a - b);
    const middle = distances.length / 2;
    const sigma =
      distances.length % 2 ? distances[Math.floor(middle)] : (distances[middle - 1] + distances[middle]) / 2;
    const k = (a: Float64Array, b: Float64Array) => Math.exp(-(distance(a, b) ** 2) / (2 * sigma * sigma));
    const mean = (rows: Float64Array[], others: Float64Array[], skipDiagonal: boolean) => {
      let sum = 0;
      let count = 0;
      rows.forEach((a, i) =>
        others.forEach((b, j) => {
          if (skipDiagonal && i === j) return;
          sum += k(a, b);
          count++;
        }),
      );
      return sum / count;
    };
    const expected = mean(x, x, true) + mean(y, y, true) - 2 * mean(x, y, false);
    const result = mmdTest(x, y, { permutations: 0 });
    assert.ok(Math.abs(result.bandwidth - sigma) <= 1e-12 * sigma);
    assert.ok(Math.abs(result.statistic - expected) <= 1e-12, `${result.statistic} vs ${expected}`);
    assert.equal(result.pValue, 1);
  });

  it('gives the same statistic with the samples swapped', () => {
    const x = gaussianRows(30, 4, 13);
    const y = gaussianRows(45, 4, 14, 0.3);
    const forward = mmdTest(x, y, { permutations: 0 });
    const backward = mmdTest(y, x, { permutations: 0 });
    assert.ok(Math.abs(forward.statistic - backward.statistic) <= 1e-12);
  });

  it('rejects ragged rows, too few rows and more rows than maxRows', () => {
    assert.throws(
      () =>
        mmdTest(
          [[1, 2], [3]],
          [
            [1, 2],
            [3, 4],
          ],
        ),
      RangeError,
    );
    assert.throws(() => mmdTest([[1]], [[1], [2]]), RangeError);
    assert.throws(() => mmdTest(gaussianRows(10, 2, 1), gaussianRows(10, 2, 2), { maxRows: 15 }), /maxRows/);
  });
});
