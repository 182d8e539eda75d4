import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OnnxAdapter, OnnxRepresentations } from '@tripline/adapters';
import { copyZooModel, temporaryDirectory, ZOO_MODELS, zooCleanSet, zooDirectory } from '@tripline/testing';

/**
 * Every zoo folder is a PyTorch export laid out for transformers.js; export-ir10-clean is ONNX IR
 * 10 / opset 18, which the ONNX Runtime 1.14 of transformers.js 2.x refused.
 */
/** The README and report.json state accuracy to three or four decimals; 3 of 600 rows. */
const ACCURACY_TOLERANCE = 0.005;

const scratch = temporaryDirectory('tripline-zoo-runtime-');
let cleanTest: { text: string; label: string }[];

/** The clean test accuracy the zoo ships for a model: report.json, else its row in README.md. */
function shippedAccuracy(name: string): number {
  const report = JSON.parse(readFileSync(path.join(zooDirectory(), 'report.json'), 'utf8')) as Record<
    string,
    { clean_test_accuracy?: number }
  >;
  const reported = report[name]?.clean_test_accuracy;
  if (reported !== undefined) return reported;
  const readme = readFileSync(path.join(zooDirectory(), 'README.md'), 'utf8');
  const row = readme.split('\n').find((line) => line.startsWith(`| \`${name}\``));
  const cell = row?.split('|')[3]?.trim();
  assert.ok(cell && /^\d\.\d+$/.test(cell), `the zoo states no clean test accuracy for ${name}`);
  return Number(cell);
}

before(() => {
  cleanTest = zooCleanSet();
});

after(() => scratch.remove());

describe('local runtime on the model zoo', () => {
  for (const { name } of ZOO_MODELS) {
    it(`${name} loads through the onnx adapter and reproduces its shipped clean accuracy`, async () => {
      const adapter = new OnnxAdapter({ kind: 'onnx', path: copyZooModel(name, scratch.path) });
      try {
        const labels = await adapter.labels();
        const outcomes = await adapter.predict(cleanTest.map((row) => row.text));
        let correct = 0;
        outcomes.forEach((outcome, index) => {
          assert.ok(outcome.ok, `row ${index}: ${outcome.ok ? '' : outcome.error}`);
          assert.deepEqual(Object.keys(outcome.prediction.scores!), labels);
          if (outcome.prediction.label === cleanTest[index].label) correct++;
        });
        const accuracy = correct / cleanTest.length;
        const expected = shippedAccuracy(name);
        assert.ok(
          Math.abs(accuracy - expected) <= ACCURACY_TOLERANCE,
          `${name}: clean accuracy ${accuracy.toFixed(4)}, the zoo reports ${expected}`,
        );
      } finally {
        await adapter.close();
      }
    });
  }

  it('gives mean-pooled last_hidden_state representations, padding masked out', async () => {
    const folder = copyZooModel('export-ir10-clean', path.join(scratch.path, 'representations'));
    const config = JSON.parse(readFileSync(path.join(folder, 'config.json'), 'utf8')) as {
      hidden_size: number;
    };
    const representations = new OnnxRepresentations(folder);
    try {
      const [short, long] = [cleanTest[0].text, cleanTest.find((row) => row.text.length > 80)!.text];
      const [inBatch, other] = await representations.represent([short, long]);
      const [alone] = await representations.represent([short]);
      assert.equal(inBatch.length, config.hidden_size);
      assert.ok(inBatch.every(Number.isFinite));
      // Padded to the long sentence's length, the short one must still average its own tokens only.
      inBatch.forEach((value, i) => assert.ok(Math.abs(value - alone[i]) < 1e-4, `dimension ${i}`));
      assert.ok(other.some((value, i) => Math.abs(value - inBatch[i]) > 1e-3));
    } finally {
      await representations.close();
    }
  });

  it('names the file a folder without onnx/model.onnx is expected to hold', async () => {
    const folder = copyZooModel('dev-clean-a', path.join(scratch.path, 'no-onnx'));
    rmSync(path.join(folder, 'onnx', 'model.onnx'));
    const adapter = new OnnxAdapter({ kind: 'onnx', path: folder });
    try {
      const [outcome] = await adapter.predict(['a sentence']);
      assert.ok(!outcome.ok);
      assert.match(outcome.error, /has no onnx\/model\.onnx \(or onnx\/model_quantized\.onnx\)/);
      assert.ok(outcome.error.includes(folder));
    } finally {
      await adapter.close();
    }
  });
});
