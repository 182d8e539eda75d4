import type { Command } from 'commander';
import type { ApiContext } from './api-context';
import { printObject, printTable } from './output';

/** `tripline datasets list|upload|canaries`: clean, canary and probe sets in the registry. */
export function registerDatasetCommands(program: Command, { client, json }: ApiContext): void {
  const datasets = program.command('datasets').description('clean, canary and probe sets');
  datasets
    .command('list')
    .option('--model <id>', 'only this model')
    .option('--kind <kind>', 'clean, canary or probe')
    .action(async (options: { model?: string; kind?: string }) => {
      const query = new URLSearchParams({
        ...(options.model ? { model_id: options.model } : {}),
        ...(options.kind ? { kind: options.kind } : {}),
      });
      const { items } = await client().request<{ items: Record<string, unknown>[] }>(
        'GET',
        `/v1/datasets?${query}`,
      );
      printTable(items, ['id', 'name', 'kind', 'model_id', 'sample_count', 'labels'], json());
    });
  datasets
    .command('upload <file>')
    .description('upload a JSONL or CSV file (streamed); problems are reported with line and field')
    .requiredOption('--name <name>', 'dataset name')
    .requiredOption('--kind <kind>', 'clean, canary or probe')
    .option('--model <id>', 'the model it belongs to')
    .option('--source <source>', 'where the data came from (provenance)')
    .action(
      async (file: string, options: { name: string; kind: string; model?: string; source?: string }) => {
        const csv = file.toLowerCase().endsWith('.csv');
        const query = new URLSearchParams({
          name: options.name,
          kind: options.kind,
          format: csv ? 'csv' : 'jsonl',
          ...(options.model ? { model_id: options.model } : {}),
          ...(options.source ? { source: options.source } : {}),
        });
        printObject(
          await client().upload('/v1/datasets?' + query, file, csv ? 'text/csv' : 'application/x-ndjson'),
          json(),
        );
      },
    );
  datasets
    .command('canaries <clean-set-id>')
    .description('generate a canary set from a clean set')
    .requiredOption('--target <label>', 'the label a backdoor would force')
    .option('--triggers <ids>', 'comma-separated built-in trigger ids (default: all)')
    .option('--custom <tokens>', 'comma-separated triggers of your own')
    .option('--per-trigger <n>', 'clean twins per trigger', '50')
    .option('--seed <n>', 'seed', '1')
    .action(
      async (
        id: string,
        options: { target: string; triggers?: string; custom?: string; perTrigger: string; seed: string },
      ) =>
        printObject(
          await client().request('POST', `/v1/datasets/${id}/canaries`, {
            target_label: options.target,
            triggers: options.triggers?.split(','),
            custom_triggers: options.custom?.split(','),
            samples_per_trigger: Number(options.perTrigger),
            seed: Number(options.seed),
          }),
          json(),
        ),
    );
}
