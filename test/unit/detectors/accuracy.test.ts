import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { accuracyDrift, estimatedAccuracy } from '@tripline/detectors';
import { traffic } from './fixtures';

describe('accuracy drift on events with feedback', () => {
  const reference = traffic(4_000, 41, { feedbackShare: 0.5, accuracy: 0.9 });

  it('finds none when accuracy holds', () => {
    const result = accuracyDrift(reference, traffic(1_000, 42, { feedbackShare: 0.5, accuracy: 0.9 }));
    assert.equal(result.metric, 'accuracy');
    assert.equal(result.verdict, 'ok');
    assert.ok(Math.abs(result.statistic! - 0.9) < 0.04);
  });

  it('flags accuracy falling from 0.90 to 0.75', () => {
    const result = accuracyDrift(reference, traffic(1_000, 43, { feedbackShare: 0.5, accuracy: 0.75 }));
    assert.equal(result.verdict, 'drift');
    assert.ok(result.effect_size! < -0.1, `difference ${result.effect_size}`);
    assert.ok(result.sample_size > 400 && result.sample_size < 600, 'only labelled events count');
  });

  it('gives no verdict while too little feedback has arrived, whatever the window size', () => {
    const result = accuracyDrift(reference, traffic(5_000, 44, { feedbackShare: 0.02, accuracy: 0.2 }));
    assert.equal(result.verdict, 'insufficient-data');
    assert.equal(result.p_value, null);
    assert.match(String(result.details.reason), /events with feedback; at least 200 are needed/);
  });
});

describe('estimated accuracy from confidence', () => {
  it('tracks the true accuracy of a calibrated model, and finds no drift when nothing changed', () => {
    const calibrated = { feedbackShare: 1, accuracy: 'calibrated' as const };
    const reference = traffic(5_000, 51, calibrated);
    const current = traffic(1_000, 52, calibrated);
    const result = estimatedAccuracy(reference, current);
    const truth = current.filter((event) => event.correct).length / current.length;
    assert.equal(result.metric, 'estimated_accuracy');
    assert.equal(result.detector, 'mean-confidence');
    assert.equal(result.verdict, 'ok');
    assert.ok(Math.abs(result.statistic! - truth) < 0.03, `estimate ${result.statistic} vs ${truth}`);
  });

  it('corrects an overconfident model by the calibration gap measured on the reference feedback', () => {
    // Right 70% of the time while claiming 80% on average.
    const reference = traffic(5_000, 53, { feedbackShare: 0.5, accuracy: 0.7 });
    const result = estimatedAccuracy(reference, traffic(1_000, 54));
    assert.ok(Math.abs((result.details.calibration_gap as number) + 0.1) < 0.02);
    assert.ok(Math.abs(result.statistic! - 0.7) < 0.02, `estimate ${result.statistic}`);
    assert.match(String(result.details.assumption), /calibration gap/);
  });

  it('states the plain calibration assumption when the reference has no feedback', () => {
    const result = estimatedAccuracy(traffic(5_000, 55), traffic(1_000, 56));
    assert.match(
      String(result.details.assumption),
      /calibrated: among answers given with confidence c, a share c is right/,
    );
    assert.ok(Math.abs(result.statistic! - 0.8) < 0.02);
  });

  it('flags a drop in the estimate when the model grows less sure', () => {
    const current = traffic(1_000, 57, { confidence: (random) => 0.5 + 0.4 * random.next() });
    const result = estimatedAccuracy(traffic(5_000, 58), current, { alpha: 0.001 });
    assert.equal(result.verdict, 'drift');
    assert.ok(result.effect_size! < -0.08);
  });

  it('gives no verdict below the minimum', () => {
    const result = estimatedAccuracy(traffic(5_000, 59), traffic(100, 60));
    assert.equal(result.verdict, 'insufficient-data');
    assert.equal(result.statistic, null);
  });
});
