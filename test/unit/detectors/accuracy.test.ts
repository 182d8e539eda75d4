import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { accuracyDrift } from '@tripline/detectors';
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
