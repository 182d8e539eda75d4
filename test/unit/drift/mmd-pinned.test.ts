import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { blockMmdTest, linearMmdTest, mmdTest, seededRandom } from '@tripline/drift';

/**
 * The MMD statistics' results pinned to the last bit: these figures came from the implementation
 * before the kernel was streamed row by row (the N² kernel matrix, a radix-select median and the
 * plain Four Russians loop). A faster implementation must add the same numbers in the same order,
 * so a seeded permutation p-value, a bandwidth or a statistic never moves between releases. A
 * change of the permutation scheme would have to change these on purpose, and say so.
 */

function gaussianRows(count: number, dimension: number, seed: number, shift = 0, scale = 1): Float64Array[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => {
    const row = new Float64Array(dimension);
    for (let c = 0; c < dimension; c++) row[c] = shift + scale * random.normal();
    return row;
  });
}

/** Values on a 0.1 grid: many equal distances, so ties at the median and between permutations. */
const rounded = (rows: Float64Array[]) => rows.map((row) => Array.from(row, (v) => Math.round(v * 10) / 10));

describe('MMD results pinned bit for bit', () => {
  it('mmdTest: median bandwidth, statistic and seeded permutation p-value', () => {
    const cases = [
      {
        result: mmdTest(gaussianRows(150, 8, 21), gaussianRows(120, 8, 22, 0.2), {
          seed: 3,
          permutations: 500,
        }),
        expected: {
          statistic: 0.005203061441362733,
          pValue: 0.01996007984031936,
          bandwidth: 3.829507205470768,
        },
      },
      {
        result: mmdTest(gaussianRows(40, 3, 23), gaussianRows(70, 3, 24, 0, 1.5), {
          seed: 11,
          permutations: 300,
          bandwidth: 1.3,
        }),
        expected: { statistic: 0.056092184686771906, pValue: 0.006644518272425249, bandwidth: 1.3 },
      },
      {
        // 1,250 rows: the median comes from the sampled bracket, over 780,625 distances.
        result: mmdTest(gaussianRows(600, 16, 25), gaussianRows(650, 16, 26, 0.05), {
          seed: 1,
          permutations: 200,
        }),
        expected: {
          statistic: 0.0005489983066111481,
          pValue: 0.07960199004975124,
          bandwidth: 5.541217846193226,
        },
      },
      {
        result: mmdTest(rounded(gaussianRows(200, 2, 27)), rounded(gaussianRows(180, 2, 28, 0.1)), {
          seed: 5,
          permutations: 100,
        }),
        expected: {
          statistic: 0.002203259097262711,
          pValue: 0.16831683168316833,
          bandwidth: 1.6492422502470645,
        },
      },
    ];
    for (const { result, expected } of cases) {
      assert.deepEqual(
        { statistic: result.statistic, pValue: result.pValue, bandwidth: result.bandwidth },
        expected,
      );
    }
  });

  it('linearMmdTest and blockMmdTest', () => {
    const x = gaussianRows(5001, 6, 31);
    const y = gaussianRows(4999, 6, 32, 0.05);
    const linear = linearMmdTest(x, y);
    assert.deepEqual(
      {
        statistic: linear.statistic,
        pValue: linear.pValue,
        bandwidth: linear.bandwidth,
        standardError: linear.standardError,
      },
      {
        statistic: 0.002758850589028009,
        pValue: 0.2846543688344537,
        bandwidth: 3.268300633536243,
        standardError: 0.004847999916026286,
      },
    );
    const block = blockMmdTest(x, y, { bandwidth: linear.bandwidth, blockSize: 25 });
    assert.deepEqual(
      { statistic: block.statistic, pValue: block.pValue, standardError: block.standardError },
      { statistic: 0.0014919325002125134, pValue: 0.09462393007544706, standardError: 0.0011364443212871704 },
    );
  });
});
