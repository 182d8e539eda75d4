import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { benjaminiHochberg, bonferroni } from '@tripline/drift';
import { Comparison, reference } from './reference';

interface AdjustmentCase {
  p: number[];
  adjusted: number[];
}

describe('multiple-testing corrections', () => {
  it('benjaminiHochberg matches scipy.stats.false_discovery_control(method="bh") in input order', () => {
    const check = new Comparison();
    for (const [i, c] of (reference.false_discovery_control as AdjustmentCase[]).entries()) {
      const adjusted = benjaminiHochberg(c.p);
      check.equal(adjusted.length, c.adjusted.length, `case ${i}: length`);
      c.adjusted.forEach((a, j) => check.close(adjusted[j], a, 1e-12, `case ${i}[${j}]`));
    }
    check.assert();
  });

  it('bonferroni multiplies by the number of tests and caps at 1 (NumPy reference)', () => {
    const check = new Comparison();
    for (const [i, c] of (reference.bonferroni as AdjustmentCase[]).entries()) {
      const adjusted = bonferroni(c.p);
      c.adjusted.forEach((a, j) => check.close(adjusted[j], a, 1e-15, `case ${i}[${j}]`));
    }
    check.assert();
  });

  it('never adjusts a p-value downwards and keeps the order of the raw p-values', () => {
    const ps = [0.04, 0.001, 0.3, 0.02, 0.9, 0.02];
    const adjusted = benjaminiHochberg(ps);
    ps.forEach((p, i) => assert.ok(adjusted[i] >= p));
    for (let i = 0; i < ps.length; i++) {
      for (let j = 0; j < ps.length; j++) if (ps[i] < ps[j]) assert.ok(adjusted[i] <= adjusted[j]);
    }
  });

  it('rejects values outside [0, 1]', () => {
    assert.throws(() => benjaminiHochberg([0.1, 1.2]), RangeError);
    assert.throws(() => bonferroni([-0.1]), RangeError);
  });
});
