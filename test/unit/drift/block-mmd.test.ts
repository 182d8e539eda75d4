import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { blockMmdTest, mmdTest, special } from '@tripline/drift';
import { reference } from './reference';

const close = (actual: number, expected: number, relative: number, what: string) =>
  assert.ok(
    Math.abs(actual - expected) <= relative * Math.max(Math.abs(expected), 1e-300),
    `${what}: ${actual} vs ${expected}`,
  );

describe('block MMD (B-test) against NumPy/SciPy', () => {
  interface Case {
    x: number[][];
    y: number[][];
    subsample: number;
    bandwidth: number;
    block_size: number;
    blocks: number;
    statistic: number;
    standard_error: number;
    p_value: number;
  }
  for (const [index, c] of (reference.block_mmd.cases as Case[]).entries()) {
    it(`case ${index}: median-heuristic bandwidth, block statistic, standard error and p-value`, () => {
      const { x, y } = c;
      const quadratic = mmdTest(x.slice(0, c.subsample), y.slice(0, c.subsample), { permutations: 0 });
      close(quadratic.bandwidth, c.bandwidth, 1e-12, 'bandwidth');
      const result = blockMmdTest(x, y, { bandwidth: c.bandwidth, blockSize: c.block_size });
      assert.equal(result.blocks, c.blocks);
      close(result.statistic, c.statistic, 1e-9, 'statistic');
      close(result.standardError, c.standard_error, 1e-9, 'standard error');
      close(result.pValue, c.p_value, 1e-9, 'p-value');
    });
  }

  it('the normal tail matches scipy.stats.norm.sf, far out too', () => {
    for (const [z, expected] of reference.block_mmd.norm_sf as [number, number][]) {
      close(special.normalSf(z), expected, 1e-12, `sf(${z})`);
    }
  });

  it('refuses samples with fewer than two blocks, and a non-positive bandwidth', () => {
    const rows = Array.from({ length: 60 }, (_, i) => [i]);
    assert.throws(() => blockMmdTest(rows, rows, { bandwidth: 1 }), /at least 100 rows/);
    assert.throws(() => blockMmdTest(rows, rows, { bandwidth: 0, blockSize: 10 }), /bandwidth/);
  });
});
