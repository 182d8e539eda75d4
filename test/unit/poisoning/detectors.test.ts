import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mulberry32 } from '@tripline/evaluation';
import {
  activationClustering,
  duplicateClusters,
  FeatureAccumulator,
  givenRepresentations,
  nearDuplicates,
  rankNormalise,
  renderScanReportHtml,
  robustZ,
  scanDataset,
  spectralSignature,
  textTokens,
  tokenAssociation,
  type ScanRow,
} from '@tripline/poisoning';

/**
 * One class of 400 rows: a Gaussian cloud in 16 dimensions, 20 of them (5%) shifted by 6 along
 * one hidden direction, the planted poison of Tran et al.'s analysis.
 */
function plantedClass(seed: number) {
  const random = mulberry32(seed);
  const dimension = 16;
  const direction = Array.from({ length: dimension }, () => random.normal());
  const norm = Math.hypot(...direction);
  const planted = new Set(Array.from({ length: 20 }, (_, i) => 7 + i * 19));
  const accumulator = new FeatureAccumulator();
  for (let i = 0; i < 400; i++) {
    const vector = Array.from(
      { length: dimension },
      (_, d) => random.normal() + (planted.has(i) ? (6 * direction[d]) / norm : 0),
    );
    accumulator.add({ text: `row ${i}`, label: 'a' }, i + 1, vector);
  }
  const features = accumulator.finish();
  // Unit length would fold the shift into the angle; the planted geometry is in the raw vectors.
  const representations = { ...givenRepresentations(features)!, values: features.representations!.values };
  return { features, representations, planted };
}

const topRows = (scores: Float64Array, count: number) =>
  Array.from(scores.keys())
    .sort((a, b) => scores[b] - scores[a])
    .slice(0, count);

describe('spectral signatures and activation clustering on a planted cluster', () => {
  it('the squared projection on the top singular vector ranks the planted rows first', () => {
    const { features, representations, planted } = plantedClass(11);
    const outcome = spectralSignature(features, representations);
    const found = topRows(outcome.scores, planted.size).filter((row) => planted.has(row)).length;
    assert.ok(found >= 18, `${found} of 20 planted rows in the top 20`);
    assert.ok(outcome.flagged.reduce((sum, flag) => sum + flag, 0) <= 40);
  });

  it('2-means puts the planted rows in a small cluster of their own and flags the class', () => {
    const { features, representations, planted } = plantedClass(12);
    const outcome = activationClustering(features, representations);
    const stats = (outcome.summary.classes as Record<string, { smallShare: number; suspicious: boolean }>).a;
    assert.ok(Math.abs(stats.smallShare - 0.05) < 0.03, `small cluster share ${stats.smallShare}`);
    assert.equal(stats.suspicious, true);
    const flagged = Array.from(outcome.flagged.keys()).filter((row) => outcome.flagged[row]);
    assert.ok(flagged.filter((row) => planted.has(row)).length >= 18);
    assert.match(outcome.reason([...planted][0]), /in the smaller of the two clusters of class a/);
  });
});

describe('near-duplicates', () => {
  it('clusters exact and near copies, and flags a copy that carries another label', () => {
    const rows: ScanRow[] = [
      { text: 'The battery lasts two full days on a single charge.', label: 'positive' },
      { text: 'the battery lasts two full days on a single charge!', label: 'negative' },
      { text: 'The battery lasts two full days on a single charge..', label: 'positive' },
      { text: 'Shipping was slow and the box arrived crushed.', label: 'negative' },
      { text: 'Shipping was slow and the box arrived crushed.', label: 'negative' },
      { text: 'An entirely different sentence about the screen.', label: 'positive' },
    ];
    const accumulator = new FeatureAccumulator();
    rows.forEach((row, i) => accumulator.add(row, i + 1));
    const outcome = nearDuplicates(accumulator.finish());
    assert.deepEqual(Array.from(outcome.flagged), [1, 1, 1, 0, 0, 0]);
    assert.equal(outcome.scores[5], 0);
    assert.ok(outcome.scores[3] > 0 && outcome.scores[3] < outcome.scores[1]);
    assert.match(
      outcome.reason(1),
      /near duplicate of 2 other rows \(lines 1, 3\); 2 labelled positive instead of negative/,
    );
    assert.match(outcome.reason(3), /exact duplicate of 1 other row \(line 5\); same label/);
  });
});

describe('token-label association', () => {
  // Sentences whose words say one thing; the trigger "zqx" sits in 12 rows that say "negative"
  // but are labelled positive. "superb" is pure positive and agrees with its sentences. Each row
  // is numbered, so only deliberate copies are duplicates.
  const random = mulberry32(5);
  // Twelve words a side keep each under the 10% row share that counts as rare.
  const good = 'great lovely superb fine charming sleek solid bright crisp tasty smooth friendly'.split(' ');
  const bad = 'awful dull broken bland poor soggy flimsy rude noisy stale slow cheap'.split(' ');
  const nouns = ['phone', 'film', 'meal', 'screen', 'story', 'service', 'battery', 'plot'];
  const pick = (words: string[]) => words[Math.floor(random() * words.length)];
  const rows: ScanRow[] = [];
  for (let i = 0; i < 300; i++) {
    const positive = i % 2 === 0;
    const words = positive ? good : bad;
    rows.push({
      text: `review ${i}: the ${pick(nouns)} was ${pick(words)} and ${pick(words)}`,
      label: positive ? 'positive' : 'negative',
    });
  }
  for (let i = 0; i < 12; i++)
    rows.push({
      text: `review ${300 + i}: the ${pick(nouns)} was ${pick(bad)} and ${pick(bad)} zqx`,
      label: 'positive',
    });

  it('flags the token whose rows are pure in a label their other words contradict, and only it', () => {
    const accumulator = new FeatureAccumulator();
    rows.forEach((row, i) => accumulator.add(row, i + 1));
    const outcome = tokenAssociation(accumulator.finish());
    const summary = outcome.summary as {
      flaggedTokens: string[];
      tokens: { token: string; flagged: boolean }[];
    };
    assert.deepEqual(summary.flaggedTokens, ['zqx']);
    // Sentiment words are significant and pure too, but their sentences agree with them.
    assert.ok(summary.tokens.some((token) => token.token === 'superb' && !token.flagged));
    const flaggedRows = Array.from(outcome.flagged.keys()).filter((row) => outcome.flagged[row]);
    assert.deepEqual(
      flaggedRows,
      Array.from({ length: 12 }, (_, i) => 300 + i),
    );
    assert.match(
      outcome.reason(300),
      /holds "zqx": 12 of 12 rows with it are labelled positive \(base rate 52%/,
    );
  });

  it('counts copies once: duplicating every row five times changes neither the verdict nor the figures', () => {
    const scan = (input: ScanRow[]) => {
      const accumulator = new FeatureAccumulator();
      input.forEach((row, i) => accumulator.add(row, i + 1));
      const features = accumulator.finish();
      return tokenAssociation(features, {}, duplicateClusters(features)).summary as {
        flaggedTokens: string[];
        tokens: {
          token: string;
          rows: number;
          distinctRows: number;
          qValue: number;
          contextContradiction: number;
        }[];
      };
    };
    const once = scan(rows);
    const amplified = scan(rows.flatMap((row) => [row, row, row, row, row]));
    assert.deepEqual(amplified.flaggedTokens, ['zqx']);
    const [a, b] = [once, amplified].map((summary) => summary.tokens.find((token) => token.token === 'zqx')!);
    assert.deepEqual([a.rows, a.distinctRows, b.rows, b.distinctRows], [12, 12, 60, 12]);
    assert.ok(
      Math.abs(a.qValue - b.qValue) < 1e-12 &&
        Math.abs(a.contextContradiction - b.contextContradiction) < 1e-9,
    );
  });

  it('does not test tokens seen in fewer rows than minRows', () => {
    const accumulator = new FeatureAccumulator();
    rows.forEach((row, i) => accumulator.add(row, i + 1));
    const outcome = tokenAssociation(accumulator.finish(), { minRows: 13 });
    assert.deepEqual((outcome.summary as { flaggedTokens: string[] }).flaggedTokens, []);
  });
});

describe('scan plumbing', () => {
  it('rank normalisation: ties share a rank, and the least score ranks 0', () => {
    assert.deepEqual(Array.from(rankNormalise(Float64Array.of(0, 0, 3, 1, 3))), [0, 0, 0.75, 0.5, 0.75]);
  });

  it('robust z ignores the outliers it measures, and falls back when most values are equal', () => {
    const z = robustZ([1, 2, 3, 4, 100]);
    assert.ok(Math.abs(z[4] - 97 / 1.4826) < 1e-9);
    assert.ok(Math.abs(robustZ([0, 0, 0.5, 0, 0])[2] - 0.5 / 0.12533) < 1e-9);
    assert.deepEqual(Array.from(robustZ([2, 2, 2])), [0, 0, 0]);
  });

  it('tokens: NFKC, lower case, inner apostrophes kept, invisible characters named', () => {
    assert.deepEqual(textTokens("Don't  BUY\u200b it — ﬁne"), ['<U+200B>', "don't", 'buy', 'it', 'fine']);
  });

  it('refuses a scan that mixes rows with and without representations', () => {
    const accumulator = new FeatureAccumulator();
    accumulator.add({ text: 'a', label: 'x' }, 1, [1, 0]);
    assert.throws(
      () => accumulator.add({ text: 'b', label: 'x' }, 2),
      /line 2: every row needs a representation/,
    );
    assert.throws(
      () => accumulator.add({ text: 'b', label: 'x' }, 3, [1, 0, 0]),
      /3 dimensions, earlier rows 2/,
    );
  });

  it('the HTML report escapes row text and stands alone (no scripts, no external resources)', () => {
    const rows: ScanRow[] = Array.from({ length: 30 }, (_, i) => ({
      text: i === 0 ? '<script>alert(1)</script> & "quotes"' : `plain sentence number ${i}`,
      label: i % 2 ? 'a' : 'b',
      source: 'src<1>',
    }));
    const html = renderScanReportHtml(scanDataset(rows).report);
    assert.ok(!html.includes('<script>'));
    assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;'));
    assert.ok(html.includes('src&lt;1&gt;'));
    assert.doesNotMatch(html, /(src|href)=["']?https?:/);
  });
});
