import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cusum, pageHinkley, seededRandom, type ChangeDetector } from '@tripline/drift';

/** Synthetic streams from a seeded generator: N(0, 1), then N(shift, 1) from `changeAt` on. */
function stream(length: number, seed: number, changeAt = Infinity, shift = 0): number[] {
  const random = seededRandom(seed);
  return Array.from({ length }, (_, t) => random.normal() + (t >= changeAt ? shift : 0));
}

function alarms(detector: ChangeDetector, values: number[]): number[] {
  const at: number[] = [];
  values.forEach((x, t) => {
    if (detector.update(x).drift) at.push(t);
  });
  return at;
}

describe('cusum', () => {
  // h = 12 with known μ0 and σ: in-control average run length ≈ 5·10⁵, a 1σ shift caught after ≈ 25.
  const known = () => cusum({ mean: 0, std: 1, threshold: 12 });

  it('raises no alarm on stationary streams of 2 000 observations', () => {
    for (const seed of [1, 2, 3]) assert.deepEqual(alarms(known(), stream(2000, seed)), []);
  });

  it('alarms within 80 observations of a 1σ mean shift and reports its direction', () => {
    for (const [seed, shift] of [
      [4, 1],
      [5, -1],
    ]) {
      const detector = known();
      let first = -1;
      let direction: string | undefined;
      stream(3000, seed, 2000, shift).forEach((x, t) => {
        const result = detector.update(x);
        if (result.drift && first < 0) [first, direction] = [t, result.direction];
      });
      assert.ok(first >= 2000 && first < 2080, `first alarm at ${first}`);
      assert.equal(direction, shift > 0 ? 'up' : 'down');
    }
  });

  it('estimates μ0 and σ from its warm-up and then watches on that scale', () => {
    const random = seededRandom(6);
    const values = Array.from({ length: 3000 }, (_, t) => 10 + 3 * random.normal() + (t >= 2500 ? 3 : 0));
    const at = alarms(cusum({ warmup: 500, threshold: 12 }), values);
    assert.ok(at.length > 0 && at[0] >= 2500 && at[0] < 2580, `alarms at ${at.join(', ')}`);
  });

  it('adds z - k per observation on top of a given in-control mean and σ', () => {
    const detector = cusum({ mean: 10, std: 2, threshold: 4 });
    assert.equal(detector.update(10).statistic, 0);
    // Each observation of 14 adds (14 - 10)/2 - 0.5 = 1.5: 1.5, 3, then 4.5 > 4 alarms.
    assert.deepEqual(
      [14, 14, 14].map((x) => detector.update(x).drift),
      [false, false, true],
    );
  });
});

describe('pageHinkley', () => {
  // δ = σ/2 and λ = 15 for unit-variance streams (the defaults suit small-scale signals such as error rates).
  const tuned = (direction: 'up' | 'down' | 'both' = 'both') =>
    pageHinkley({ delta: 0.5, threshold: 15, direction });

  it('raises no alarm on stationary streams of 5 000 observations', () => {
    for (const seed of [1, 2, 3]) assert.deepEqual(alarms(tuned(), stream(5000, seed)), []);
  });

  it('alarms within 100 observations of a 1σ mean shift and reports its direction', () => {
    for (const [seed, shift] of [
      [6, 1],
      [7, -1],
    ]) {
      const detector = tuned();
      let first = -1;
      let direction: string | undefined;
      stream(3000, seed, 2000, shift).forEach((x, t) => {
        const result = detector.update(x);
        if (result.drift && first < 0) [first, direction] = [t, result.direction];
      });
      assert.ok(first >= 2000 && first < 2100, `first alarm at ${first}`);
      assert.equal(direction, shift > 0 ? 'up' : 'down');
    }
  });

  it('watches only the requested direction', () => {
    const values = stream(3000, 8, 2000, -1.5);
    assert.deepEqual(alarms(tuned('up'), values), []);
    assert.ok(alarms(tuned('down'), values).length > 0);
  });
});
