import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  calibrate,
  calibrationWeights,
  groupVariance,
  histogramCalibration,
  isotonicCalibration,
  seededRandom,
} from '@tripline/drift';

describe('isotonic calibration (pool adjacent violators)', () => {
  it('pools violators as scikit-learn does: [1,0,1,0,1] at scores 1..5 gives 0.5, 0.5, 0.5, 0.5, 1', () => {
    const fit = isotonicCalibration([1, 2, 3, 4, 5], [1, 0, 1, 0, 1]);
    assert.deepEqual(
      fit.groups.map((g) => [g.low, g.high, g.count, g.value]),
      [
        [1, 2, 2, 0.5],
        [3, 4, 2, 0.5],
        [5, 5, 1, 1],
      ],
    );
    assert.deepEqual(
      [1, 2, 3, 4, 5].map((s) => calibrate(fit, s)),
      [0.5, 0.5, 0.5, 0.5, 1],
    );
  });

  it('interpolates linearly between groups and clips outside the fitted range', () => {
    const fit = isotonicCalibration([1, 2, 3, 4, 5], [1, 0, 1, 0, 1]);
    assert.equal(calibrate(fit, 4.5), 0.75);
    assert.deepEqual(calibrationWeights(fit, 4.5), [1, 0.5, 2, 0.5]);
    assert.equal(calibrate(fit, -10), 0.5);
    assert.equal(calibrate(fit, 10), 1);
  });

  it('keeps equal scores in one group, whatever order they come in', () => {
    const fit = isotonicCalibration([0.7, 0.2, 0.7, 0.2, 0.7], [true, false, false, true, true]);
    assert.deepEqual(
      fit.groups.map((g) => [g.low, g.count, g.positives]),
      [
        [0.2, 2, 1],
        [0.7, 3, 2],
      ],
    );
  });

  it('is monotone and preserves the mean outcome (the least-squares property of PAV)', () => {
    const random = seededRandom(7);
    const scores = Array.from({ length: 5_000 }, () => random.next());
    const outcomes = scores.map((s): number => (random.next() < s * s ? 1 : 0));
    const fit = isotonicCalibration(scores, outcomes);
    for (let g = 1; g < fit.groups.length; g++) assert.ok(fit.groups[g].value >= fit.groups[g - 1].value);
    const fitted = scores.reduce((sum, s) => sum + calibrate(fit, s), 0) / scores.length;
    const observed = outcomes.reduce((sum, o) => sum + o, 0) / outcomes.length;
    assert.ok(Math.abs(fitted - observed) < 1e-12, `${fitted} vs ${observed}`);
    // s² is the truth: the fit is within a few hundredths of it in the middle of the range.
    assert.ok(Math.abs(calibrate(fit, 0.5) - 0.25) < 0.06, `at 0.5: ${calibrate(fit, 0.5)}`);
  });

  it('refuses inputs it cannot fit, saying which', () => {
    assert.throws(() => isotonicCalibration([0.1, 0.2], [1]), /same length \(got 2 and 1\)/);
    assert.throws(() => isotonicCalibration([], []), /at least one labelled score/);
    assert.throws(() => isotonicCalibration([0.1, NaN], [1, 0]), /score 1 is not a finite number/);
  });
});

describe('histogram calibration (equal-mass bins)', () => {
  it('splits into equal-mass bins with each bin at its share of positives', () => {
    const scores = Array.from({ length: 100 }, (_, i) => i / 100);
    const outcomes = scores.map((s) => (s >= 0.5 ? 1 : 0));
    const fit = histogramCalibration(scores, outcomes, { bins: 4, minPerBin: 10 });
    assert.deepEqual(
      fit.groups.map((g) => [g.count, g.value]),
      [
        [25, 0],
        [25, 0],
        [25, 1],
        [25, 1],
      ],
    );
    assert.equal(calibrate(fit, 0.1), 0);
    assert.equal(calibrate(fit, 0.9), 1);
  });

  it('uses fewer bins when the data are few, and never splits a run of equal scores', () => {
    const fit = histogramCalibration([0.5, 0.5, 0.5, 0.5, 0.9, 0.9], [1, 0, 1, 0, 1, 1], {
      bins: 10,
      minPerBin: 2,
    });
    assert.deepEqual(
      fit.groups.map((g) => [g.low, g.high, g.count]),
      [
        [0.5, 0.5, 4],
        [0.9, 0.9, 2],
      ],
    );
    assert.throws(() => histogramCalibration([0.1], [1], { bins: 0 }), /bins must be a positive integer/);
  });
});

describe('group variance', () => {
  it('is Laplace-smoothed, so a small group whose outcomes agree is not exact', () => {
    const close = (actual: number, expected: number) =>
      assert.ok(Math.abs(actual - expected) < 1e-15, `${actual} vs ${expected}`);
    close(groupVariance({ low: 0, high: 1, count: 3, positives: 3, value: 1 }), (0.8 * 0.2) / 3);
    close(groupVariance({ low: 0, high: 1, count: 98, positives: 49, value: 0.5 }), 0.25 / 98);
  });
});
