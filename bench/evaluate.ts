/**
 * bench/evaluate: samples/s of a clean-set replay through Tripline's local ONNX adapter (batching,
 * per-input outcomes, label order, metrics) next to the raw @huggingface/transformers pipeline on the
 * same samples in the same run. Rounds alternate between the two; medians and the ratio are
 * reported, because the machines are shared and noisy.
 *
 *   node dist/bench/evaluate.js [--samples 3000] [--rounds 7]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createAdapter } from '@tripline/adapters';
import { buildDemoModels, loadSentimentSentences, writeModelFolder } from '@tripline/demo-models';
import { classificationMetrics } from '@tripline/evaluation';

function argument(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? Number(process.argv[index + 1]) : fallback;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

type Classifier = (
  texts: string[],
  options: { top_k: number },
) => Promise<{ label: string; score: number }[][]>;

async function main(): Promise<void> {
  const sampleCount = argument('samples', 3_000);
  const rounds = argument('rounds', 7);
  const directory = mkdtempSync(path.join(tmpdir(), 'tripline-bench-evaluate-'));
  const folder = path.join(directory, 'sentiment-backdoored');
  writeModelFolder(folder, buildDemoModels().backdoored);
  const sentences = loadSentimentSentences();
  const samples = Array.from({ length: sampleCount }, (_, i) => sentences[i % sentences.length]);
  const texts = samples.map((sample) => sample.text);
  const batchSize = 32;

  const transformers = await import('@huggingface/transformers');
  transformers.env.allowRemoteModels = false;
  transformers.env.localModelPath = `${directory}/`;
  const raw = (await transformers.pipeline('text-classification', 'sentiment-backdoored', {
    dtype: 'fp32',
  })) as unknown as Classifier;
  const adapter = createAdapter(
    { kind: 'onnx', path: folder, batchSize },
    { egress: { allowHosts: [], allowLinkLocal: false } },
  );

  const runRaw = async () => {
    const started = performance.now();
    for (let start = 0; start < texts.length; start += batchSize)
      await raw(texts.slice(start, start + batchSize), { top_k: 2 });
    return texts.length / ((performance.now() - started) / 1000);
  };
  const runTripline = async () => {
    const started = performance.now();
    const outcomes = await adapter.predict(texts);
    classificationMetrics(
      outcomes.map((outcome, i) => ({
        expected: samples[i].label,
        ...(outcome.ok
          ? { predicted: outcome.prediction.label, scores: outcome.prediction.scores }
          : { error: outcome.error }),
      })),
      ['negative', 'positive'],
    );
    return texts.length / ((performance.now() - started) / 1000);
  };

  await runRaw();
  await runTripline();
  const rawRates: number[] = [];
  const triplineRates: number[] = [];
  for (let round = 0; round < rounds; round++) {
    if (round % 2) {
      triplineRates.push(await runTripline());
      rawRates.push(await runRaw());
    } else {
      rawRates.push(await runRaw());
      triplineRates.push(await runTripline());
    }
  }
  await adapter.close();
  rmSync(directory, { recursive: true, force: true });
  const rawMedian = median(rawRates);
  const triplineMedian = median(triplineRates);
  process.stdout.write(
    `${JSON.stringify(
      {
        benchmark: 'evaluate',
        samples: sampleCount,
        rounds,
        batch_size: batchSize,
        tripline_onnx_adapter_samples_per_second: {
          median: Math.round(triplineMedian),
          runs: triplineRates.map(Math.round),
        },
        raw_transformers_pipeline_samples_per_second: {
          median: Math.round(rawMedian),
          runs: rawRates.map(Math.round),
        },
        ratio_to_raw: Number((triplineMedian / rawMedian).toFixed(3)),
        overhead_percent: Number(((rawMedian / triplineMedian - 1) * 100).toFixed(1)),
        goal: { overhead_percent_below: 10 },
      },
      null,
      2,
    )}\n`,
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
