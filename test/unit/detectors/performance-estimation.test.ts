import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { estimatedAccuracy, estimatedMacroF1 } from '@tripline/detectors';
import type { Random } from '@tripline/drift';
import { classifierTraffic, traffic } from './fixtures';

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
const interval = (details: Record<string, unknown>) => details.interval as [number, number];
const covers = (details: Record<string, unknown>, truth: number) =>
  interval(details)[0] <= truth && truth <= interval(details)[1];

/** Stated tolerance of the estimates under covariate shift, with 2,000-event windows. */
const TOLERANCE = 0.03;

// Reference: x ~ N(0, 1.5²), every event labelled. The model is overconfident (σ(3x) for a truth of σ(2x)).
const reference = classifierTraffic(5_000, 1, { input: (r) => ({ x: 1.5 * r.normal() }) });
// Covariate shift: inputs crowd the decision boundary, P(label | x) unchanged, no feedback.
const nearBoundary = (r: Random) => ({ x: 0.3 + 0.6 * r.normal() });

describe('CBPE: estimated accuracy', () => {
  it('estimates the accuracy of a window without labels after a covariate shift, and its interval covers the truth', (t) => {
    const current = classifierTraffic(2_000, 2, { input: nearBoundary, feedbackShare: 0 });
    const result = estimatedAccuracy(reference.events, current.events);
    t.diagnostic(
      `reference accuracy ${reference.accuracy.toFixed(4)}; shifted window: truth ${current.accuracy.toFixed(4)}, ` +
        `estimate ${result.statistic!.toFixed(4)}, interval ${interval(result.details)
          .map((v) => v.toFixed(4))
          .join('–')}, ` +
        `mean confidence ${String(result.details.current_mean_confidence)}`,
    );
    assert.equal(result.metric, 'estimated_accuracy');
    assert.equal(result.detector, 'cbpe');
    assert.ok(
      Math.abs(result.statistic! - current.accuracy) <= TOLERANCE,
      `estimate ${result.statistic} vs truth ${current.accuracy}`,
    );
    assert.ok(
      covers(result.details, current.accuracy),
      `interval ${interval(result.details)} misses ${current.accuracy}`,
    );
    // The uncalibrated mean confidence is off by more than the tolerance: the calibration makes the estimate right.
    assert.ok((result.details.current_mean_confidence as number) - current.accuracy > TOLERANCE);
    assert.equal(result.verdict, 'drift', 'a fall of more than the margin, significant');
    assert.ok(result.effect_size! < -0.05);
    assert.equal(result.details.validity, 'valid');
  });

  it('covers the truth in most of 40 windows at the stated 95% (each of a different shift)', (t) => {
    let covered = 0;
    let worst = 0;
    for (let w = 0; w < 40; w++) {
      const centre = -0.5 + w / 40;
      const spread = 0.5 + (w % 5) * 0.3;
      const current = classifierTraffic(2_000, 100 + w, {
        input: (r) => ({ x: centre + spread * r.normal() }),
        feedbackShare: 0,
      });
      const result = estimatedAccuracy(reference.events, current.events);
      if (covers(result.details, current.accuracy)) covered++;
      worst = Math.max(worst, Math.abs(result.statistic! - current.accuracy));
    }
    t.diagnostic(`covered ${covered} of 40; largest error ${worst.toFixed(4)}`);
    assert.ok(covered >= 34, `the 95% interval covered the truth in ${covered} of 40 windows`);
    assert.ok(worst <= TOLERANCE, `largest error ${worst}`);
  });

  it('finds no drift in a window like the reference', () => {
    const current = classifierTraffic(2_000, 3, {
      input: (r) => ({ x: 1.5 * r.normal() }),
      feedbackShare: 0,
    });
    const result = estimatedAccuracy(reference.events, current.events);
    assert.equal(result.verdict, 'ok');
    assert.ok(Math.abs(result.statistic! - current.accuracy) <= TOLERANCE);
  });

  it('histogram calibration gives the same answer within the tolerance', () => {
    const current = classifierTraffic(2_000, 2, { input: nearBoundary, feedbackShare: 0 });
    const result = estimatedAccuracy(reference.events, current.events, { calibration: 'histogram' });
    assert.equal(result.details.calibration, 'histogram');
    assert.ok(Math.abs(result.statistic! - current.accuracy) <= TOLERANCE, `estimate ${result.statistic}`);
  });

  it('says there is no calibration data when the reference has no feedback, and gives no estimate', () => {
    const result = estimatedAccuracy(traffic(5_000, 55), traffic(1_000, 56));
    assert.equal(result.verdict, 'insufficient-data');
    assert.equal(result.statistic, null);
    assert.equal(result.details.validity, 'no-calibration-data');
    assert.match(String(result.details.reason), /^no calibration data: the reference has 0 events/);
  });

  it('gives no verdict below the minimum', () => {
    const current = classifierTraffic(100, 4, { feedbackShare: 0 });
    const result = estimatedAccuracy(reference.events, current.events);
    assert.equal(result.verdict, 'insufficient-data');
    assert.match(String(result.details.reason), /the current window has 100 events/);
  });
});

describe('CBPE: estimated macro-F1', () => {
  it('estimates macro-F1 after a covariate shift within the tolerance, its interval covering the truth', (t) => {
    const current = classifierTraffic(2_000, 2, { input: nearBoundary, feedbackShare: 0 });
    const result = estimatedMacroF1(reference.events, current.events);
    t.diagnostic(
      `reference macro-F1 ${reference.macroF1.toFixed(4)}; shifted: truth ${current.macroF1.toFixed(4)}, ` +
        `estimate ${result.statistic!.toFixed(4)}, interval ${interval(result.details)
          .map((v) => v.toFixed(4))
          .join('–')}`,
    );
    assert.equal(result.metric, 'estimated_macro_f1');
    assert.ok(
      Math.abs(result.statistic! - current.macroF1) <= TOLERANCE,
      `estimate ${result.statistic} vs ${current.macroF1}`,
    );
    assert.ok(covers(result.details, current.macroF1));
    assert.deepEqual(result.details.classes, ['neg', 'pos']);
    assert.equal(result.verdict, 'drift');
  });

  it('is reproducible from its seed', () => {
    const current = classifierTraffic(1_000, 5, { input: nearBoundary, feedbackShare: 0 });
    assert.deepEqual(
      estimatedMacroF1(reference.events, current.events),
      estimatedMacroF1(reference.events, current.events),
    );
  });

  it('needs scores for every class', () => {
    const result = estimatedMacroF1(traffic(5_000, 57, { feedbackShare: 1 }), traffic(1_000, 58));
    assert.equal(result.verdict, 'insufficient-data');
    assert.match(String(result.details.reason), /events with scores for every class/);
  });
});

/**
 * Label shift: the class mix changes while each class's inputs stay as they were (P(x | y) fixed),
 * so P(y | x) — what the calibration learnt — changes. Classes: x | pos ~ N(1, 1), x | neg ~ N(−1, 2²);
 * the model is the exact posterior at a 50/50 mix, so it is perfectly calibrated on the reference.
 */
describe('CBPE under label shift: what it cannot see', () => {
  const logit = (x: number) => -((x - 1) ** 2) / 2 + (x + 1) ** 2 / 8 + Math.log(2);
  const mix = (positives: number) => (r: Random) =>
    r.next() < positives
      ? { x: 1 + r.normal(), truth: 'pos' as const }
      : { x: -1 + 2 * r.normal(), truth: 'neg' as const };
  const shape = (positives: number, feedbackShare: number) => ({
    input: mix(positives),
    score: (x: number) => sigmoid(logit(x)),
    feedbackShare,
  });
  const balanced = classifierTraffic(5_000, 11, shape(0.5, 1));

  it('misses the change in accuracy when positives go from 50% to 90%, and the feedback check catches it', (t) => {
    const shifted = classifierTraffic(4_000, 12, shape(0.9, 0.1));
    const result = estimatedAccuracy(balanced.events, shifted.events);
    const error = result.statistic! - shifted.accuracy;
    t.diagnostic(
      `label shift 50% → 90% positives: reference accuracy ${balanced.accuracy.toFixed(4)}, truth ${shifted.accuracy.toFixed(4)}, ` +
        `estimate ${result.statistic!.toFixed(4)} (error ${error.toFixed(4)}), interval ${interval(
          result.details,
        )
          .map((v) => v.toFixed(4))
          .join('–')}; ` +
        `feedback on ${String(result.details.feedback_events)} events: ${String(result.details.feedback_accuracy)} vs expected ${String(result.details.feedback_expected_accuracy)}`,
    );
    assert.ok(
      Math.abs(error) > TOLERANCE,
      `the estimate is off by ${error}: outside the tolerance it keeps under covariate shift`,
    );
    assert.ok(!covers(result.details, shifted.accuracy), 'and its interval does not know it');
    assert.equal(result.details.validity, 'contradicted-by-feedback');
    assert.match(String((result.details.warnings as string[])[0]), /the reference calibration does not hold/);
  });

  it('without any feedback in the window the same estimate stands as valid: nothing in the scores reveals it', () => {
    const shifted = classifierTraffic(4_000, 12, shape(0.9, 0));
    const result = estimatedAccuracy(balanced.events, shifted.events);
    assert.ok(Math.abs(result.statistic! - shifted.accuracy) > TOLERANCE);
    assert.equal(result.details.validity, 'valid');
    assert.match(String(result.details.feedback_check), /^not run: 0 events/);
  });
});
