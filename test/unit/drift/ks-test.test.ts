import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ksTest, seededRandom } from '@tripline/drift';
import { Comparison, reference, sample, type SampleSpec } from './reference';

/** Statistics and exact p-values are deterministic formulas in SciPy: hold them to 1e-9. */
const EXACT = 1e-9;

interface KsCase {
  name: string;
  a: SampleSpec;
  b: SampleSpec;
  statistic: number;
  pvalue: number;
  location: number;
  sign: number;
  method: 'exact' | 'asymptotic';
}

const cases = reference.ks_2samp as KsCase[];

function compare(selected: KsCase[]): void {
  const check = new Comparison();
  for (const c of selected) {
    const result = ksTest(sample(c.a), sample(c.b));
    check.close(result.statistic, c.statistic, EXACT, `${c.name}: statistic`);
    check.close(result.pValue, c.pvalue, EXACT, `${c.name}: p-value`);
    check.equal(result.location, c.location, `${c.name}: location`);
    check.equal(result.sign, c.sign, `${c.name}: sign`);
    check.equal(result.method, c.method, `${c.name}: method`);
  }
  check.assert();
}

describe('ksTest', () => {
  it('matches scipy ks_2samp (statistic, location, sign, exact p-value) on tiny, tied and unequal samples', () => {
    compare(cases.filter((c) => c.method === 'exact'));
  });

  it('matches scipy ks_2samp above 10 000 observations, where it switches to the asymptotic distribution', () => {
    const asymptotic = cases.filter((c) => c.method === 'asymptotic');
    assert.ok(asymptotic.some((c) => c.pvalue < 1e-6) && asymptotic.some((c) => c.pvalue > 0.5));
    compare(asymptotic);
  });

  it('gives the same answer whatever the order of the observations', () => {
    const random = seededRandom(7);
    const a = Array.from({ length: 300 }, () => Math.round(random.normal() * 20) / 10);
    const b = Array.from({ length: 200 }, () => Math.round((random.normal() + 0.3) * 20) / 10);
    const shuffled = (values: number[]) => values.map((v) => [random.next(), v]).sort((x, y) => x[0] - y[0]);
    const expected = ksTest(a, b);
    const actual = ksTest(
      shuffled(a).map((p) => p[1]),
      Float64Array.from(shuffled(b).map((p) => p[1])),
    );
    assert.deepEqual(actual, expected);
  });

  it('is symmetric in its samples up to the sign of the largest gap', () => {
    const random = seededRandom(11);
    const a = Array.from({ length: 120 }, () => random.normal());
    const b = Array.from({ length: 90 }, () => random.normal() + 0.4);
    const forward = ksTest(a, b);
    const backward = ksTest(b, a);
    assert.equal(backward.statistic, forward.statistic);
    assert.equal(backward.pValue, forward.pValue);
    assert.equal(backward.sign, -forward.sign);
  });

  it('can be forced onto the asymptotic distribution for small samples', () => {
    const a = [0.1, 0.4, 0.7, 1.3, 2.2];
    const b = [0.9, 1.5, 2.5, 2.8, 3.1, 3.3];
    assert.equal(ksTest(a, b, { method: 'asymptotic' }).method, 'asymptotic');
    assert.notEqual(ksTest(a, b, { method: 'asymptotic' }).pValue, ksTest(a, b).pValue);
  });

  it('rejects empty samples and non-finite values', () => {
    assert.throws(() => ksTest([], [1, 2]), RangeError);
    assert.throws(() => ksTest([1, NaN], [1, 2]), RangeError);
    assert.throws(() => ksTest([1, 2], [Infinity]), RangeError);
  });
});
