import { SingleBar } from 'cli-progress';
import { judgeGates, type Gates } from '@tripline/evaluation';
import type { EvaluationVerdict } from '@tripline/contracts';
import type { ApiClient } from './api-client';

/** An evaluation run as `GET /v1/evaluations/{id}` returns it. */
export type Run = {
  id: string;
  status: string;
  model_id: string;
  dataset_kind: string;
  progress: { done: number; total: number };
  error: string | null;
  summary: Record<string, unknown> | null;
  baseline_run_id?: string | null;
};

/** The gates on one finished run, from what the evaluator stored with it. */
export function verdictsOf(run: Run, gates: Gates): EvaluationVerdict[] {
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

/** The columns a table of runs shows: accuracy, the worst canary trigger, regressions, error. */
export function headline(run: Run): Record<string, unknown> {
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

const unfinished = (run: Run) => run.status === 'queued' || run.status === 'running';

/** Polls the runs until they finish, with a progress bar on a terminal (not when printing JSON). */
export async function follow(api: ApiClient, runs: Run[], json: boolean): Promise<Run[]> {
  const bar =
    process.stderr.isTTY && !json
      ? new SingleBar({
          format: 'evaluating [{bar}] {percentage}% | {value}/{total} predictions | {runs}',
          hideCursor: true,
        })
      : undefined;
  const total = runs.reduce((sum, run) => sum + Math.max(run.progress.total, 1), 0);
  bar?.start(total, 0, { runs: `${runs.length} run(s)` });
  let current = runs;
  while (current.some(unfinished)) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    current = await Promise.all(current.map((run) => api.request<Run>('GET', `/v1/evaluations/${run.id}`)));
    const done = current.reduce(
      (sum, run) => sum + (unfinished(run) ? run.progress.done : Math.max(run.progress.total, 1)),
      0,
    );
    bar?.update(done, { runs: current.map((run) => `${run.dataset_kind}:${run.status}`).join(' ') });
  }
  bar?.stop();
  return current;
}
