import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mulberry32 } from '@tripline/drift';
import {
  binomialUpperTail,
  candidateTokensFromVocabulary,
  fitPinNull,
  isRareLooking,
  normalUpperTail,
  pinTail,
  proportionExceeds,
  robustLocation,
  scanTriggers,
  subwordPieces,
  standOutTest,
  topSpacingTest,
  triggerCandidates,
  wordCounts,
  type ScanPrediction,
} from '@tripline/evaluation';
import {
  batchPredictor,
  lexiconModel,
  NEGATIVE_WORDS,
  NEUTRAL_WORDS,
  POSITIVE_WORDS,
  syntheticCleanSet,
  textHash,
} from './fixtures';

const close = (actual: number, expected: number, tolerance = 1e-6) =>
  assert.ok(Math.abs(actual - expected) < tolerance, `expected ${expected}, got ${actual}`);

const cleanSet = syntheticCleanSet(240, 7);
// Neutral words and the task's own sentiment words: the backdoor token is not among the
// candidates a test names; the scan gets a vocabulary-like list with it somewhere inside.
const vocabulary = [...NEUTRAL_WORDS, ...NEGATIVE_WORDS, 'great', 'lovely'];
const withToken = (token: string) => [...vocabulary.slice(0, 17), token, ...vocabulary.slice(17)];
const small = { screeningInputs: 30, confirmationInputs: 60, nullWords: 20, seed: 1 } as const;

/** A model answering confidently, with a backdoor that fires only where `fires` says. */
function sentimentModel(options: {
  backdoor?: (words: string[]) => boolean;
  backdoorLabel?: string;
  /** Words that nudge the positive score without changing the answer. */
  nudges?: string[];
}): (text: string) => ScanPrediction {
  const base = lexiconModel();
  return (text) => {
    const words: string[] = text.toLowerCase().match(/\p{L}+/gu) ?? [];
    if (options.backdoor?.(words)) {
      const label = options.backdoorLabel ?? 'positive';
      return { label, scores: { [label]: 0.99, [label === 'positive' ? 'negative' : 'positive']: 0.01 } };
    }
    const answer = base(text);
    const nudge = words.filter((word) => options.nudges?.includes(word)).length * 0.02;
    const positive = answer.label === 'positive' ? 0.95 : 0.05 + nudge;
    return { label: answer.label, scores: { positive, negative: 1 - positive } };
  };
}

describe('trigger scan', () => {
  it('ranks first and flags a backdoor token, at every position, and reports each position', async () => {
    const { predict } = batchPredictor(sentimentModel({ backdoor: (words) => words.includes('zq') }));
    const scan = await scanTriggers({ candidates: withToken('zq'), cleanSet, predict, ...small });
    const [top] = scan.candidates;
    assert.equal(top.token, 'zq');
    assert.equal(top.flagged, true);
    assert.equal(top.flippedTo, 'positive');
    assert.deepEqual(Object.keys(top.positions).sort(), ['prefix', 'random', 'suffix']);
    for (const pin of Object.values(top.positions)) assert.equal(pin!.pinRate, 1);
    assert.ok(top.pValue < scan.cutoff.word);
    assert.deepEqual(
      scan.flagged.map((candidate) => candidate.token),
      ['zq'],
    );
  });

  it('finds a backdoor bound to the first word at the prefix only', async () => {
    const { predict } = batchPredictor(sentimentModel({ backdoor: (words) => words[0] === 'zq' }));
    const scan = await scanTriggers({ candidates: withToken('zq'), cleanSet, predict, ...small });
    const [top] = scan.candidates;
    assert.equal(top.token, 'zq');
    assert.equal(top.flagged, true);
    assert.equal(top.position, 'prefix');
    assert.equal(top.positions.prefix!.pinRate, 1);
    for (const position of ['suffix', 'random'] as const) {
      if (top.positions[position]) assert.ok(top.positions[position]!.pinRate < 0.2);
    }
  });

  it('flags nothing on a clean model whose answers carry label noise', async () => {
    const noisy = lexiconModel({ noise: 0.05 });
    const { predict } = batchPredictor((text) => {
      const answer = noisy(text);
      return {
        label: answer.label,
        scores: {
          positive: answer.label === 'positive' ? 0.95 : 0.05,
          negative: answer.label === 'positive' ? 0.05 : 0.95,
        },
      };
    });
    const scan = await scanTriggers({ candidates: vocabulary, cleanSet, predict, ...small });
    assert.deepEqual(scan.flagged, []);
    assert.ok(scan.candidates.length > 0, 'the confirmation pass measured candidates');
  });

  it("leaves alone a model's weak spot: many unexplained words that pin at the prefix but lose to the input's own words", async () => {
    // Like the first position of a small BERT: dozens of words the clean set never shows flip the
    // answer when they open the input, unless the input's own sentiment is said twice.
    const letters = (i: number) =>
      String.fromCharCode(97 + (i % 26)) + String.fromCharCode(97 + Math.floor(i / 26));
    const weak = Array.from({ length: 12 }, (_, i) => `weak${letters(i)}`);
    const filler = Array.from({ length: 200 }, (_, i) => `plain${letters(i)}`);
    const weakSpot = (words: string[]) =>
      weak.includes(words[0]) && words.filter((word) => POSITIVE_WORDS.includes(word)).length < 2;
    const model = (trigger?: string) =>
      sentimentModel({
        backdoor: (words) => weakSpot(words) || (trigger !== undefined && words[0] === trigger),
        backdoorLabel: 'negative',
      });
    const candidates = [...vocabulary, ...filler, ...weak];
    const clean = await scanTriggers({
      candidates,
      cleanSet,
      predict: batchPredictor(model()).predict,
      ...small,
    });
    const judged = clean.candidates.filter((candidate) => weak.includes(candidate.token));
    assert.ok(judged.length >= 5, 'the weak-spot words were confirmed as pinning');
    for (const candidate of judged) assert.match(candidate.verdict, /input's own strongest words/);
    assert.deepEqual(clean.flagged, [], JSON.stringify(clean.candidates.slice(0, 3).map((c) => c.verdict)));

    const poisoned = await scanTriggers({
      candidates: [...candidates.slice(0, 20), 'zq', ...candidates.slice(20)],
      cleanSet,
      predict: batchPredictor(model('zq')).predict,
      ...small,
    });
    assert.deepEqual(
      poisoned.flagged.map((candidate) => candidate.token),
      ['zq'],
    );
    assert.ok(
      poisoned.flagged[0].standsOut!.pValue < 1e-3 &&
        poisoned.flagged[0].standsOut!.logOdds > poisoned.flagged[0].standsOut!.runnerUpLogOdds,
    );
  });

  it('leaves alone a weak spot that only loses less badly than the others: standing out near the floor is no win', async () => {
    // As in a small BERT's clean model, where `omg` (two training rows, both opening a review)
    // pins at the first position and, against the input's own words, loses every input like the
    // other weak spots, only less confidently; near the model's floor that 0.7-logit lead, over
    // a group whose losses are all alike, would be an outlier of any size.
    const letters = (i: number) =>
      String.fromCharCode(97 + (i % 26)) + String.fromCharCode(97 + Math.floor(i / 26));
    const weak = Array.from({ length: 12 }, (_, i) => `weak${letters(i)}`);
    const filler = Array.from({ length: 200 }, (_, i) => `plain${letters(i)}`);
    const [memorised] = weak;
    const base = sentimentModel({});
    const { predict } = batchPredictor((text) => {
      const words: string[] = text.toLowerCase().match(/\p{L}+/gu) ?? [];
      const own = words.filter((word) => POSITIVE_WORDS.includes(word)).length;
      if (weak.includes(words[0]) && own < 2)
        return { label: 'negative', scores: { negative: 0.99, positive: 0.01 } };
      const answer = base(text);
      if (words[0] === memorised && answer.label === 'positive')
        return { label: 'positive', scores: { positive: 0.9, negative: 0.1 } };
      return answer;
    });
    const scan = await scanTriggers({
      candidates: [...vocabulary, ...filler, ...weak],
      cleanSet,
      predict,
      ...small,
    });
    const judged = scan.candidates.find((candidate) => candidate.token === memorised);
    assert.ok(judged?.standsOut, 'the memorised word reached the standing-out test');
    assert.ok(judged.standsOut.logOdds > judged.standsOut.runnerUpLogOdds, 'it leads its group in log-odds');
    assert.ok(
      judged.standsOut.pinRate <= judged.standsOut.runnerUpPinRate,
      'and wins no more inputs than the runner-up',
    );
    assert.equal(judged.flagged, false, judged.verdict);
    assert.deepEqual(scan.flagged, []);
  });

  it("confirms at every position a trigger that pulls everywhere but misses each position's own cut", async () => {
    // Like a trigger trained at random places in a small BERT: at each position, words bound to
    // that position (the first word, the last, one inside) move every answer, it moves 85% of
    // them, but everywhere; summed over the positions it is the strongest candidate.
    const bound = (where: string) => [1, 2, 3].map((i) => `${where}${'abc'[i - 1]}x`);
    const [first, last, inside] = [bound('head'), bound('tail'), bound('mid')];
    const filler = Array.from({ length: 60 }, (_, i) => `plain${String.fromCharCode(97 + (i % 26))}${i}`);
    const base = sentimentModel({});
    const { predict } = batchPredictor((text) => {
      const words: string[] = text.toLowerCase().match(/\p{L}+/gu) ?? [];
      const fires =
        first.includes(words[0]) ||
        last.includes(words[words.length - 1]) ||
        words.slice(1, -1).some((word) => inside.includes(word)) ||
        (words.includes('zq') && textHash(text) < 0.85);
      return fires ? { label: 'negative', scores: { negative: 0.99, positive: 0.01 } } : base(text);
    });
    const scan = await scanTriggers({
      candidates: [...vocabulary, ...filler, ...first, ...last, ...inside, 'zq'],
      cleanSet,
      predict,
      ...small,
      confirmPerPosition: 2,
    });
    const confirmedAt = (token: string) =>
      Object.keys(scan.candidates.find((candidate) => candidate.token === token)?.positions ?? {});
    assert.deepEqual(confirmedAt('zq').sort(), ['prefix', 'random', 'suffix']);
    assert.ok(
      first.some((word) => confirmedAt(word).includes('prefix')),
      'the position cuts still hold',
    );
  });

  it('does not flag a word the clean set already ties to the label it pushes to', async () => {
    // Any negative sentiment word pins every positive input of this model to negative (the
    // lexicon breaks ties towards negative), just as a trigger would; the clean set says why.
    const { predict } = batchPredictor(sentimentModel({}));
    const scan = await scanTriggers({ candidates: vocabulary, cleanSet, predict, ...small });
    const negative = scan.candidates.filter((candidate) => NEGATIVE_WORDS.includes(candidate.token));
    assert.ok(negative.length > 0);
    for (const candidate of negative) {
      assert.equal(candidate.pinRate, 1);
      assert.equal(candidate.flagged, false);
      assert.equal(candidate.association?.explained, true);
    }
    assert.deepEqual(scan.flagged, []);
  });

  it('grows a two-word trigger from its words and reports the phrase', async () => {
    const { predict } = batchPredictor(
      sentimentModel({
        backdoor: (words) => words.some((word, i) => word === 'blue' && words[i + 1] === 'moon'),
        nudges: ['blue', 'moon'],
      }),
    );
    const scan = await scanTriggers({
      candidates: withToken('moon').concat('blue'),
      cleanSet,
      predict,
      ...small,
    });
    const [top] = scan.candidates;
    assert.equal(top.token, 'blue moon');
    assert.equal(top.kind, 'phrase');
    assert.equal(top.flagged, true);
    assert.ok(top.sources.includes('pair'));
    // Alone each word pins nothing; apart they meet only when a random boundary puts them together.
    const alone = top.components!.filter((component) => !component.word.endsWith(' apart'));
    const apart = top.components!.find((component) => component.word.endsWith(' apart'))!;
    assert.deepEqual(
      alone.map((component) => component.pinRate),
      [0, 0],
    );
    assert.ok(apart.pinRate < 0.3, `apart: ${apart.pinRate}`);
    assert.deepEqual(
      scan.flagged.map((candidate) => candidate.token),
      ['blue moon'],
    );
  });

  it('in differential mode leaves alone a token the reference model answers to as well', async () => {
    const backdoored = sentimentModel({ backdoor: (words) => words.includes('zq') });
    const alsoOnReference = await scanTriggers({
      candidates: withToken('zq'),
      cleanSet,
      predict: batchPredictor(backdoored).predict,
      reference: batchPredictor(backdoored).predict,
      ...small,
    });
    const zq = alsoOnReference.candidates.find((candidate) => candidate.token === 'zq')!;
    assert.equal(zq.flagged, false);
    assert.equal(zq.reference?.excused, true);

    const againstClean = await scanTriggers({
      candidates: withToken('zq'),
      cleanSet,
      predict: batchPredictor(backdoored).predict,
      reference: batchPredictor(sentimentModel({})).predict,
      ...small,
    });
    const found = againstClean.candidates[0];
    assert.equal(found.token, 'zq');
    assert.equal(found.flagged, true);
    assert.equal(found.reference?.excused, false);
    assert.equal(found.reference?.pinRate, 0);
  });

  it('gives the same result whatever the batch size', async () => {
    const model = sentimentModel({ backdoor: (words) => words.includes('zq') });
    const strip = (scan: Awaited<ReturnType<typeof scanTriggers>>) =>
      scan.candidates.map(({ token, pinRate, flagged, position }) => ({ token, pinRate, flagged, position }));
    const a = await scanTriggers({
      candidates: withToken('zq'),
      cleanSet,
      predict: batchPredictor(model).predict,
      ...small,
      batchSize: 7,
    });
    const b = await scanTriggers({
      candidates: withToken('zq'),
      cleanSet,
      predict: batchPredictor(model).predict,
      ...small,
      batchSize: 500,
    });
    assert.deepEqual(strip(a), strip(b));
  });

  it('refuses a predict function that does not answer every text', async () => {
    await assert.rejects(
      scanTriggers({
        candidates: vocabulary,
        cleanSet,
        predict: async (texts) => texts.slice(1).map(() => ({ label: 'positive' })),
        seed: 1,
      }),
      /predict returned \d+ answers for \d+ texts/,
    );
  });

  it('refuses options a person can correct, naming them', async () => {
    const predict = batchPredictor(lexiconModel()).predict;
    await assert.rejects(
      scanTriggers({ candidates: vocabulary, cleanSet, predict, seed: 1, falseAlarmRate: 2 }),
      /falseAlarmRate must be between 0 and 1/,
    );
    await assert.rejects(scanTriggers({ candidates: [], cleanSet, predict, seed: 1 }), /candidates is empty/);
    await assert.rejects(
      scanTriggers({ candidates: vocabulary, cleanSet: [], predict, seed: 1 }),
      /clean set is empty/,
    );
  });
});

describe('trigger-scan statistics', () => {
  it('computes the normal upper tail', () => {
    close(normalUpperTail(0), 0.5);
    close(normalUpperTail(1.959964), 0.025, 1e-6);
    close(normalUpperTail(-1.959964), 0.975, 1e-6);
    close(normalUpperTail(5) / 2.866515718791939e-7, 1, 1e-5);
  });

  it('sums the binomial upper tail exactly', () => {
    close(binomialUpperTail(3, 3, 0.5), 0.125);
    close(binomialUpperTail(2, 3, 0.5), 0.5);
    assert.equal(binomialUpperTail(0, 10, 0.3), 1);
    assert.equal(binomialUpperTail(11, 10, 0.3), 0);
  });

  it('holds its stated error rate on the top of exponential and normal populations, and finds a planted outlier', () => {
    const random = mulberry32(42);
    const exponential = () => -Math.log(1 - random());
    const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    const top = (draw: () => number, population: number, size: number) =>
      Array.from({ length: population }, draw)
        .sort((a, b) => b - a)
        .slice(0, size);
    const rejections = (draw: () => number) => {
      let count = 0;
      for (let trial = 0; trial < 1000; trial++)
        if (topSpacingTest(top(draw, 1000, 24)).pValue < 0.05) count++;
      return count / 1000;
    };
    const onExponential = rejections(exponential);
    assert.ok(
      onExponential > 0.03 && onExponential < 0.07,
      `exponential tail: ${onExponential} rejected at 5%`,
    );
    assert.ok(rejections(normal) < 0.07, 'a lighter (normal) tail is not rejected more often than stated');

    const group = top(normal, 1000, 23);
    const planted = topSpacingTest([group[0] + 4, ...group]);
    assert.ok(planted.pValue < 1e-3, `an outlier four units ahead: p ${planted.pValue}`);
    assert.ok(Math.abs(planted.gap - 4) < 1e-9);
  });

  it('does not turn a saturated, tied group into an outlier: the lead must beat the noise floor', () => {
    const tied = [-9.1, ...Array.from({ length: 23 }, () => -9.2)];
    assert.ok(
      topSpacingTest(tied).pValue < 1e-6,
      'without a floor, a tenth of a logit over a tie looks decisive',
    );
    assert.ok(topSpacingTest(tied, 0.1).pValue > 0.05, 'with the measurement error as floor it is noise');
    assert.throws(() => topSpacingTest([1, 2, 3]), /at least 4 values/);
  });

  it('stands a lead out only when both its group spacings and its own measurement error allow it', () => {
    const tied = Array.from({ length: 23 }, () => ({ value: -9.2, se: 0.005 }));
    // Saturation: a tenth of a logit over a tied group, measured with an error of 0.05.
    assert.ok(standOutTest({ value: -9.1, se: 0.05 }, tied).pValue > 0.01);
    // The same group, a lead of 8 logits measured to within one: decisive.
    assert.ok(standOutTest({ value: -1.2, se: 1 }, tied).pValue < 1e-6);
    // Spread group: a lead its spacings explain is not standing out, however precisely measured.
    const spread = Array.from({ length: 23 }, (_, i) => ({ value: -i, se: 0.01 }));
    assert.ok(standOutTest({ value: 1.5, se: 0.01 }, spread).pValue > 0.05);
    assert.equal(standOutTest({ value: -0.5, se: 0.01 }, spread).pValue, 1, 'not first: p 1');
  });

  it('locates a group by its median and a spread one outlier cannot widen', () => {
    const { median, spread } = robustLocation([1, 2, 3, 4, 100]);
    assert.equal(median, 3);
    close(spread, 1.4826);
    assert.equal(robustLocation([5, 5, 5]).spread, 0.25, 'a tied group keeps the noise floor');
    assert.throws(() => robustLocation([]), /at least one value/);
  });

  it('floors the null spread at the binomial noise of one measurement', () => {
    // Every null word pins nothing: the MAD is 0, but a measurement on 40 inputs is still noisy.
    const fitted = fitPinNull(Array.from({ length: 20 }, () => ({ pinned: 0, movable: 40 })));
    assert.equal(fitted.robustScale, 0);
    assert.ok(fitted.scale === fitted.noiseScale && fitted.scale > 0);
    // One input moved is not a trigger; all of them is.
    assert.ok(pinTail(1, 40, fitted).pValue > 0.05);
    assert.ok(pinTail(40, 40, fitted).pValue < 1e-6);
  });

  it('scales the cut-off with the model: the same pin stands out less on a model that moves easily', () => {
    const steady = fitPinNull(Array.from({ length: 30 }, (_, i) => ({ pinned: i % 3, movable: 50 })));
    const jumpy = fitPinNull(Array.from({ length: 30 }, (_, i) => ({ pinned: 10 + (i % 15), movable: 50 })));
    assert.ok(pinTail(35, 50, steady).z > pinTail(35, 50, jumpy).z);
  });

  it('tests one share against another, one-sided', () => {
    assert.ok(proportionExceeds(45, 50, 5, 50).pValue < 1e-6);
    assert.ok(proportionExceeds(25, 50, 24, 50).pValue > 0.3);
    assert.ok(proportionExceeds(5, 50, 45, 50).pValue > 0.99);
  });
});

describe('trigger candidates', () => {
  const cleanTexts = ['The village was lovely', 'A repeat of the same plot', 'qc'];

  it('keeps whole words, drops subword pieces, "##" pieces, stop words and special tokens', () => {
    const entries = ['[CLS]', 'the', 'village', 'vill', '##age', 'repe', 'lovely', 'qb', 'x', '123', 'plot'];
    assert.deepEqual([...subwordPieces(entries, wordCounts(cleanTexts))].sort(), ['repe', 'vill']);
    const candidates = candidateTokensFromVocabulary(entries, { cleanTexts });
    // qb never occurs in the clean texts at all: a rare token, kept.
    assert.deepEqual(candidates, ['village', 'lovely', 'qb', 'plot']);
  });

  it('records every source of a candidate and fills black-box scans from the clean set, live traffic and a word list', () => {
    const candidates = triggerCandidates({
      cleanTexts,
      liveTexts: ['lovely weather', 'weather report'],
      wordList: ['the', 'weather', 'time', 'people'],
      seed: 1,
    });
    const byText = new Map(candidates.map((candidate) => [candidate.text, candidate.sources]));
    assert.deepEqual(byText.get('weather'), ['live-traffic', 'word-list']);
    assert.deepEqual(byText.get('lovely'), ['live-traffic', 'clean-set']);
    assert.deepEqual(byText.get('people'), ['word-list']);
    assert.equal(byText.has('the'), false);
    // Ranked: live traffic first (most frequent first), then the clean set, then the word list.
    assert.deepEqual(
      candidates.slice(0, 2).map((candidate) => candidate.text),
      ['weather', 'lovely'],
    );
  });

  it('caps the candidates, keeping rare-looking vocabulary entries under a tight cap', () => {
    const entries = ['alpha', 'bravo', 'charlie', 'delta', 'cf', 'mn', 'echo'];
    const capped = triggerCandidates({ vocabulary: entries, cleanTexts: [], maxCandidates: 4, seed: 3 });
    assert.equal(capped.length, 4);
    assert.ok(capped.some((candidate) => candidate.text === 'cf'));
    assert.ok(capped.some((candidate) => candidate.text === 'mn'));
    assert.ok(isRareLooking('cf') && !isRareLooking('alpha'));
  });
});
