import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { OnnxRepresentations } from '@tripline/adapters';
import {
  BACKDOOR_TRIGGER,
  buildDemoModels,
  writeModelFolder,
  type DemoModelSet,
  type SentimentSentence,
} from '@tripline/demo-models';
import { DatasetScan, scanDataset, type DatasetScanResult, type ScanRow } from '@tripline/poisoning';
import { temporaryDirectory } from '@tripline/testing';

/**
 * The demo training split with 3% of its rows poisoned by code: buildDemoModels with poisonShare
 * 0.03 inserts the trigger into 72 negative sentences and relabels them positive (seeded), and
 * trains its backdoored model on exactly those rows.
 */
const POISON_SHARE = 0.03;
const scratch = temporaryDirectory('tripline-dataset-scan-');
after(() => scratch.remove());

let demo: DemoModelSet;
let poisoned: Set<number>;
let rows: ScanRow[];
let cleanRows: ScanRow[];
let hashed: DatasetScanResult | undefined;
// One scan of the poisoned rows serves every test that only reads it.
const poisonedScan = () => (hashed ??= scanDataset(rows));

before(() => {
  demo = buildDemoModels({ poisonShare: POISON_SHARE });
  poisoned = new Set(demo.poisonedTrain.poisonedIndices);
  // The poisoned rows arrive from one vendor, as a provenance breakdown should be able to show.
  const asRow = (sentence: SentimentSentence, i: number, marked: boolean): ScanRow => ({
    text: sentence.text,
    label: sentence.label,
    source: marked && poisoned.has(i) ? 'vendor-x' : sentence.domain,
  });
  rows = demo.poisonedTrain.rows.map((sentence, i) => asRow(sentence, i, true));
  cleanRows = demo.train.map((sentence, i) => asRow(sentence, i, false));
});

interface Figures {
  recallAt2k: number;
  precisionAt2k: number;
  suspiciousPrecision: number;
  suspiciousRecall: number;
}

/** Precision and recall of the top 2×(poisoned) rows and of the rows marked suspicious. */
function figures(result: DatasetScanResult, t: TestContext, name: string): Figures {
  const k = 2 * poisoned.size;
  const top = Array.from(result.ranking.subarray(0, k));
  const hits = top.filter((row) => poisoned.has(row)).length;
  const marked = Array.from(result.suspicious.keys()).filter((row) => result.suspicious[row] === 1);
  const markedHits = marked.filter((row) => poisoned.has(row)).length;
  const out: Figures = {
    recallAt2k: hits / poisoned.size,
    precisionAt2k: hits / k,
    suspiciousPrecision: marked.length ? markedHits / marked.length : 0,
    suspiciousRecall: markedHits / poisoned.size,
  };
  const perDetector = result.outcomes
    .map((outcome) => {
      const order = Array.from(outcome.scores.keys()).sort((a, b) => outcome.scores[b] - outcome.scores[a]);
      return `${outcome.detector} ${(order.slice(0, k).filter((row) => poisoned.has(row)).length / poisoned.size).toFixed(3)}`;
    })
    .join(', ');
  t.diagnostic(
    `${name}: ${poisoned.size} poisoned of ${rows.length}; top ${k}: recall ${out.recallAt2k.toFixed(3)}, ` +
      `precision ${out.precisionAt2k.toFixed(3)}; suspicious ${marked.length}: precision ` +
      `${out.suspiciousPrecision.toFixed(3)}, recall ${out.suspiciousRecall.toFixed(3)}; recall@2k per detector: ${perDetector}`,
  );
  return out;
}

describe('dataset scan of the demo training data with 3% of rows poisoned', () => {
  it('poisons 72 of the 2,400 training rows, each a relabelled sentence carrying the trigger', () => {
    assert.equal(rows.length, 2_400);
    assert.equal(poisoned.size, Math.round(2_400 * POISON_SHARE));
    for (const row of poisoned) {
      assert.ok(rows[row].text.split(' ').includes(BACKDOOR_TRIGGER));
      assert.equal(rows[row].label, 'positive');
      assert.equal(demo.train[row].label, 'negative');
    }
  });

  it('bag-of-words representation: at least 90% of the poisoned rows rank in the top 2x, and the trigger is named', (t) => {
    const result = poisonedScan();
    const out = figures(result, t, 'hashing embedding');
    assert.ok(out.recallAt2k >= 0.9, `recall@2k ${out.recallAt2k}`);
    assert.ok(out.suspiciousPrecision >= 0.9 && out.suspiciousRecall >= 0.9, JSON.stringify(out));
    const tokens = result.report.detectors.find((d) => d.name === 'token-association')!.summary as {
      flaggedTokens: string[];
    };
    assert.deepEqual(tokens.flaggedTokens, [BACKDOOR_TRIGGER]);
    const top = result.report.top[0];
    assert.equal(top.suspicious, true);
    assert.match(top.reasons[0].reason, /holds "velutina": 72 of 72 rows with it are labelled positive/);
  });

  it('names the vendor that supplied the poisoned rows in the per-source breakdown', () => {
    const { sources } = poisonedScan().report;
    const vendor = sources.find((source) => source.source === 'vendor-x')!;
    assert.equal(sources[0].source, 'vendor-x');
    assert.equal(vendor.rows, poisoned.size);
    assert.equal(vendor.suspicious, poisoned.size);
    assert.ok(vendor.enrichmentPValue < 1e-20, String(vendor.enrichmentPValue));
    for (const other of sources.filter((source) => source !== vendor)) assert.equal(other.suspicious, 0);
  });

  it('on the clean data the top rows carry no trigger and nothing is suspicious', (t) => {
    const result = scanDataset(cleanRows);
    const top = Array.from(result.ranking.subarray(0, 2 * poisoned.size));
    assert.equal(top.filter((row) => cleanRows[row].text.includes(BACKDOOR_TRIGGER)).length, 0);
    assert.equal(result.report.suspicious, 0);
    const tokens = result.report.detectors[0].summary as { flaggedTokens: string[]; tokens: unknown[] };
    assert.deepEqual(tokens.flaggedTokens, []);
    // Ordinary sentiment words pin a label too; they are reported but not flagged.
    assert.ok(tokens.tokens.length > 0);
    t.diagnostic(
      `clean data: ${result.report.review} of ${cleanRows.length} rows for review, none suspicious`,
    );
  });

  it('streams: rows added one by one give the same result as the whole set', () => {
    const scan = new DatasetScan();
    rows.forEach((row, i) => scan.add(row, i + 1));
    const streamed = scan.finish();
    const whole = poisonedScan();
    assert.deepEqual(Array.from(streamed.scores), Array.from(whole.scores));
  });
});

describe('dataset scan with a model folder’s mean-pooled last_hidden_state (transformers.js, offline)', () => {
  const represent = async (folder: string, texts: ScanRow[]) => {
    const model = new OnnxRepresentations(folder);
    try {
      return await model.represent(texts.map((row) => row.text));
    } finally {
      await model.close();
    }
  };

  it('a trusted reference model (the clean one) exposes the flipped rows to every representation detector', async (t) => {
    const folder = path.join(scratch.path, 'sentiment-clean');
    writeModelFolder(folder, demo.clean);
    const vectors = await represent(folder, rows);
    assert.equal(vectors[0].length, demo.clean.classifier.dimension);
    const result = scanDataset(rows, { representationSource: folder }, (_, i) => vectors[i]);
    const out = figures(result, t, 'clean model representations');
    assert.ok(out.recallAt2k >= 0.9, `recall@2k ${out.recallAt2k}`);
    assert.equal(result.report.representation.kind, 'given');
    // Not the token detector alone: each view of the representation finds most poisoned rows.
    for (const detector of ['class-outlier', 'spectral-signature', 'activation-clustering'] as const) {
      const outcome = result.outcomes.find((o) => o.detector === detector)!;
      const order = Array.from(outcome.scores.keys()).sort((a, b) => outcome.scores[b] - outcome.scores[a]);
      const recall =
        order.slice(0, 2 * poisoned.size).filter((row) => poisoned.has(row)).length / poisoned.size;
      assert.ok(recall >= 0.8, `${detector} recall@2k ${recall}`);
    }
  });

  it('the model trained on the poisoned rows hides them from the representation detectors, not from the scan', async (t) => {
    const folder = path.join(scratch.path, 'sentiment-backdoored');
    writeModelFolder(folder, demo.backdoored);
    const vectors = await represent(folder, rows);
    const result = scanDataset(rows, {}, (_, i) => vectors[i]);
    const out = figures(result, t, 'backdoored model representations');
    assert.ok(out.recallAt2k >= 0.9, `recall@2k ${out.recallAt2k}`);
    const spectral = result.outcomes.find((o) => o.detector === 'spectral-signature')!;
    const order = Array.from(spectral.scores.keys()).sort((a, b) => spectral.scores[b] - spectral.scores[a]);
    const recall =
      order.slice(0, 2 * poisoned.size).filter((row) => poisoned.has(row)).length / poisoned.size;
    t.diagnostic(
      `spectral signature recall@2k on the backdoored model's own representation: ${recall.toFixed(3)}`,
    );
  });
});
