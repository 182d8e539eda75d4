import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { detectStreamDrift, STREAM_DETECTORS } from '@tripline/detectors';
import { traffic } from './fixtures';

describe('the stream detector suite', () => {
  const shape = { vocabulary: 5_000, feedbackShare: 0.5 };

  it('gives one result per metric, each testing at alpha divided among the detectors', () => {
    const results = detectStreamDrift(traffic(4_000, 71, shape), traffic(1_000, 72, shape), { alpha: 0.008 });
    assert.deepEqual(
      results.map((result) => result.metric),
      STREAM_DETECTORS.map((detector) => detector.metric),
    );
    assert.equal(new Set(results.map((result) => result.metric)).size, 8);
    for (const result of results.filter((r) => r.verdict !== 'insufficient-data')) {
      assert.equal(result.details.alpha, 0.001);
      assert.equal(result.details.family_alpha, 0.008);
    }
  });

  it('raises no drift verdict over 30 stationary windows at alpha = 0.001', () => {
    const reference = traffic(8_000, 73, shape);
    for (let window = 0; window < 30; window++) {
      const results = detectStreamDrift(reference, traffic(500, 1_000 + window, shape), { alpha: 0.001 });
      const drifting = results.filter((result) => result.verdict === 'drift').map((result) => result.metric);
      assert.deepEqual(drifting, [], `window ${window}`);
      // The constructed traffic carries no per-class scores, so the macro-F1 estimate has no data.
      assert.ok(
        results.every((result) =>
          result.metric === 'estimated_macro_f1'
            ? result.verdict === 'insufficient-data'
            : result.verdict === 'ok',
        ),
      );
    }
  });

  it('passes the minimum sample size to every detector', () => {
    const results = detectStreamDrift(traffic(4_000, 74, shape), traffic(150, 75, shape), {
      minSamples: 200,
    });
    assert.ok(results.every((result) => result.verdict === 'insufficient-data' && result.p_value === null));
  });
});
