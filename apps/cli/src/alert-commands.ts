import type { Command } from 'commander';
import type { ApiContext } from './api-context';
import { usageError } from './exit-codes';
import { printObject, printTable } from './output';

/** `tripline alerts list|ack|resolve` and `tripline silences create|list`: the on-call's commands. */
export function registerAlertCommands(program: Command, context: ApiContext): void {
  registerAlerts(program, context);
  registerSilences(program, context);
}

function registerAlerts(program: Command, { client, json }: ApiContext): void {
  const alerts = program.command('alerts').description('alerts: list, acknowledge, resolve');
  alerts
    .command('list')
    .option('--state <states>', 'comma-separated: pending, firing, acknowledged, resolved or open', 'open')
    .option('--model <id>', 'only this model')
    .option('--limit <n>', 'at most this many', '100')
    .action(async (options: { state: string; model?: string; limit: string }) => {
      const query = new URLSearchParams({
        state: options.state,
        limit: options.limit,
        ...(options.model ? { model_id: options.model } : {}),
      });
      const { items } = await client().request<{ items: Record<string, unknown>[] }>(
        'GET',
        `/v1/alerts?${query}`,
      );
      printTable(
        items,
        ['id', 'state', 'severity', 'rule_name', 'model_id', 'metric', 'value', 'threshold'],
        json(),
      );
    });
  alerts
    .command('ack <id>')
    .description('acknowledge a firing alert (repeats stop; PagerDuty is told)')
    .action(async (id: string) =>
      printObject(
        await client().request('POST', `/v1/alerts/${encodeURIComponent(id)}/acknowledge`, {}),
        json(),
      ),
    );
  alerts
    .command('resolve <id>')
    .description('resolve an alert by hand')
    .action(async (id: string) =>
      printObject(await client().request('POST', `/v1/alerts/${encodeURIComponent(id)}/resolve`, {}), json()),
    );
}

function registerSilences(program: Command, { client, json }: ApiContext): void {
  const silences = program.command('silences').description('silences: create, list');
  silences
    .command('create <matchers...>')
    .description(
      "silence alerts whose labels match, e.g. model_id=fraud 'alertname=~drift.*' severity!=critical",
    )
    .requiredOption('--for <duration>', 'how long, e.g. 30m, 2h, 1d')
    .option('--comment <text>', 'why, for whoever finds the silence later')
    .action(async (matchers: string[], options: { for: string; comment?: string }) =>
      printObject(
        await client().request('POST', '/v1/silences', {
          matchers: matchers.map(parseMatcher),
          duration_seconds: parseDuration(options.for),
          comment: options.comment,
        }),
        json(),
      ),
    );
  silences
    .command('list')
    .option('--status <status>', 'active, pending, expired or all', 'active')
    .action(async (options: { status: string }) => {
      const { items } = await client().request<{ items: Record<string, unknown>[] }>(
        'GET',
        `/v1/silences?status=${encodeURIComponent(options.status)}`,
      );
      printTable(
        items.map((silence) => ({
          ...silence,
          matchers: (silence.matchers as { name: string; op: string; value: string }[])
            .map((m) => `${m.name}${m.op}${JSON.stringify(m.value)}`)
            .join(' '),
        })),
        ['id', 'status', 'matchers', 'ends_at', 'created_by', 'comment'],
        json(),
      );
    });
}

/** "name=value", "name!=value", "name=~regex", "name!~regex". */
function parseMatcher(text: string): { name: string; op: string; value: string } {
  const match = /^([a-zA-Z_][a-zA-Z0-9_.]*)(=~|!~|!=|=)(.*)$/.exec(text);
  if (!match)
    throw usageError(`matcher "${text}" must look like name=value, name!=value, name=~regex or name!~regex`);
  return { name: match[1], op: match[2], value: match[3] };
}

function parseDuration(text: string): number {
  const match = /^(\d+)\s*(s|m|h|d)$/.exec(text.trim());
  if (!match) throw usageError(`--for must look like 90s, 30m, 2h or 1d (got "${text}")`);
  return Number(match[1]) * { s: 1, m: 60, h: 3_600, d: 86_400 }[match[2] as 's' | 'm' | 'h' | 'd'];
}
