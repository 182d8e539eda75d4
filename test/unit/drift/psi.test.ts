import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { psi, seededRandom } from '@tripline/drift';
import { Comparison, reference, sample, type SampleSpec } from './reference';

/**
 * SciPy has no PSI: generate.py computes it with NumPy (np.quantile, np.searchsorted, np.bincount)
 * on the definition documented in psi.ts. Edges must agree bit for bit (same interpolation), and
 * the sums to 1e-12.
 */
interface PsiCase {
  name: string;
  reference: SampleSpec;
  current: SampleSpec;
  options: { bins?: number; edges?: number[]; epsilon?: number };
  statistic: number;
  edges: number[];
  reference_proportions: number[];
  current_proportions: number[];
  contributions: number[];
}

describe('psi', () => {
  it('matches the NumPy reference: quantile edges, proportions, epsilon for empty bins and the index', () => {
    const check = new Comparison();
    for (const c of reference.psi as PsiCase[]) {
      const result = psi(sample(c.reference), sample(c.current), c.options);
      check.close(result.statistic, c.statistic, 1e-12, `${c.name}: PSI`);
      check.equal(result.edges.length, c.edges.length, `${c.name}: edge count`);
      c.edges.forEach((e, i) => check.equal(result.edges[i], e, `${c.name}: edge ${i}`));
      c.reference_proportions.forEach((r, i) =>
        check.close(result.referenceProportions[i], r, 1e-15, `${c.name}: reference bin ${i}`),
      );
      c.current_proportions.forEach((r, i) =>
        check.close(result.currentProportions[i], r, 1e-15, `${c.name}: current bin ${i}`),
      );
      c.contributions.forEach((r, i) =>
        check.close(result.contributions[i], r, 1e-12, `${c.name}: contribution ${i}`),
      );
    }
    check.assert();
  });

  it('returns edges that, passed back in, reproduce the same bins on new data', () => {
    const random = seededRandom(3);
    const baseline = Array.from({ length: 5000 }, () => random.normal());
    const first = psi(
      baseline,
      Array.from({ length: 2000 }, () => random.normal() + 0.1),
    );
    const stored = JSON.parse(JSON.stringify(first.edges)) as number[];
    const laterCurrent = Array.from({ length: 2000 }, () => random.normal() + 0.5);
    const recut = psi(baseline, laterCurrent);
    const reused = psi(baseline, laterCurrent, { edges: stored });
    assert.deepEqual(reused.edges, first.edges);
    assert.equal(reused.statistic, recut.statistic);
    assert.ok(reused.statistic > first.statistic);
  });

  it('grows with the size of a shift and is near zero without one', () => {
    const random = seededRandom(5);
    const draw = (shift: number) => Array.from({ length: 20000 }, () => random.normal() + shift);
    const baseline = draw(0);
    const values = [0, 0.25, 0.5, 1].map((shift) => psi(baseline, draw(shift)).statistic);
    assert.ok(values[0] < 0.01, `no shift gave ${values[0]}`);
    for (let i = 1; i < values.length; i++) assert.ok(values[i] > values[i - 1], values.join(', '));
  });

  it('rejects edges that are not strictly increasing and an epsilon outside (0, 1)', () => {
    assert.throws(() => psi([1, 2, 3], [1, 2], { edges: [1, 1] }), RangeError);
    assert.throws(() => psi([1, 2, 3], [1, 2], { epsilon: 0 }), RangeError);
    assert.throws(() => psi([1, 2, 3], [1, 2], { bins: 1 }), RangeError);
  });
  it('cuts and counts large samples (the bucketed path) exactly as a full sort and a scan over the edges do', () => {
    const random = seededRandom(31);
    // Ties, both signed zeros, negative and positive values over many magnitudes, 40 000 values.
    const draw = (count: number) =>
      Float64Array.from({ length: count }, (_, i) =>
        i % 7 === 0
          ? i % 2
            ? -0
            : 0
          : i % 5 === 0
            ? Math.round(random.normal() * 3)
            : random.normal() * 10 ** (i % 4),
      );
    const reference = draw(40_000);
    const current = draw(30_000);
    const sorted = Float64Array.from(reference).sort();
    const quantile = (q: number) => {
      const index = (sorted.length - 1) * q;
      const lower = Math.floor(index);
      const gamma = index - lower;
      const [a, b] = [sorted[lower], sorted[lower + 1]];
      return gamma >= 0.5 ? b - (b - a) * (1 - gamma) : a + (b - a) * gamma;
    };
    const expectedEdges: number[] = [];
    for (let i = 1; i < 10; i++) {
      const value = quantile(i / 10);
      if (expectedEdges.length === 0 || value > expectedEdges[expectedEdges.length - 1])
        expectedEdges.push(value);
    }
    const result = psi(reference, current);
    assert.deepEqual(result.edges, expectedEdges);
    const proportions = (values: Float64Array) => {
      const counts = new Array<number>(expectedEdges.length + 1).fill(0);
      for (const value of values) counts[expectedEdges.filter((edge) => edge < value).length]++;
      return counts.map((count) => (count === 0 ? 1e-4 : count / values.length));
    };
    assert.deepEqual(result.referenceProportions, proportions(reference));
    assert.deepEqual(result.currentProportions, proportions(current));
    // An edge at exactly zero, with values of both signed zeros on it.
    const zeroEdge = psi(reference, current, { edges: [-1, 0, 1] });
    const counts = [0, 0, 0, 0];
    for (const value of current) counts[[-1, 0, 1].filter((edge) => edge < value).length]++;
    assert.deepEqual(
      zeroEdge.currentProportions,
      counts.map((count) => count / current.length),
    );
  });
});
