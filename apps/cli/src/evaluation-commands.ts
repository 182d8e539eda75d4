import type { Command } from 'commander';
import { DEFAULT_GATES, type Gates } from '@tripline/evaluation';
import type { EvaluationVerdict } from '@tripline/contracts';
import type { ApiContext } from './api-context';
import { EXIT, usageError } from './exit-codes';
import { follow, headline, verdictsOf, type Run } from './evaluation-runs';
import { printObject, printTable } from './output';

/** `tripline evaluate`, `tripline baselines list|pin` and `tripline runs list|show`. */
export function registerEvaluationCommands(program: Command, context: ApiContext): void {
  registerEvaluate(program, context);
  registerBaselines(program, context);
  registerRuns(program, context);
}

interface EvaluateOptions {
  datasets?: string;
  wait: boolean;
  maxAttackSuccess: string;
  minAccuracy?: string;
}

/** A finished run with the verdicts of the absolute gates (none when the run did not succeed). */
type JudgedRun = { run: Run; verdicts: EvaluationVerdict[] };

function registerEvaluate(program: Command, { client, json }: ApiContext): void {
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
    .action(async (model: string, options: EvaluateOptions) => {
      const gates = gatesFrom(options);
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
      const finished = await follow(api, runs, json());
      const judged = finished.map((run) => ({
        run,
        verdicts: run.status === 'succeeded' ? verdictsOf(run, gates) : [],
      }));
      const failing = judged.flatMap(({ verdicts }) =>
        verdicts.filter((verdict) => verdict.outcome === 'fail'),
      );
      printJudged(judged, failing, json());
      const exitCode = evaluateExitCode(finished, failing);
      if (exitCode !== undefined) process.exitCode = exitCode;
    });
}

function gatesFrom(options: EvaluateOptions): Gates {
  return {
    maxAttackSuccessRate: rateOption(options.maxAttackSuccess, '--max-attack-success'),
    ...(options.minAccuracy !== undefined
      ? { minAccuracy: rateOption(options.minAccuracy, '--min-accuracy') }
      : {}),
  };
}

function rateOption(text: string, option: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0 || value > 1)
    throw usageError(`${option} must be a rate from 0 to 1 (got "${text}")`);
  return value;
}

/** Each run with its gate; as JSON every verdict too, as a table the reasons of the failing ones. */
function printJudged(judged: JudgedRun[], failing: EvaluationVerdict[], json: boolean): void {
  const fails = (verdicts: EvaluationVerdict[]) => verdicts.some((verdict) => verdict.outcome === 'fail');
  if (json) {
    printTable(
      judged.map(({ run, verdicts }) => ({
        id: run.id,
        kind: run.dataset_kind,
        status: run.status,
        ...headline(run),
        baseline_run_id: run.baseline_run_id ?? null,
        gate: fails(verdicts) ? 'fail' : 'pass',
        verdicts,
      })),
      [],
      true,
    );
    return;
  }
  printTable(
    judged.map(({ run, verdicts }) => ({
      id: run.id,
      kind: run.dataset_kind,
      status: run.status,
      ...headline(run),
      gate: run.status !== 'succeeded' ? null : fails(verdicts) ? 'FAIL' : 'pass',
    })),
    ['id', 'kind', 'status', 'accuracy', 'attack_success', 'regressions', 'gate', 'error'],
    false,
  );
  for (const verdict of failing) process.stdout.write(`gate ${verdict.gate} failed: ${verdict.reason}\n`);
}

/**
 * A failed run first (its gates were never judged), then a failed gate, then a regression against
 * the baseline: a CI script learns the most serious finding. Undefined: all passed, exit 0.
 */
function evaluateExitCode(finished: Run[], failing: EvaluationVerdict[]): number | undefined {
  if (finished.some((run) => run.status !== 'succeeded')) return EXIT.runFailed;
  if (failing.length > 0) return EXIT.gateFailed;
  if (finished.some((run) => Number(headline(run).regressions) > 0)) return EXIT.regression;
  return undefined;
}

function registerBaselines(program: Command, { client, json }: ApiContext): void {
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
      else
        process.stdout.write(`pinned run ${pinned.run.id} as the baseline of dataset ${options.dataset}\n`);
    });
}

function registerRuns(program: Command, { client, json }: ApiContext): void {
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
    .action(async (id: string) =>
      printObject(await client().request('GET', `/v1/evaluations/${id}`), json()),
    );
}
