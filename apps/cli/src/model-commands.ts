import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { ApiContext } from './api-context';
import { usageError } from './exit-codes';
import { printObject, printTable } from './output';

/** `tripline models list|create|show|add-version|stats`: the model registry and its live stream. */
export function registerModelCommands(program: Command, { client, json }: ApiContext): void {
  const models = program.command('models').description('registered models');
  models
    .command('list')
    .description('list models')
    .action(async () =>
      printTable(
        (await client().request<{ items: Record<string, unknown>[] }>('GET', '/v1/models')).items,
        ['id', 'task', 'labels', 'owner', 'current_version_id'],
        json(),
      ),
    );
  models
    .command('create <id>')
    .description('register a model')
    .requiredOption('--task <task>', 'text-classification, text-generation or rag')
    .option('--labels <labels>', 'comma-separated label set', '')
    .option('--owner <owner>', 'owning team or person')
    .option('--name <name>', 'display name')
    .action(async (id: string, options: { task: string; labels: string; owner?: string; name?: string }) =>
      printObject(
        await client().request('POST', '/v1/models', {
          id,
          task: options.task,
          labels: options.labels ? options.labels.split(',').map((l) => l.trim()) : [],
          owner: options.owner,
          name: options.name,
        }),
        json(),
      ),
    );
  models
    .command('show <id>')
    .description('one model and its versions')
    .action(async (id: string) => {
      const api = client();
      const model = await api.request<Record<string, unknown>>('GET', `/v1/models/${encodeURIComponent(id)}`);
      const versions = await api.request<{ items: unknown[] }>(
        'GET',
        `/v1/models/${encodeURIComponent(id)}/versions`,
      );
      printObject({ ...model, versions: versions.items }, json());
    });
  registerAddVersion(models, { client, json });
  models
    .command('stats <id>')
    .description('event count, labels, confidence, latency and feedback accuracy of the live stream')
    .option('--from <time>', 'RFC 3339 or epoch ms (default: 24 hours ago)')
    .option('--to <time>', 'RFC 3339 or epoch ms (default: now)')
    .action(async (id: string, options: { from?: string; to?: string }) => {
      const query = new URLSearchParams(
        Object.entries(options).filter(([, value]) => value !== undefined) as [string, string][],
      );
      printObject(
        await client().request('GET', `/v1/models/${encodeURIComponent(id)}/stats?${query}`),
        json(),
      );
    });
}

/**
 * `tripline models add-version`: the adapter says how to call the version; the manifest, read from
 * a local file and stored with the version, is what its model folder must match when it is used.
 */
function registerAddVersion(models: Command, { client, json }: ApiContext): void {
  models
    .command('add-version <id> <version>')
    .description(
      'register a model version from an adapter config (JSON), e.g. \'{"kind":"onnx","path":"/models/sentiment"}\'',
    )
    .requiredOption('--adapter <json>', 'adapter config as JSON')
    .option(
      '--manifest <file>',
      'artefact manifest (tripline manifest build, keys sign) the folder must match',
    )
    .option('--no-activate', 'register without making it current')
    .action(
      async (
        id: string,
        version: string,
        options: { adapter: string; manifest?: string; activate: boolean },
      ) =>
        printObject(
          await client().request('POST', `/v1/models/${encodeURIComponent(id)}/versions`, {
            version,
            adapter: parseJson(options.adapter, '--adapter'),
            manifest: options.manifest
              ? parseJson(readFileSync(options.manifest, 'utf8'), '--manifest')
              : undefined,
            activate: options.activate,
          }),
          json(),
        ),
    );
}

function parseJson(text: string, option: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw usageError(`${option} must be JSON: ${(error as Error).message}`);
  }
}
