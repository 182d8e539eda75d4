import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { predictionDrift } from '@tripline/detectors';
import { traffic } from './fixtures';

describe('prediction-distribution drift', () => {
  const reference = traffic(5_000, 1);

  it('finds no drift between two samples of the same label mix', () => {
    const result = predictionDrift(reference, traffic(1_000, 2), { alpha: 0.001 });
    assert.equal(result.metric, 'prediction_distribution');
    assert.equal(result.detector, 'chi-square');
    assert.equal(result.verdict, 'ok');
    assert.ok(result.p_value! > 0.001);
    assert.ok(result.effect_size! < 0.03, `JS distance ${result.effect_size}`);
    assert.equal(result.sample_size, 1_000);
    assert.equal(result.reference_size, 5_000);
  });

  it('flags a shift from 50% to 65% positive predictions, with the JS distance as effect size', () => {
    const result = predictionDrift(reference, traffic(1_000, 3, { positiveShare: 0.65 }), { alpha: 0.001 });
    assert.equal(result.verdict, 'drift');
    assert.ok(result.p_value! < 1e-10);
    assert.ok(result.effect_size! > 0.08 && result.effect_size! < 0.15, `JS distance ${result.effect_size}`);
    assert.equal(result.details.yates_correction, true);
    const shares = result.details.current_shares as Record<string, number>;
    assert.ok(Math.abs(shares.positive - 0.65) < 0.03);
  });

  it('flags a label the reference never produced', () => {
    const current = traffic(1_000, 4).map((event, i) =>
      i % 10 === 0 ? { ...event, label: 'neutral' } : event,
    );
    const result = predictionDrift(reference, current, { alpha: 0.001 });
    assert.equal(result.verdict, 'drift');
    assert.equal(result.details.degrees_of_freedom, 2);
    assert.equal((result.details.reference_shares as Record<string, number>).neutral, 0);
  });

  it('gives no verdict and no p-value below the minimum sample size, and says why', () => {
    const result = predictionDrift(reference, traffic(150, 5, { positiveShare: 1 }), { minSamples: 200 });
    assert.equal(result.verdict, 'insufficient-data');
    assert.equal(result.p_value, null);
    assert.equal(result.statistic, null);
    assert.equal(result.sample_size, 150);
    assert.match(String(result.details.reason), /current window has 150 events; at least 200 are needed/);
  });
});
