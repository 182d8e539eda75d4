import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigurationError, parseEnvironment } from '@tripline/config';
import {
  lastCompletedWindow,
  nextEvaluationAt,
  referenceFor,
  windowGraceMs,
} from '@tripline/stream-detection';

describe('stream-detector windows', () => {
  const fiveMinutes = 300_000;
  const at = Date.UTC(2026, 10, 24, 10, 7, 12);

  it('evaluates the last clock-aligned window that ended at least a grace period ago', () => {
    assert.equal(windowGraceMs(fiveMinutes), 30_000);
    assert.deepEqual(lastCompletedWindow(at, fiveMinutes), {
      from: Date.UTC(2026, 10, 24, 10, 0),
      to: Date.UTC(2026, 10, 24, 10, 5),
    });
    // 20 seconds after 10:05 the window ending at 10:05 is still within its grace.
    assert.deepEqual(lastCompletedWindow(Date.UTC(2026, 10, 24, 10, 5, 20), fiveMinutes), {
      from: Date.UTC(2026, 10, 24, 9, 55),
      to: Date.UTC(2026, 10, 24, 10, 0),
    });
    const window = lastCompletedWindow(at, fiveMinutes);
    assert.equal(nextEvaluationAt(window, fiveMinutes), Date.UTC(2026, 10, 24, 10, 10, 30));
  });

  it('bounds the grace between one second and one minute', () => {
    assert.equal(windowGraceMs(2_000), 1_000);
    assert.equal(windowGraceMs(3_600_000), 60_000);
  });

  it('takes the span before the window as reference, unless a period is pinned', () => {
    const window = { from: 1_000_000, to: 1_300_000 };
    assert.deepEqual(referenceFor(window, 86_400_000), { from: 1_000_000 - 86_400_000, to: 1_000_000 });
    assert.deepEqual(referenceFor(window, 86_400_000, { from: 5, to: 10 }), { from: 5, to: 10 });
  });
});

describe('stream-detector configuration', () => {
  it('defaults to five-minute windows, a day of reference, 200 samples and alpha 0.001', () => {
    const environment = parseEnvironment({});
    assert.equal(environment.DRIFT_WINDOW_SECONDS, 300);
    assert.equal(environment.DRIFT_REFERENCE_SECONDS, 86_400);
    assert.equal(environment.DRIFT_REFERENCE_PERIOD, undefined);
    assert.equal(environment.DRIFT_MIN_SAMPLES, 200);
    assert.equal(environment.DRIFT_ALPHA, 0.001);
  });

  it('parses a pinned reference period', () => {
    const environment = parseEnvironment({
      DRIFT_REFERENCE_PERIOD: '2026-03-01T00:00:00Z/2026-03-02T00:00:00Z',
    });
    assert.deepEqual(environment.DRIFT_REFERENCE_PERIOD, {
      from: Date.UTC(2026, 2, 1),
      to: Date.UTC(2026, 2, 2),
    });
  });

  it('defaults the per-feature drift settings and reads per-model feature types', () => {
    const defaults = parseEnvironment({});
    assert.equal(defaults.DRIFT_FEATURE_FDR, 0.01);
    assert.equal(defaults.DRIFT_DATASET_SHARE, 0.5);
    assert.equal(defaults.DRIFT_MAX_FEATURES, 200);
    assert.equal(defaults.DRIFT_FEATURE_SAMPLE, 10_000);
    assert.equal(defaults.DRIFT_FEATURE_TYPES, undefined);
    const environment = parseEnvironment({ DRIFT_FEATURE_TYPES: '{"credit": {"zip": "categorical"}}' });
    assert.deepEqual(environment.DRIFT_FEATURE_TYPES, { credit: { zip: 'categorical' } });
    assert.throws(
      () => parseEnvironment({ DRIFT_FEATURE_TYPES: '{"credit": {"zip": "text"}}' }),
      /DRIFT_FEATURE_TYPES: expected JSON \{"<model_id>": \{"<feature>": "numeric" \| "categorical"\}\}/,
    );
  });

  it('names each bad value and what it expects', () => {
    assert.throws(
      () =>
        parseEnvironment({
          DRIFT_ALPHA: '5%',
          DRIFT_REFERENCE_PERIOD: '2026-03-02T00:00:00Z/2026-03-01T00:00:00Z',
          DRIFT_WINDOW_SECONDS: '0',
        }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigurationError);
        assert.match(error.message, /DRIFT_ALPHA: .* \(got "5%"\)/);
        assert.match(
          error.message,
          /DRIFT_REFERENCE_PERIOD: expected an RFC 3339 interval "start\/end" with start before end/,
        );
        assert.match(error.message, /DRIFT_WINDOW_SECONDS: expected seconds >= 1 \(got "0"\)/);
        return true;
      },
    );
  });
});
