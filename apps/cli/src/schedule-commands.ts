import type { Command } from 'commander';
import type { ApiContext } from './api-context';
import { printObject, printTable } from './output';

/** `tripline schedules list|create|delete`: when the evaluator replays a model's datasets. */
export function registerScheduleCommands(program: Command, { client, json }: ApiContext): void {
  const schedules = program.command('schedules').description('evaluation schedules');
  schedules
    .command('list')
    .action(async () =>
      printTable(
        (await client().request<{ items: Record<string, unknown>[] }>('GET', '/v1/schedules')).items,
        ['id', 'model_id', 'cron', 'enabled', 'dataset_ids'],
        json(),
      ),
    );
  schedules
    .command('create <model>')
    .requiredOption('--cron <expression>', 'e.g. "*/5 * * * *"')
    .requiredOption('--datasets <ids>', 'comma-separated dataset ids')
    .action(async (model: string, options: { cron: string; datasets: string }) =>
      printObject(
        await client().request('POST', '/v1/schedules', {
          model_id: model,
          cron: options.cron,
          dataset_ids: options.datasets.split(','),
        }),
        json(),
      ),
    );
  schedules.command('delete <id>').action(async (id: string) => {
    await client().request('DELETE', `/v1/schedules/${id}`);
    if (!json()) process.stdout.write(`schedule ${id} deleted\n`);
  });
}
