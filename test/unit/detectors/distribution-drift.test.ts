import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { confidenceDrift, textLengthDrift } from '@tripline/detectors';
import { traffic } from './fixtures';

describe('confidence drift (KS, PSI effect)', () => {
  const reference = traffic(5_000, 11);

  it('finds none between samples of one confidence distribution', () => {
    const result = confidenceDrift(reference, traffic(1_000, 12), { alpha: 0.001 });
    assert.equal(result.metric, 'confidence');
    assert.equal(result.detector, 'ks');
    assert.equal(result.verdict, 'ok');
    assert.ok(result.effect_size! < 0.1, `PSI ${result.effect_size}`);
  });

  it('flags a model growing less sure, and says which way the values moved', () => {
    const current = traffic(1_000, 13, { confidence: (random) => 0.5 + 0.4 * random.next() });
    const result = confidenceDrift(reference, current, { alpha: 0.001 });
    assert.equal(result.verdict, 'drift');
    assert.ok(result.statistic! > 0.2, `D ${result.statistic}`);
    assert.equal(result.details.shifted, 'lower');
    assert.ok(result.effect_size! > 0.25, `PSI ${result.effect_size}`);
    assert.equal((result.details.psi_edges as number[]).length, 9);
  });

  it('leaves out events without scores, and gives no verdict when none has one', () => {
    const current = traffic(1_000, 14, { confidence: () => null });
    const result = confidenceDrift(reference, current);
    assert.equal(result.verdict, 'insufficient-data');
    assert.equal(result.sample_size, 0);
    assert.match(String(result.details.reason), /0 events with a confidence/);
  });
});

describe('input text-length drift', () => {
  const reference = traffic(5_000, 21);

  it('finds none between samples of one length distribution', () => {
    assert.equal(textLengthDrift(reference, traffic(1_000, 22), { alpha: 0.001 }).verdict, 'ok');
  });

  it('flags texts that grew by a third', () => {
    const result = textLengthDrift(reference, traffic(1_000, 23, { words: [9, 18] }), { alpha: 0.001 });
    assert.equal(result.metric, 'input_text_length');
    assert.equal(result.verdict, 'drift');
    assert.equal(result.details.shifted, 'higher');
    const summary = result.details.current as { mean: number };
    assert.ok(summary.mean > (result.details.reference as { mean: number }).mean);
  });

  it('measures the whole text when only its beginning was kept for tokenising', () => {
    const cut = traffic(1_000, 24).map((event) => ({
      ...event,
      textLength: 4_000,
      text: event.text.slice(0, 50),
    }));
    const result = textLengthDrift(reference, cut);
    assert.equal((result.details.current as { p50: number }).p50, 4_000);
    assert.equal(result.verdict, 'drift');
  });

  it('gives no verdict on a reference below the minimum', () => {
    const result = textLengthDrift(traffic(199, 25), traffic(1_000, 26), { minSamples: 200 });
    assert.equal(result.verdict, 'insufficient-data');
    assert.equal(result.p_value, null);
    assert.match(String(result.details.reason), /the reference has 199 events/);
  });
});
