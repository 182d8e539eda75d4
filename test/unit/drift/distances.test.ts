import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hellinger, jensenShannon, wasserstein } from '@tripline/drift';
import { Comparison, reference } from './reference';

/** Closed forms in SciPy; only summation order differs, so 1e-9 relative is generous. */
const EXACT = 1e-9;

interface VectorCase {
  p: number[];
  q: number[];
  base?: number | null;
  distance: number;
  /** Jensen–Shannon only: the exact distance of the given doubles. */
  exact?: number;
}

interface WassersteinCase {
  u: number[];
  v: number[];
  u_weights: number[] | null;
  v_weights: number[] | null;
  distance: number;
}

describe('jensenShannon', () => {
  it('matches scipy.spatial.distance.jensenshannon, natural log and base 2, zeros and unnormalised counts', () => {
    const check = new Comparison();
    for (const [i, c] of (reference.jensenshannon as VectorCase[]).entries()) {
      const result = jensenShannon(c.p, c.q, c.base ?? undefined);
      // Where SciPy's own cancellation error (measured against the exact value) exceeds 1e-9, allow it.
      const scipyError = Math.abs(c.distance - c.exact!);
      check.close(result.statistic, c.distance, EXACT, `case ${i} (base ${c.base})`, scipyError);
    }
    check.assert();
  });

  it('stays within 1e-12 of the exact distance (60-digit decimal), even for nearly equal inputs', () => {
    const check = new Comparison();
    const cases = reference.jensenshannon as VectorCase[];
    assert.ok(
      cases.some((c) => Math.abs(c.distance - c.exact!) > 1e-9 * c.exact!),
      'a case where SciPy cancels',
    );
    for (const [i, c] of cases.entries()) {
      check.close(jensenShannon(c.p, c.q, c.base ?? undefined).statistic, c.exact!, 1e-12, `case ${i}`);
    }
    check.assert();
  });

  it('is 0 for identical inputs and 1 (base 2) for disjoint supports', () => {
    assert.equal(jensenShannon([1, 2, 3], [2, 4, 6]).statistic, 0);
    assert.equal(jensenShannon([1, 0], [0, 1], 2).statistic, 1);
  });
});

describe('hellinger', () => {
  it('matches ‖√p − √q‖/√2 computed with scipy.spatial.distance.euclidean', () => {
    const check = new Comparison();
    for (const [i, c] of (reference.hellinger as VectorCase[]).entries()) {
      check.close(hellinger(c.p, c.q).statistic, c.distance, EXACT, `case ${i}`);
    }
    check.assert();
  });

  it('stays accurate for nearly equal distributions, where 1 − Σ√(pq) would cancel to nothing', () => {
    const p = [0.5, 0.5];
    const q = [0.5 + 1e-9, 0.5 - 1e-9];
    // To first order √(0.5 ± ε) = √0.5 ± ε/√2, so H = ε/√2.
    const expected = 1e-9 / Math.SQRT2;
    assert.ok(Math.abs(hellinger(p, q).statistic - expected) < 1e-6 * expected);
  });
});

describe('wasserstein', () => {
  it('matches scipy.stats.wasserstein_distance with and without weights, ties included', () => {
    const check = new Comparison();
    for (const [i, c] of (reference.wasserstein_distance as WassersteinCase[]).entries()) {
      const result = wasserstein(c.u, c.v, c.u_weights ?? undefined, c.v_weights ?? undefined);
      check.close(result.statistic, c.distance, EXACT, `case ${i}`);
    }
    check.assert();
  });

  it('equals the shift when one sample is the other moved by a constant', () => {
    const u = [0.3, 1.7, 2.2, 5.1, 9.4];
    assert.ok(
      Math.abs(
        wasserstein(
          u,
          u.map((x) => x + 2.5),
        ).statistic - 2.5,
      ) < 1e-12,
    );
  });
});
