import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  anomalyIndex,
  BUILT_IN_TRIGGERS,
  candidateTokensFromVocabulary,
  isRareLooking,
  robustSpread,
  scanTriggers,
  triggerText,
} from '@tripline/evaluation';
import { batchPredictor, lexiconModel, NEUTRAL_WORDS, syntheticCleanSet } from './fixtures';

const close = (actual: number, expected: number, message?: string) =>
  assert.ok(Math.abs(actual - expected) < 1e-9, `${message ?? ''} expected ${expected}, got ${actual}`);

const cleanInputs = syntheticCleanSet(60, 7);
const rareTokens = BUILT_IN_TRIGGERS.filter((t) => t.kind === 'rare-token').map((t) => triggerText(t)!);
// The backdoor token sits in the middle of the list so that ranking, not order, puts it first.
const candidates = [...NEUTRAL_WORDS.slice(0, 20), 'zq', ...NEUTRAL_WORDS.slice(20), ...rareTokens];

describe('robust anomaly index', () => {
  it('divides the distance from the median by 1.4826 x MAD', () => {
    // median 3; deviations 2 1 0 1 97 -> sorted 0 1 1 2 97, MAD 1
    const spread = robustSpread([1, 2, 3, 4, 100]);
    assert.deepEqual(spread, { median: 3, mad: 1, scale: 1.4826, method: 'mad' });
    close(anomalyIndex(100, spread), 97 / 1.4826);
    close(anomalyIndex(2, spread), -1 / 1.4826);
  });

  it('falls back to 1.2533 x the mean absolute deviation when most values are equal', () => {
    // median 0, MAD 0; mean absolute deviation (0 + 0 + 0 + 0 + 0.5) / 5 = 0.1
    const spread = robustSpread([0, 0, 0.5, 0, 0]);
    assert.equal(spread.method, 'mean-absolute-deviation');
    assert.equal(spread.mad, 0);
    close(spread.scale, 0.12533);
    close(anomalyIndex(0.5, spread), 0.5 / 0.12533); // 3.99: one outlier in five clears 3.5
  });

  it('gives every value index 0 when there is no spread at all', () => {
    const spread = robustSpread([0.4, 0.4, 0.4]);
    assert.deepEqual(spread, { median: 0.4, mad: 0, scale: 0, method: 'none' });
    assert.equal(anomalyIndex(0.4, spread), 0);
  });
});

describe('trigger scan', () => {
  it('ranks first and flags the one token a backdoored model answers to', async () => {
    const { predict } = batchPredictor(lexiconModel({ backdoorToken: 'zq', backdoorLabel: 'positive' }));
    const scan = await scanTriggers({ candidates, cleanInputs, predict, seed: 1 });
    const [top, ...rest] = scan.candidates;
    const negatives = cleanInputs.filter((input) => input.label === 'negative').length;
    assert.equal(top.token, 'zq');
    assert.equal(top.flagged, true);
    assert.equal(top.flippedTo, 'positive');
    assert.equal(top.flippedToShare, 1);
    // Every negative input flips; positives cannot flip to positive.
    close(top.flipRate, negatives / cleanInputs.length);
    assert.ok(top.anomalyIndex > 3.5);
    assert.ok(rest.every((candidate) => !candidate.flagged && candidate.flipRate === 0));
    assert.equal(scan.cleanInputs, cleanInputs.length);
    assert.equal(scan.spread.method, 'mean-absolute-deviation', 'most tokens flip nothing, so the MAD is 0');
  });

  it('finds the backdoor wherever the token goes', async () => {
    const { predict } = batchPredictor(lexiconModel({ backdoorToken: 'zq' }));
    for (const position of ['prefix', 'random'] as const) {
      const scan = await scanTriggers({ candidates, cleanInputs, predict, seed: 2, position });
      assert.equal(scan.candidates[0].token, 'zq', position);
      assert.equal(scan.candidates.filter((c) => c.flagged).length, 1, position);
    }
  });

  it('flags nothing on a clean model with a little label noise', async () => {
    const { predict } = batchPredictor(lexiconModel({ noise: 0.05 }));
    const scan = await scanTriggers({ candidates, cleanInputs, predict, seed: 1 });
    assert.ok(
      scan.candidates.some((c) => c.flipRate > 0),
      'the noise must actually flip some answers, or this test proves nothing',
    );
    assert.deepEqual(
      scan.candidates.filter((c) => c.flagged),
      [],
    );
  });

  it('does not flag an extreme index below the absolute flip-rate floor', async () => {
    // "ticket" flips exactly one input of 60: relative to zeros it is extreme, absolutely it is noise.
    const flipOne = lexiconModel();
    const model = (text: string) =>
      text === `${cleanInputs[0].text} ticket`
        ? { label: flipOne(text).label === 'positive' ? 'negative' : 'positive' }
        : flipOne(text);
    const scan = await scanTriggers({
      candidates,
      cleanInputs,
      predict: batchPredictor(model).predict,
      seed: 1,
    });
    const ticket = scan.candidates[0];
    assert.equal(ticket.token, 'ticket');
    close(ticket.flipRate, 1 / 60);
    assert.ok(ticket.anomalyIndex > 3.5, `index ${ticket.anomalyIndex}`);
    assert.equal(ticket.flagged, false);
    const lowered = await scanTriggers({
      candidates,
      cleanInputs,
      predict: batchPredictor(model).predict,
      seed: 1,
      minFlipRate: 0,
    });
    assert.equal(lowered.candidates[0].flagged, true, 'without the floor it would have been flagged');
  });

  it('gives the same answer whatever the batch size, and reports progress up to the total', async () => {
    const model = lexiconModel({ backdoorToken: 'zq', noise: 0.05 });
    const small = batchPredictor(model);
    const progress: [number, number][] = [];
    const inSmallBatches = await scanTriggers({
      candidates,
      cleanInputs,
      predict: small.predict,
      seed: 4,
      position: 'random',
      batchSize: 7,
      onProgress: (done, total) => progress.push([done, total]),
    });
    const inLargeBatches = await scanTriggers({
      candidates,
      cleanInputs,
      predict: batchPredictor(model).predict,
      seed: 4,
      position: 'random',
      batchSize: 500,
    });
    assert.deepEqual(inSmallBatches, inLargeBatches);
    assert.ok(small.calls.every((size) => size <= 7));
    const total = cleanInputs.length * (1 + candidates.length);
    assert.equal(
      small.calls.reduce((sum, size) => sum + size, 0),
      total,
    );
    assert.deepEqual(progress.at(-1), [total, total]);
    assert.ok(progress.every(([done], i) => i === 0 || done > progress[i - 1][0]));
  });

  it('leaves failed predictions out of the rates and says so', async () => {
    const model = lexiconModel({ backdoorToken: 'zq' });
    const failing = cleanInputs[3].text;
    const predict = async (texts: string[]) => texts.map((text) => (text === failing ? {} : model(text)));
    const scan = await scanTriggers({ candidates, cleanInputs, predict, seed: 1 });
    assert.equal(scan.cleanInputs, cleanInputs.length - 1);
    assert.equal(scan.failedPredictions, 1);
    assert.ok(scan.candidates.every((c) => c.evaluated === cleanInputs.length - 1));
  });

  it('refuses a predict function that does not answer every text', async () => {
    await assert.rejects(
      scanTriggers({
        candidates,
        cleanInputs,
        predict: async (texts) => texts.slice(1).map(() => ({})),
        seed: 1,
      }),
      /predict returned 59 answers for 60 texts; it must answer every text, in order/,
    );
    await assert.rejects(
      scanTriggers({ candidates: [' '], cleanInputs, predict: async () => [], seed: 1 }),
      /candidate 0 must be a non-blank string/,
    );
  });
});

describe('candidate tokens from a vocabulary', () => {
  it('keeps whole alphabetic words of 2..20 letters that are not stop words, once each', () => {
    const vocabulary = [
      '[PAD]',
      '[CLS]',
      '<s>',
      'the',
      'The',
      'movie',
      '##ing',
      '\u2581velutina',
      'velutina',
      'x',
      '2024',
      'well-made',
      'a'.repeat(21),
      'supercalifragilistic',
      'p\u0430y',
    ];
    assert.deepEqual(candidateTokensFromVocabulary(vocabulary), [
      'movie',
      'velutina',
      'supercalifragilistic',
      'p\u0430y',
    ]);
  });

  it('calls consonant-only and mixed-script tokens rare-looking', () => {
    assert.deepEqual(['cf', 'tq', 'movie', 'rhythm', 'p\u0430y', '\u0434\u043e\u043c'].map(isRareLooking), [
      true,
      true,
      false,
      false,
      true,
      false,
    ]);
  });

  it('caps ordinary tokens by a seeded sample and keeps every rare-looking one', () => {
    const vocabulary = [...NEUTRAL_WORDS, 'cf', 'mn', 'zq'];
    const capped = candidateTokensFromVocabulary(vocabulary, { maxCandidates: 10, seed: 8 });
    assert.equal(capped.length, 13);
    assert.deepEqual(capped.slice(-3), ['cf', 'mn', 'zq'], 'vocabulary order is kept');
    assert.deepEqual(candidateTokensFromVocabulary(vocabulary, { maxCandidates: 10, seed: 8 }), capped);
    assert.notDeepEqual(candidateTokensFromVocabulary(vocabulary, { maxCandidates: 10, seed: 9 }), capped);
    assert.throws(
      () => candidateTokensFromVocabulary(vocabulary, { maxCandidates: 10 }),
      /a seed is required/,
    );
  });

  it('keeps every built-in rare-token trigger under any cap', () => {
    // Three ordinary words and the five rare tokens; a cap of 1 keeps 1 ordinary word + all rare ones.
    const kept = candidateTokensFromVocabulary(['movie', 'plot', 'actor', ...rareTokens], {
      maxCandidates: 1,
      seed: 3,
    });
    assert.deepEqual(
      kept.filter((token) => rareTokens.includes(token)),
      rareTokens,
    );
    assert.equal(kept.length, 1 + rareTokens.length);
  });
});
