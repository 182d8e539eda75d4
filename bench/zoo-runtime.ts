/**
 * bench/zoo-runtime: predictions/s of the development zoo's PyTorch BERT classifiers (a
 * TorchScript export and the IR-10 dynamo export) through Tripline's local ONNX adapter, on the
 * zoo's 600 clean test sentences, at batch sizes 32 and 64. Medians over rounds, because the
 * machines are shared and noisy.
 *
 *   node dist/bench/zoo-runtime.js [--rounds 3]   (zoo: $TRIPLINE_ZOO_DIR or ../shared/models)
 */
import { OnnxAdapter } from '@tripline/adapters';
import { copyZooModel, temporaryDirectory, zooCleanSet } from '@tripline/testing';

const MODELS = ['dev-clean-a', 'export-ir10-clean'];
const BATCH_SIZES = [32, 64];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

async function main(): Promise<void> {
  const index = process.argv.indexOf('--rounds');
  const rounds = index > 0 ? Number(process.argv[index + 1]) : 3;
  const texts = zooCleanSet().map((row) => row.text);
  const scratch = temporaryDirectory('tripline-bench-zoo-');
  const results: Record<string, Record<string, { median: number; runs: number[] }>> = {};
  try {
    for (const name of MODELS) {
      const folder = copyZooModel(name, scratch.path);
      results[name] = {};
      for (const batchSize of BATCH_SIZES) {
        const adapter = new OnnxAdapter({ kind: 'onnx', path: folder, batchSize });
        await adapter.predict(texts.slice(0, batchSize)); // load and warm up
        const rates: number[] = [];
        for (let round = 0; round < rounds; round++) {
          const started = performance.now();
          const outcomes = await adapter.predict(texts);
          const failed = outcomes.find((outcome) => !outcome.ok);
          if (failed && !failed.ok) throw new Error(`${name}: ${failed.error}`);
          rates.push(texts.length / ((performance.now() - started) / 1000));
        }
        await adapter.close();
        results[name][`batch_${batchSize}`] = {
          median: Math.round(median(rates)),
          runs: rates.map(Math.round),
        };
      }
    }
  } finally {
    scratch.remove();
  }
  process.stdout.write(
    `${JSON.stringify(
      { benchmark: 'zoo-runtime', samples: texts.length, rounds, predictions_per_second: results },
      null,
      2,
    )}\n`,
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
