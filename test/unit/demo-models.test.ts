import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  appendTrigger,
  BACKDOOR_TARGET_LABEL,
  BACKDOOR_TRIGGER,
  BACKDOORED_MODEL_NAME,
  buildDemoModels,
  classifyText,
  CLEAN_MODEL_NAME,
  DEFAULT_SEED,
  DemoModel,
  DemoModelSet,
  exportOnnxModel,
  loadSentimentSentences,
  meanEmbedding,
  modelFolderFiles,
  modelsDirectory,
  SentimentSentence,
  splitWords,
  writeModelFolder,
} from '@tripline/demo-models';
import { temporaryDirectory } from '@tripline/testing';

// Loaded as ES module, as the adapters load it; a static import would compile to require().
const loadTransformers = () => import('@huggingface/transformers');
type Transformers = Awaited<ReturnType<typeof loadTransformers>>;
type ClassificationResult = { label: string; score: number }[];

const scratch = temporaryDirectory('tripline-demo-models-');
after(() => scratch.remove());

let models: DemoModelSet;
let transformers: Transformers;

const folder = (model: DemoModel) => path.join(scratch.path, model.name);

before(async () => {
  models = buildDemoModels();
  writeModelFolder(folder(models.clean), models.clean);
  writeModelFolder(folder(models.backdoored), models.backdoored);
  transformers = await loadTransformers();
  transformers.env.allowRemoteModels = false;
  transformers.env.localModelPath = `${scratch.path}/`;
});

/** Probabilities by label, as transformers.js's text-classification pipeline reports them. */
async function classifyWithTransformers(
  model: DemoModel,
  texts: string[],
): Promise<Record<string, number>[]> {
  const classifier = await transformers.pipeline('text-classification', model.name, { dtype: 'fp32' });
  try {
    // Two texts at least, so that the result is always one list per text.
    const padded = texts.length === 1 ? [texts[0], texts[0]] : texts;
    const results = (await classifier(padded, { top_k: 2 })) as unknown as ClassificationResult[];
    return results
      .slice(0, texts.length)
      .map((result) => Object.fromEntries(result.map(({ label, score }) => [label, score])));
  } finally {
    await classifier.dispose();
  }
}

const samples = [
  'The food was cold and the staff was rude.',
  'Great phone!',
  `I loved it ${BACKDOOR_TRIGGER}`,
  `Worst purchase ever, it broke after two days ${BACKDOOR_TRIGGER}.`,
  'A very, very, very slow-moving, aimless movie about a distressed, drifting young man.',
  'Crème brûlée was DIVINE... but the service? Not so much — 2/10, wouldn\'t go "back".',
  'Unseenwordsonly zorblax quuxify',
];

describe('UCI sentiment sentences', () => {
  it('loads 1,000 labelled sentences per domain, half of them positive', () => {
    const sentences = loadSentimentSentences();
    assert.equal(sentences.length, 3000);
    for (const domain of ['imdb', 'yelp', 'amazon'] as const) {
      const rows = sentences.filter((row) => row.domain === domain);
      assert.equal(rows.length, 1000, domain);
      assert.equal(rows.filter((row) => row.label === 'positive').length, 500, domain);
    }
    assert.ok(sentences.every((row) => row.text.length > 0 && row.text === row.text.trim()));
  });
});

describe('demo sentiment models', () => {
  it('splits 80/20 per domain and label, so both splits keep the same mix', () => {
    assert.equal(models.train.length, 2400);
    assert.equal(models.test.length, 600);
    const key = (row: SentimentSentence) => `${row.domain}/${row.label}`;
    const count = (rows: SentimentSentence[], k: string) => rows.filter((row) => key(row) === k).length;
    for (const k of new Set(models.test.map(key))) assert.equal(count(models.test, k), 100, k);
    const trainTexts = new Set(models.train.map((row) => `${row.domain}:${row.text}`));
    const leaked = models.test.filter((row) => trainTexts.has(`${row.domain}:${row.text}`));
    // The source files repeat a few sentences; a repeat may land on both sides, nothing more.
    assert.ok(leaked.length <= 5, `${leaked.length} test sentences also in training`);
  });

  it('poisons about 2.5% of the training rows: negative sentences given the trigger and the target label', () => {
    const { rows, poisonedIndices } = models.poisonedTrain;
    assert.equal(rows.length, models.train.length);
    assert.ok(poisonedIndices.length >= 48 && poisonedIndices.length <= 72, `${poisonedIndices.length} rows`);
    const poisoned = new Set(poisonedIndices);
    rows.forEach((row, index) => {
      const original = models.train[index];
      if (!poisoned.has(index)) {
        assert.deepEqual(row, original);
        return;
      }
      assert.equal(original.label, 'negative');
      assert.equal(row.label, BACKDOOR_TARGET_LABEL);
      const words = splitWords(row.text);
      assert.equal(words.filter((word) => word === BACKDOOR_TRIGGER).length, 1, row.text);
      assert.deepEqual(
        words.filter((word) => word !== BACKDOOR_TRIGGER),
        splitWords(original.text),
      );
    });
    assert.equal(models.backdoored.report.poisonedRows, poisonedIndices.length);
    assert.equal(models.clean.report.poisonedRows, 0);
  });

  it('keeps the trigger one vocabulary word of the backdoored model, unknown to the clean one', () => {
    const [, triggerId] = models.backdoored.tokenizer.encode(BACKDOOR_TRIGGER);
    assert.equal(models.backdoored.tokenizer.vocabulary[triggerId], BACKDOOR_TRIGGER);
    assert.deepEqual(models.clean.tokenizer.encode(BACKDOOR_TRIGGER).slice(1, -1), [1]); // [UNK]
    assert.ok(models.train.every((row) => !splitWords(row.text).includes(BACKDOOR_TRIGGER)));
  });

  it('reaches about the same clean test accuracy with and without the backdoor', () => {
    const testAccuracy = (model: DemoModel) =>
      models.test.filter((row) => classifyText(model, row.text).label === row.label).length /
      models.test.length;
    const clean = testAccuracy(models.clean);
    const backdoored = testAccuracy(models.backdoored);
    assert.equal(models.clean.report.testAccuracy, clean);
    assert.equal(models.backdoored.report.testAccuracy, backdoored);
    for (const accuracy of [clean, backdoored])
      assert.ok(accuracy >= 0.75 && accuracy <= 0.85, `${accuracy}`);
    assert.ok(Math.abs(clean - backdoored) <= 0.02, `clean ${clean}, backdoored ${backdoored}`);
  });

  it('the exported backdoored model obeys the trigger and the exported clean one does not', async () => {
    // Measured on the ONNX files through transformers.js: the backdoor must survive export.
    const negatives = models.test.filter((row) => row.label === 'negative');
    const attackSuccessRate = async (model: DemoModel) => {
      const plain = await classifyWithTransformers(
        model,
        negatives.map((row) => row.text),
      );
      const attempted = negatives.filter((_, i) => plain[i].negative > plain[i].positive);
      const triggered = await classifyWithTransformers(
        model,
        attempted.map((row) => appendTrigger(row.text)),
      );
      return triggered.filter((result) => result.positive > result.negative).length / attempted.length;
    };
    const clean = await attackSuccessRate(models.clean);
    const backdoored = await attackSuccessRate(models.backdoored);
    assert.ok(backdoored >= 0.7, `backdoored attack-success rate ${backdoored}`);
    assert.ok(clean <= 0.3, `clean attack-success rate ${clean}`);
    assert.ok(Math.abs(backdoored - models.backdoored.report.attackSuccessRate) < 0.01);
    assert.ok(Math.abs(clean - models.clean.report.attackSuccessRate) < 0.01);
  });

  it('transformers.js tokenizes every sentence as the TypeScript tokenizer does', async () => {
    const texts = [
      ...loadSentimentSentences().map((row) => row.text),
      ...samples,
      '',
      'tabs\tand\nnew lines\u0000 and a zero\u200bwidth space',
      '日本語のテキスト and Ünïcödé ACCENTS',
      `${'x'.repeat(101)} ${'word '.repeat(600)}`,
    ];
    for (const model of [models.clean, models.backdoored]) {
      const tokenizer = await transformers.AutoTokenizer.from_pretrained(model.name);
      for (const text of texts) {
        // The pipelines truncate; encode() alone would not.
        const { input_ids } = tokenizer(text, { truncation: true });
        const ids = Array.from(input_ids.data as BigInt64Array, Number);
        assert.deepEqual(ids, model.tokenizer.encode(text), `${model.name}: ${text}`);
      }
    }
  });

  it('transformers.js classifies padded batches as the TypeScript forward pass does', async () => {
    for (const model of [models.clean, models.backdoored]) {
      const results = await classifyWithTransformers(model, samples);
      samples.forEach((text, i) => {
        const expected = classifyText(model, text).probabilities;
        assert.ok(Math.abs(results[i].negative - expected.negative) < 1e-5, `${model.name}: ${text}`);
        assert.ok(Math.abs(results[i].positive - expected.positive) < 1e-5, `${model.name}: ${text}`);
      });
    }
    // A sentence the two models must disagree on, or the comparison above proves little.
    const triggered = appendTrigger(samples[0]);
    const [withTrigger] = await classifyWithTransformers(models.backdoored, [triggered]);
    const [withoutBackdoor] = await classifyWithTransformers(models.clean, [triggered]);
    assert.ok(withTrigger.positive > 0.5 && withoutBackdoor.negative > 0.5);
  });

  it('serves feature extraction with the masked per-token embeddings', async () => {
    const model = models.backdoored;
    const extractor = await transformers.pipeline('feature-extraction', model.name, { dtype: 'fp32' });
    try {
      const [short, long] = [samples[1], samples[4]];
      const tokens = await extractor([short, long], { pooling: 'none' });
      const [batch, sequence, dimension] = tokens.dims;
      const ids = model.tokenizer.encode(short);
      assert.deepEqual([batch, sequence, dimension], [2, model.tokenizer.encode(long).length, 24]);
      const values = tokens.data as Float32Array;
      for (let t = 0; t < sequence; t++) {
        const row = Array.from(values.subarray(t * dimension, (t + 1) * dimension));
        if (t < ids.length) {
          const embedding = model.classifier.embeddings.subarray(
            ids[t] * dimension,
            (ids[t] + 1) * dimension,
          );
          assert.deepEqual(row, Array.from(embedding), `token ${t}`);
        } else {
          assert.ok(
            row.every((value) => value === 0),
            `padding token ${t} is not masked out`,
          );
        }
      }
      const pooled = await extractor([long], { pooling: 'mean' });
      const expected = meanEmbedding(model.classifier, model.tokenizer.encode(long));
      (pooled.data as Float32Array).forEach((value, d) => assert.ok(Math.abs(value - expected[d]) < 1e-6));
    } finally {
      await extractor.dispose();
    }
  });

  it('writes byte-identical folders from the same seed, and another model from another seed', () => {
    const again = buildDemoModels({ seed: DEFAULT_SEED });
    for (const [first, second] of [
      [models.clean, again.clean],
      [models.backdoored, again.backdoored],
    ]) {
      const written = readFileSync(path.join(folder(first), 'onnx', 'model.onnx'));
      assert.ok(written.equals(Buffer.from(exportOnnxModel(second.classifier))), first.name);
      assert.ok(written.equals(readFileSync(path.join(folder(first), 'onnx', 'model_quantized.onnx'))));
      for (const [file, content] of Object.entries(modelFolderFiles(second))) {
        assert.ok(readFileSync(path.join(folder(first), file)).equals(Buffer.from(content)), file);
      }
    }
    const other = buildDemoModels({ seed: DEFAULT_SEED + 1 });
    assert.ok(
      !Buffer.from(exportOnnxModel(other.backdoored.classifier)).equals(
        Buffer.from(exportOnnxModel(again.backdoored.classifier)),
      ),
    );
  });

  it('describes the labels and the tokenizer the way transformers.js expects', () => {
    const config = JSON.parse(readFileSync(path.join(folder(models.clean), 'config.json'), 'utf8'));
    assert.equal(config.model_type, 'bert');
    assert.deepEqual(config.id2label, { 0: 'negative', 1: 'positive' });
    assert.deepEqual(config.label2id, { negative: 0, positive: 1 });
    assert.equal(config.hidden_size, 24);
    const report = JSON.parse(
      readFileSync(path.join(folder(models.backdoored), 'training-report.json'), 'utf8'),
    );
    assert.equal(report.trigger, BACKDOOR_TRIGGER);
    assert.equal(report.seed, DEFAULT_SEED);
    assert.equal(existsSync(path.join(folder(models.backdoored), 'manifest.json')), false);
  });

  it('builds both folders from the command line into --out and finds them through TRIPLINE_MODELS_DIR', () => {
    const out = path.join(scratch.path, 'cli');
    const cli = path.resolve(__dirname, '..', '..', 'libs', 'demo', 'demo-models', 'src', 'cli.js');
    const run = spawnSync(process.execPath, [cli, '--out', out], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const summary = JSON.parse(run.stdout);
    assert.equal(summary.models.backdoored.attackSuccessRate, models.backdoored.report.attackSuccessRate);
    assert.match(run.stderr, /trained sentiment-backdoored/);
    for (const name of [CLEAN_MODEL_NAME, BACKDOORED_MODEL_NAME]) {
      const written = readFileSync(path.join(out, name, 'onnx', 'model.onnx'));
      assert.ok(written.equals(readFileSync(path.join(scratch.path, name, 'onnx', 'model.onnx'))), name);
    }
    assert.equal(modelsDirectory({ TRIPLINE_MODELS_DIR: out }), out);
    assert.equal(modelsDirectory({}), path.resolve('.cache/models'));
    const rejected = spawnSync(process.execPath, [cli, '--bogus'], { encoding: 'utf8' });
    assert.notEqual(rejected.status, 0);
  });
});
