import type { Command } from 'commander';
import type { ApiContext } from './api-context';
import { printObject } from './output';

interface TriggerScanOptions {
  dataset: string;
  reference?: string;
  positions?: string;
  sampleSize: string;
  falseAlarmRate: string;
  candidates: string;
  seed: string;
}

/** The known-good model of differential mode, from "model" or "model@version". */
function referenceModel(text: string | undefined): { model_id: string; version?: string } | undefined {
  if (!text) return undefined;
  // The last @, so a model id may itself contain one; a leading @ is no version.
  const at = text.lastIndexOf('@');
  return at > 0 ? { model_id: text.slice(0, at), version: text.slice(at + 1) } : { model_id: text };
}

/**
 * `tripline trigger-scan MODEL --dataset CLEAN_SET`: queues the scan on the server, which replays
 * the model; unlike `tripline scan dataset` it reads no local file.
 */
export function registerTriggerScanCommand(program: Command, { client, json }: ApiContext): void {
  program
    .command('trigger-scan <model>')
    .description(
      'queue a trigger scan of a model: whole words (and phrases grown from them) inserted at the start, the end and inside clean inputs; flagged at a stated false-alarm rate',
    )
    .requiredOption('--dataset <id>', 'the clean set to insert candidates into')
    .option(
      '--reference <model[@version]>',
      'differential mode: a known-good model (or this model@earlier-version)',
    )
    .option('--positions <list>', 'comma-separated: prefix,suffix,random (default: all three)')
    .option('--sample-size <n>', 'clean inputs of the screening pass', '50')
    .option('--false-alarm-rate <p>', 'chance of flagging any ordinary word in the scan', '0.01')
    .option(
      '--candidates <source>',
      'vocabulary (falls back to clean set, live traffic and an English word list) or library',
      'vocabulary',
    )
    .option('--seed <n>', 'seed', '1')
    .action(async (model: string, options: TriggerScanOptions) => {
      const reference = referenceModel(options.reference);
      printObject(
        await client().request('POST', '/v1/scans', {
          type: 'trigger',
          model_id: model,
          dataset_id: options.dataset,
          candidates: options.candidates,
          sample_size: Number(options.sampleSize),
          false_alarm_rate: Number(options.falseAlarmRate),
          seed: Number(options.seed),
          ...(options.positions ? { positions: options.positions.split(',') } : {}),
          ...(reference ? { reference } : {}),
        }),
        json(),
      );
    });
}
