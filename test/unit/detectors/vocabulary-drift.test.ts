import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { outOfVocabularyDrift } from '@tripline/detectors';
import { traffic } from './fixtures';

describe('out-of-vocabulary drift', () => {
  // 5,000 words under a Zipf-like draw: the rarest are missing from any one sample, which leaves a
  // natural out-of-vocabulary baseline (about 8% of inputs) that the test must not mistake for drift.
  const shape = { vocabulary: 5_000 };
  const reference = traffic(6_000, 31, shape);

  it('finds none for new text of the same kind, though that text has unknown words too', () => {
    const result = outOfVocabularyDrift(reference, traffic(1_000, 32, shape), { alpha: 0.001 });
    assert.equal(result.metric, 'input_oov_rate');
    assert.equal(result.detector, 'fisher-exact');
    assert.equal(result.verdict, 'ok');
    assert.ok((result.details.reference_share as number) > 0.05, 'the held-out half has unknown words');
    assert.ok(result.statistic! > 0.05, 'so does the current window');
    assert.equal(result.reference_size, 3_000);
  });

  it('flags a window where a fifth of the inputs come from another vocabulary, and names the new words', () => {
    const current = [
      ...traffic(800, 33, shape),
      ...traffic(200, 34, { vocabulary: 20, wordPrefix: 'novel', words: [2, 3] }),
    ];
    const result = outOfVocabularyDrift(reference, current, { alpha: 0.001 });
    assert.equal(result.verdict, 'drift');
    assert.ok(result.effect_size! > 0.15, `difference ${result.effect_size}`);
    const listed = (result.details.new_tokens as { token: string }[]).map((entry) => entry.token);
    assert.ok(
      listed.slice(0, 3).every((token) => token.startsWith('novel')),
      listed.join(' '),
    );
  });

  it('needs the minimum in the half of the reference held out from the vocabulary', () => {
    const result = outOfVocabularyDrift(traffic(300, 35, shape), traffic(1_000, 36, shape), {
      minSamples: 200,
    });
    assert.equal(result.verdict, 'insufficient-data');
    assert.equal(result.reference_size, 150);
    assert.match(
      String(result.details.reason),
      /reference has 150 events \(for the reference: in the half held out/,
    );
  });
});
