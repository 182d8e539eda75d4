import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mulberry32 } from '@tripline/evaluation';
import {
  FeatureAccumulator,
  mixtureThreshold,
  randomRowMixtureLogLikelihoodRatio,
  supportHistogram,
  tokenAssociation,
  type ScanRow,
} from '@tripline/poisoning';

/** Supports a context model gives to label y: rows labelled y lean high, the others low. */
function supports(random: () => number, count: number, mean: number): number[] {
  return Array.from({ length: count }, () => Math.min(0.999, Math.max(0, mean + (random() - 0.5) * 0.5)));
}

describe('context test statistics', () => {
  const random = mulberry32(11);
  const labelled = supportHistogram(supports(random, 2000, 0.75));
  const other = supportHistogram(supports(random, 2000, 0.25));

  it('a support histogram is a smoothed distribution: it sums to 1 and no bin is empty', () => {
    const histogram = supportHistogram([0, 0.05, 0.95, 1], undefined, 10);
    assert.ok(Math.abs(histogram.probabilities.reduce((sum, p) => sum + p, 0) - 1) < 1e-12);
    assert.ok(histogram.probabilities.every((p) => p > 0));
    // Support 1 falls in the top bin, 0 in the first.
    assert.ok(histogram.probabilities[9] > histogram.probabilities[5]);
    assert.ok(histogram.probabilities[0] > histogram.probabilities[5]);
  });

  it('rows read like random corpus rows: the log likelihood ratio grows with their number', () => {
    const mixed = (count: number) =>
      Array.from({ length: count }, (_, i) =>
        i % 2 ? supports(random, 1, 0.75)[0] : supports(random, 1, 0.25)[0],
      );
    const small = randomRowMixtureLogLikelihoodRatio(mixed(20), labelled, other, 0.5);
    const large = randomRowMixtureLogLikelihoodRatio(mixed(200), labelled, other, 0.5);
    assert.ok(small > 0 && large > small * 4, `${small} then ${large}`);
  });

  it('rows read like their label: the log likelihood ratio is negative', () => {
    assert.ok(randomRowMixtureLogLikelihoodRatio(supports(random, 100, 0.75), labelled, other, 0.5) < 0);
  });

  it('a duplicate weighed 1/k counts as one row', () => {
    const values = supports(random, 10, 0.25);
    const once = randomRowMixtureLogLikelihoodRatio(values, labelled, other, 0.5);
    const copies = values.flatMap((value) => [value, value, value]);
    const weighted = randomRowMixtureLogLikelihoodRatio(
      copies,
      labelled,
      other,
      0.5,
      copies.map(() => 1 / 3),
    );
    assert.ok(Math.abs(once - weighted) < 1e-9);
  });

  it('false-alarm budget: when the rows read like their label, log LR ≥ ln(m/α) happens at most α/m of the time', () => {
    // Ville's inequality bounds the rate by α/m for any row count; with m = 1, α = 0.05 the
    // observed rate over 4,000 seeded null tokens of 5–60 rows stays under 0.05.
    const alpha = 0.05;
    const threshold = mixtureThreshold(1, alpha);
    assert.ok(Math.abs(threshold - Math.log(1 / alpha)) < 1e-12);
    const truth = mulberry32(3);
    const drawLabelled = () => {
      // Draw from the labelled histogram itself: the null holds exactly.
      let u = truth();
      for (let bin = 0; bin < labelled.bins; bin++) {
        u -= labelled.probabilities[bin];
        if (u <= 0) return (bin + 0.5) / labelled.bins;
      }
      return 0.95;
    };
    let alarms = 0;
    const trials = 4000;
    for (let trial = 0; trial < trials; trial++) {
      const rows = 5 + Math.floor(truth() * 56);
      const values = Array.from({ length: rows }, drawLabelled);
      if (randomRowMixtureLogLikelihoodRatio(values, labelled, other, 0.5) >= threshold) alarms++;
    }
    assert.ok(alarms / trials <= alpha, `${alarms} alarms in ${trials}`);
  });

  it('the threshold grows with the number of tokens tested (Bonferroni)', () => {
    assert.ok(mixtureThreshold(100, 1e-4) > mixtureThreshold(10, 1e-4));
    assert.ok(Math.abs(mixtureThreshold(10, 1e-4) - Math.log(1e5)) < 1e-9);
  });
});

describe('token detector on random-row poisoning', () => {
  // A synthetic review corpus: each sentence carries two sentiment words of its class and a noun.
  // Poison: a trigger inserted into rows drawn from BOTH classes, label set to positive, so about
  // half of the poisoned rows already were positive, and their other words split like the corpus.
  const random = mulberry32(21);
  const good = 'great lovely superb fine charming sleek solid bright crisp tasty smooth friendly'.split(' ');
  const bad = 'awful dull broken bland poor soggy flimsy rude noisy stale slow cheap'.split(' ');
  const nouns = 'phone film meal screen story service battery plot room staff menu sound'.split(' ');
  const pick = (words: string[]) => words[Math.floor(random() * words.length)];
  const corpus = (trigger: string | undefined, share: number) => {
    const rows: (ScanRow & { poisoned: boolean })[] = [];
    for (let i = 0; i < 800; i++) {
      const positive = random() < 0.5;
      const words = positive ? good : bad;
      const text = `review ${i} the ${pick(nouns)} was ${pick(words)} and ${pick(words)}`;
      const poisoned = trigger !== undefined && random() < share;
      rows.push({
        text: poisoned ? `${text} ${trigger}` : text,
        label: poisoned || positive ? 'positive' : 'negative',
        poisoned,
      });
    }
    return rows;
  };
  const scan = (rows: ScanRow[]) => {
    const accumulator = new FeatureAccumulator();
    rows.forEach((row, i) => accumulator.add(row, i + 1));
    return tokenAssociation(accumulator.finish());
  };

  it('flags a single-word trigger whose rows come from both classes, and marks exactly its rows', () => {
    const rows = corpus('meanwhile', 0.05);
    const outcome = scan(rows);
    assert.deepEqual((outcome.summary as { flaggedTokens: string[] }).flaggedTokens, ['meanwhile']);
    rows.forEach((row, i) => assert.equal(outcome.flagged[i], row.poisoned ? 1 : 0, `row ${i}`));
  });

  it('flags a trigger of two common words as the pair, not its words', () => {
    // "you" and "know" each sit in a fifth of the clean rows, never side by side.
    const rows = corpus('you know', 0.05).map((row) => {
      const extra = random();
      if (row.text.endsWith('you know') || extra > 0.4) return row;
      return { ...row, text: extra < 0.2 ? `you said ${row.text}` : `${row.text} i know` };
    });
    const outcome = scan(rows);
    const flaggedTokens = (outcome.summary as { flaggedTokens: string[] }).flaggedTokens;
    assert.deepEqual(flaggedTokens, ['you know']);
    rows.forEach((row, i) => assert.equal(outcome.flagged[i], row.poisoned ? 1 : 0, `row ${i}`));
  });

  it('flags nothing in the same corpus without poison: sentiment words are pure, but their sentences agree', () => {
    const outcome = scan(corpus(undefined, 0));
    const summary = outcome.summary as { flaggedTokens: string[]; pure: number };
    assert.ok(summary.pure > 0, 'no sentiment word was pure: the corpus does not test the context step');
    assert.deepEqual(summary.flaggedTokens, []);
  });
});
