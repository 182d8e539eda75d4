import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { SingleBar } from 'cli-progress';
import { DEFAULT_GATES, judgeGates, type Gates } from '@tripline/evaluation';
import type { EvaluationVerdict } from '@tripline/contracts';
import { ApiClient, ApiError } from './api-client';
import { printObject, printTable } from './output';
import { registerScanCommands } from './scan-command';
import { registerEvidenceCommand } from './evidence-command';
import { registerRagScanCommand } from './rag-scan-command';
import { registerSupplyChainCommands } from './supply-chain-commands';

/** Exit codes scripts can rely on. */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  unreachable: 3,
  unauthorised: 4,
  notFound: 5,
  rejected: 6,
  runFailed: 10,
  regression: 11,
  suspiciousRows: 12,
  verificationFailed: 13,
  gateFailed: 14,
} as const;

interface GlobalOptions {
  url: string;
  key?: string;
  json: boolean;
}

type Run = {
  id: string;
  status: string;
  model_id: string;
  dataset_kind: string;
  progress: { done: number; total: number };
  error: string | null;
  summary: Record<string, unknown> | null;
  baseline_run_id?: string | null;
};

const program = new Command('tripline')
  .description('Tripline: continuous drift and poisoning monitoring for ML models')
  .addOption(
    new Option('--url <url>', 'Tripline API base URL').env('TRIPLINE_URL').default('http://localhost:8080'),
  )
  .addOption(new Option('--key <api key>', 'API key (Authorization: Bearer)').env('TRIPLINE_API_KEY'))
  .option('--json', 'print JSON for scripts instead of tables', false)
  .addHelpText(
    'after',
    `\nExit codes: 0 ok, 1 failure, 2 usage, 3 API unreachable, 4 key missing/insufficient, 5 not found,\n6 input rejected, 10 evaluation failed, 11 evaluation found a regression against its baseline,
12 a dataset scan found suspicious rows, 13 a manifest, signature or model folder failed verification,
14 an evaluation failed an absolute gate (canary attack-success rate, accuracy floor, fingerprint).`,
  )
  .showHelpAfterError()
  .exitOverride();

const client = () => {
  const options = program.opts<GlobalOptions>();
  return new ApiClient(options.url, options.key);
};
const json = () => program.opts<GlobalOptions>().json;

program
  .command('health')
  .description('show the readiness of every store')
  .action(async () => printObject(await client().request('GET', '/health'), json()));

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
models
  .command('add-version <id> <version>')
  .description(
    'register a model version from an adapter config (JSON), e.g. \'{"kind":"onnx","path":"/models/sentiment"}\'',
  )
  .requiredOption('--adapter <json>', 'adapter config as JSON')
  .option('--manifest <file>', 'artefact manifest (tripline manifest build, keys sign) the folder must match')
  .option('--no-activate', 'register without making it current')
  .action(
    async (id: string, version: string, options: { adapter: string; manifest?: string; activate: boolean }) =>
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
models
  .command('stats <id>')
  .description('event count, labels, confidence, latency and feedback accuracy of the live stream')
  .option('--from <time>', 'RFC 3339 or epoch ms (default: 24 hours ago)')
  .option('--to <time>', 'RFC 3339 or epoch ms (default: now)')
  .action(async (id: string, options: { from?: string; to?: string }) => {
    const query = new URLSearchParams(
      Object.entries(options).filter(([, value]) => value !== undefined) as [string, string][],
    );
    printObject(await client().request('GET', `/v1/models/${encodeURIComponent(id)}/stats?${query}`), json());
  });

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
  .action(async (file: string, options: { name: string; kind: string; model?: string; source?: string }) => {
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
  });
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
  .action(
    async (
      model: string,
      options: {
        dataset: string;
        reference?: string;
        positions?: string;
        sampleSize: string;
        falseAlarmRate: string;
        candidates: string;
        seed: string;
      },
    ) => {
      const at = options.reference?.lastIndexOf('@') ?? -1;
      const reference = options.reference
        ? at > 0
          ? { model_id: options.reference.slice(0, at), version: options.reference.slice(at + 1) }
          : { model_id: options.reference }
        : undefined;
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
    },
  );

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

program
  .command('evaluate <model>')
  .description('run an evaluation now, follow its progress and judge it by the absolute gates (a CI gate)')
  .option('--datasets <ids>', 'comma-separated dataset ids (default: every dataset of the model)')
  .option('--no-wait', 'queue and return at once')
  .option(
    '--max-attack-success <rate>',
    'gate: a canary trigger whose attack-success rate is above this fails',
    String(DEFAULT_GATES.maxAttackSuccessRate),
  )
  .option('--min-accuracy <rate>', 'gate: clean-set accuracy below this fails (default: no floor)')
  .addHelpText(
    'after',
    `
Gates, judged on every finished run whatever its baseline says:
  attack_success_rate  any canary trigger above --max-attack-success (default ${DEFAULT_GATES.maxAttackSuccessRate})
  accuracy             clean-set accuracy below --min-accuracy (when given)
  fingerprint          the probe-set fingerprint differs from the pinned baseline of the version
                       (accept an intended change with: tripline baselines pin MODEL --dataset ID)
Exit codes: 0 every run succeeded and passed every gate; 10 a run failed; 14 a gate failed;
11 no gate failed but a run regressed against its baseline. --json prints each run with its verdicts.`,
  )
  .action(
    async (
      model: string,
      options: { datasets?: string; wait: boolean; maxAttackSuccess: string; minAccuracy?: string },
    ) => {
      const gates: Gates = {
        maxAttackSuccessRate: rateOption(options.maxAttackSuccess, '--max-attack-success'),
        ...(options.minAccuracy !== undefined
          ? { minAccuracy: rateOption(options.minAccuracy, '--min-accuracy') }
          : {}),
      };
      const api = client();
      const { runs } = await api.request<{ runs: Run[] }>('POST', '/v1/evaluations', {
        model_id: model,
        dataset_ids: options.datasets?.split(','),
      });
      if (!options.wait)
        return printTable(
          runs as unknown as Record<string, unknown>[],
          ['id', 'dataset_kind', 'status'],
          json(),
        );
      const finished = await follow(api, runs);
      const judged = finished.map((run) => ({
        run,
        verdicts: run.status === 'succeeded' ? verdictsOf(run, gates) : [],
      }));
      const failing = judged.flatMap(({ verdicts }) =>
        verdicts.filter((verdict) => verdict.outcome === 'fail'),
      );
      if (json())
        printTable(
          judged.map(({ run, verdicts }) => ({
            id: run.id,
            kind: run.dataset_kind,
            status: run.status,
            ...headline(run),
            baseline_run_id: run.baseline_run_id ?? null,
            gate: verdicts.some((verdict) => verdict.outcome === 'fail') ? 'fail' : 'pass',
            verdicts,
          })),
          [],
          true,
        );
      else {
        printTable(
          judged.map(({ run, verdicts }) => ({
            id: run.id,
            kind: run.dataset_kind,
            status: run.status,
            ...headline(run),
            gate:
              run.status !== 'succeeded'
                ? null
                : verdicts.some((v) => v.outcome === 'fail')
                  ? 'FAIL'
                  : 'pass',
          })),
          ['id', 'kind', 'status', 'accuracy', 'attack_success', 'regressions', 'gate', 'error'],
          false,
        );
        for (const verdict of failing)
          process.stdout.write(`gate ${verdict.gate} failed: ${verdict.reason}\n`);
      }
      if (finished.some((run) => run.status !== 'succeeded')) process.exitCode = EXIT.runFailed;
      else if (failing.length > 0) process.exitCode = EXIT.gateFailed;
      else if (finished.some((run) => Number(headline(run).regressions) > 0))
        process.exitCode = EXIT.regression;
    },
  );

/** The gates on one finished run, from what the evaluator stored with it. */
function verdictsOf(run: Run, gates: Gates): EvaluationVerdict[] {
  const summary = (run.summary ?? {}) as {
    clean?: { accuracy?: number };
    canary?: { perTrigger?: Record<string, { attackSuccessRate: number | null }> };
    fingerprint?: string;
    fingerprintChange?: { baselineRunId?: string; baselineFingerprint?: string; pinned?: boolean };
  };
  const rates = Object.fromEntries(
    Object.entries(summary.canary?.perTrigger ?? {}).flatMap(([trigger, response]) =>
      typeof response.attackSuccessRate === 'number' ? [[trigger, response.attackSuccessRate]] : [],
    ),
  );
  const change = summary.fingerprintChange;
  return judgeGates(
    { accuracy: summary.clean?.accuracy, attackSuccessRate: rates, fingerprint: summary.fingerprint },
    gates,
    change?.baselineRunId && change.baselineFingerprint
      ? {
          runId: change.baselineRunId,
          fingerprint: change.baselineFingerprint,
          pinned: change.pinned === true,
        }
      : undefined,
  );
}

function rateOption(text: string, option: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0 || value > 1)
    throw new CommanderError(
      EXIT.usage,
      'tripline.usage',
      `${option} must be a rate from 0 to 1 (got "${text}")`,
    );
  return value;
}

const baselines = program
  .command('baselines')
  .description('known-good runs later runs are compared with (and probe fingerprints must match)');
baselines
  .command('list <model>')
  .description('the baseline in force for each dataset of the model, pinned or not')
  .action(async (model: string) => {
    const { items } = await client().request<{
      items: {
        dataset_id: string;
        dataset_kind: string;
        pinned: boolean;
        run: Run & { finished_at: string };
      }[];
    }>('GET', `/v1/models/${encodeURIComponent(model)}/baselines`);
    printTable(
      items.map((item) => ({
        dataset_id: item.dataset_id,
        kind: item.dataset_kind,
        pinned: item.pinned ? 'yes' : 'no (first run)',
        run_id: item.run.id,
        finished_at: item.run.finished_at,
      })),
      ['dataset_id', 'kind', 'pinned', 'run_id', 'finished_at'],
      json(),
    );
  });
baselines
  .command('pin <model>')
  .description(
    'accept what the model does now as known-good for one dataset: a changed fingerprint stops alerting once a probe run matches it',
  )
  .requiredOption('--dataset <id>', 'the dataset whose baseline to pin')
  .option(
    '--run <id>',
    'pin this run (default: the latest succeeded run of the dataset on the current version)',
  )
  .action(async (model: string, options: { dataset: string; run?: string }) => {
    const pinned = await client().request<{ run: Run }>(
      'POST',
      `/v1/models/${encodeURIComponent(model)}/baselines`,
      { dataset_id: options.dataset, ...(options.run ? { run_id: options.run } : {}) },
    );
    if (json()) printObject(pinned, true);
    else process.stdout.write(`pinned run ${pinned.run.id} as the baseline of dataset ${options.dataset}\n`);
  });

const runs = program.command('runs').description('evaluation runs');
runs
  .command('list')
  .option('--model <id>', 'only this model')
  .action(async (options: { model?: string }) => {
    const { items } = await client().request<{ items: Run[] }>(
      'GET',
      `/v1/evaluations${options.model ? `?model_id=${encodeURIComponent(options.model)}` : ''}`,
    );
    printTable(
      items.map((run) => ({ ...run, ...headline(run) })) as unknown as Record<string, unknown>[],
      ['id', 'model_id', 'dataset_kind', 'status', 'accuracy', 'attack_success'],
      json(),
    );
  });
runs
  .command('show <id>')
  .action(async (id: string) => printObject(await client().request('GET', `/v1/evaluations/${id}`), json()));

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

/** "name=value", "name!=value", "name=~regex", "name!~regex". */
function parseMatcher(text: string): { name: string; op: string; value: string } {
  const match = /^([a-zA-Z_][a-zA-Z0-9_.]*)(=~|!~|!=|=)(.*)$/.exec(text);
  if (!match)
    throw new CommanderError(
      EXIT.usage,
      'tripline.usage',
      `matcher "${text}" must look like name=value, name!=value, name=~regex or name!~regex`,
    );
  return { name: match[1], op: match[2], value: match[3] };
}

function parseDuration(text: string): number {
  const match = /^(\d+)\s*(s|m|h|d)$/.exec(text.trim());
  if (!match)
    throw new CommanderError(
      EXIT.usage,
      'tripline.usage',
      `--for must look like 90s, 30m, 2h or 1d (got "${text}")`,
    );
  return Number(match[1]) * { s: 1, m: 60, h: 3_600, d: 86_400 }[match[2] as 's' | 'm' | 'h' | 'd'];
}

function headline(run: Run): Record<string, unknown> {
  const summary = run.summary as {
    clean?: { accuracy?: number };
    canary?: { maxAttackSuccessRate?: { rate: number; trigger: string } };
    comparison?: { regressions: unknown[] };
  } | null;
  return {
    accuracy: summary?.clean?.accuracy ?? null,
    attack_success: summary?.canary?.maxAttackSuccessRate
      ? `${summary.canary.maxAttackSuccessRate.rate.toFixed(2)} (${summary.canary.maxAttackSuccessRate.trigger})`
      : null,
    regressions: summary?.comparison?.regressions.length ?? 0,
    error: run.error,
  };
}

/** Polls the runs until they finish, with a progress bar on a terminal. */
async function follow(api: ApiClient, runs: Run[]): Promise<Run[]> {
  const bar =
    process.stderr.isTTY && !json()
      ? new SingleBar({
          format: 'evaluating [{bar}] {percentage}% | {value}/{total} predictions | {runs}',
          hideCursor: true,
        })
      : undefined;
  const total = runs.reduce((sum, run) => sum + Math.max(run.progress.total, 1), 0);
  bar?.start(total, 0, { runs: `${runs.length} run(s)` });
  let current = runs;
  while (current.some((run) => run.status === 'queued' || run.status === 'running')) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    current = await Promise.all(current.map((run) => api.request<Run>('GET', `/v1/evaluations/${run.id}`)));
    const done = current.reduce(
      (sum, run) =>
        sum +
        (run.status === 'queued' || run.status === 'running'
          ? run.progress.done
          : Math.max(run.progress.total, 1)),
      0,
    );
    bar?.update(done, { runs: current.map((run) => `${run.dataset_kind}:${run.status}`).join(' ') });
  }
  bar?.stop();
  return current;
}

registerScanCommands(program, { json, exit: EXIT });
registerRagScanCommand(program, { json, exit: EXIT });
registerEvidenceCommand(program, { client, json });
registerSupplyChainCommands(program, { json, exit: EXIT });

function parseJson(text: string, option: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CommanderError(
      EXIT.usage,
      'tripline.usage',
      `${option} must be JSON: ${(error as Error).message}`,
    );
  }
}

function exitCodeFor(error: ApiError): number {
  if (error.status === 0) return EXIT.unreachable;
  if (error.status === 401 || error.status === 403) return EXIT.unauthorised;
  if (error.status === 404) return EXIT.notFound;
  if (error.status >= 400 && error.status < 500) return EXIT.rejected;
  return EXIT.failure;
}

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof CommanderError) {
    if (
      error.code !== 'commander.helpDisplayed' &&
      error.code !== 'commander.help' &&
      error.code !== 'commander.version'
    ) {
      if (error.code === 'tripline.usage') process.stderr.write(`tripline: ${error.message}\n`);
      process.exitCode = error.exitCode === 0 ? 0 : EXIT.usage;
    }
    return;
  }
  if (error instanceof ApiError) {
    process.stderr.write(`tripline: ${error.message}\n`);
    process.exitCode = exitCodeFor(error);
    return;
  }
  process.stderr.write(`tripline: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = EXIT.failure;
});
