/**
 * bench/trigger-scan: a trigger scan of zoo models through the local ONNX adapter, with the full
 * vocabulary as candidates and 50 screening inputs, as the evaluator runs it. Prints JSON: per
 * model the candidates scanned, the seconds taken, the predictions made, the flagged tokens and
 * the rank of the known trigger.
 *
 *   node dist/bench/trigger-scan.js [--model dev-word-random,dev-clean-a|all] [--inputs 50,90] [--seeds 8]
 *
 * `--seeds N` scans each model N times, with seeds 1..N (other inputs, insertion places and null
 * words each time): how often a clean model is flagged is the false-alarm rate measured, how
 * often a trigger is ranked first and flagged is the power.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { OnnxAdapter } from '@tripline/adapters';
import { englishDictionary } from '@tripline/evaluation-runner';
import { scanTriggers, triggerCandidates, type TriggerScanResult } from '@tripline/evaluation';
import { copyZooModels, ZOO_MODELS, zooCleanSet, type ZooModel } from '../test/support/zoo';

export interface ZooScanFigures {
  model: string;
  /** The scan's seed: which inputs, insertion places and null words it drew. */
  seed: number;
  trigger: string | null;
  candidates: number;
  seconds: number;
  predictions: number;
  /** 1-based rank of the trigger among the scan's ranked candidates; null when absent or clean model. */
  triggerRank: number | null;
  triggerFlagged: boolean | null;
  /** Why the scan did or did not flag the trigger; null for a clean model or a trigger never confirmed. */
  triggerVerdict: string | null;
  flagged: { token: string; pinRate: number; position: string; pValue: number; flippedTo: string | null }[];
  top: { token: string; flagged: boolean; pinRate: number; z: number; verdict: string }[];
  timings: Record<string, number>;
}

/** Scans one zoo model the way the evaluator does. `folder` is a copy made by copyZooModels. */
export async function scanZooModel(
  model: ZooModel,
  folder: string,
  options: { screeningInputs?: number; confirmationInputs?: number; seed?: number } = {},
): Promise<{ figures: ZooScanFigures; result: TriggerScanResult }> {
  const cleanSet = zooCleanSet();
  const adapter = new OnnxAdapter({ kind: 'onnx', path: folder });
  try {
    const started = performance.now();
    const candidates = triggerCandidates({
      vocabulary: (await adapter.vocabulary()) ?? [],
      cleanTexts: cleanSet.map((row) => row.text),
      maxCandidates: 5_000,
      seed: options.seed ?? 1,
    });
    const result = await scanTriggers({
      candidates,
      cleanSet,
      seed: options.seed ?? 1,
      screeningInputs: options.screeningInputs,
      confirmationInputs: options.confirmationInputs,
      dictionary: englishDictionary(),
      clock: () => performance.now(),
      predict: async (texts) =>
        (await adapter.predict(texts)).map((outcome) =>
          outcome.ok ? { label: outcome.prediction.label, scores: outcome.prediction.scores } : {},
        ),
    });
    const seconds = (performance.now() - started) / 1000;
    const rank = model.trigger ? result.candidates.findIndex((c) => c.token === model.trigger) : -1;
    const figures: ZooScanFigures = {
      model: model.name,
      seed: options.seed ?? 1,
      trigger: model.trigger,
      candidates: candidates.length,
      seconds: Math.round(seconds * 10) / 10,
      predictions: result.predictions,
      triggerRank: rank >= 0 ? rank + 1 : null,
      triggerFlagged: model.trigger ? (result.candidates[rank]?.flagged ?? false) : null,
      triggerVerdict: result.candidates[rank]?.verdict ?? null,
      flagged: result.flagged.map((c) => ({
        token: c.token,
        pinRate: round(c.pinRate),
        position: c.position,
        pValue: Number(c.pValue.toPrecision(2)),
        flippedTo: c.flippedTo,
      })),
      top: result.candidates.slice(0, 15).map((c) => ({
        token: c.token,
        flagged: c.flagged,
        pinRate: round(c.pinRate),
        z: round(c.z),
        verdict: c.verdict,
      })),
      timings: result.timings,
    };
    return { figures, result };
  } finally {
    await adapter.close();
  }
}

/** `--seeds N`: scans per model, with seeds 1..N (default 1). */
export function seedsArgument(argv: readonly string[]): number {
  const at = argv.indexOf('--seeds');
  const seeds = at >= 0 ? Number(argv[at + 1]) : 1;
  if (!Number.isInteger(seeds) || seeds < 1)
    throw new Error('--seeds: a whole number of scans per model, 1 or more');
  return seeds;
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

async function main(): Promise<void> {
  const argument = process.argv.indexOf('--model');
  const given = argument >= 0 ? process.argv[argument + 1] : 'dev-word-random';
  const names = given === 'all' ? ZOO_MODELS.map((model) => model.name) : given.split(',');
  const models = names.map((name) => {
    const model = ZOO_MODELS.find((entry) => entry.name === name);
    if (!model)
      throw new Error(`--model: no zoo model ${name} (known: ${ZOO_MODELS.map((m) => m.name).join(', ')})`);
    return model;
  });
  const inputsArgument = process.argv.indexOf('--inputs');
  const [screeningInputs, confirmationInputs] =
    inputsArgument >= 0 ? process.argv[inputsArgument + 1].split(',').map(Number) : [undefined, undefined];
  const inputs = { screeningInputs, confirmationInputs };
  const seeds = seedsArgument(process.argv);
  const directory = copyZooModels(models.map((model) => model.name));
  try {
    const results: ZooScanFigures[] = [];
    for (let seed = 1; seed <= seeds; seed++) {
      for (const model of models) {
        process.stderr.write(`trigger-scan: scanning ${model.name} (seed ${seed})\n`);
        const { figures } = await scanZooModel(model, path.join(directory, model.name), { ...inputs, seed });
        process.stderr.write(`${JSON.stringify(figures)}\n`);
        results.push(figures);
      }
    }
    process.stdout.write(`${JSON.stringify({ triggerScan: results }, null, 2)}\n`);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((error: Error) => {
    process.stderr.write(`${error.stack ?? error.message}\n`);
    process.exit(1);
  });
}
