import type { Alert, Baseline, Run, TimeSeries } from './types';

/** What the fleet page says about one model, from the answers of the API (pure: tested through the page). */
export interface ModelState {
  clean: { accuracy: number | null; baseline: number | null; at: string | null };
  canary: { worst: number | null; trigger: string | null; at: string | null };
  fingerprint: 'matches' | 'changed' | 'unknown' | null;
  drift: { verdict: 'drift' | 'ok' | 'insufficient-data' | null; drifting: string[] };
  firing: number | null;
  eventsPerSecond: number | null;
}

const finishedAt = (run: Run) => new Date(run.finished_at ?? run.created_at).getTime();

/** The newest succeeded replay of each dataset, newest first. */
export function latestPerDataset(runs: Run[]): Run[] {
  const latest = new Map<string, Run>();
  for (const run of runs) {
    if (run.mode !== 'replay' || run.status !== 'succeeded') continue;
    const seen = latest.get(run.dataset_id);
    if (!seen || finishedAt(run) > finishedAt(seen)) latest.set(run.dataset_id, run);
  }
  return [...latest.values()].sort((a, b) => finishedAt(b) - finishedAt(a));
}

export function worstTrigger(run: Run): { trigger: string | null; rate: number | null } {
  const max = run.summary?.canary?.maxAttackSuccessRate;
  if (max && typeof max.rate === 'number') return { trigger: max.trigger, rate: max.rate };
  const perTrigger = run.summary?.canary?.perTrigger ?? {};
  let trigger: string | null = null;
  let rate: number | null = null;
  for (const [name, figures] of Object.entries(perTrigger)) {
    const value = figures.attackSuccessRate;
    if (typeof value === 'number' && (rate === null || value > rate)) {
      rate = value;
      trigger = name;
    }
  }
  return { trigger, rate };
}

export function modelState(
  runs: Run[],
  baselines: Baseline[],
  firing: Alert[] | null,
  series: TimeSeries | null,
  now: number,
): ModelState {
  const latest = latestPerDataset(runs);
  const clean = latest.find((run) => run.dataset_kind === 'clean');
  const cleanBaseline = clean && baselines.find((baseline) => baseline.dataset_id === clean.dataset_id);
  const canaries = latest.filter((run) => run.dataset_kind === 'canary');
  let canary: ModelState['canary'] = { worst: null, trigger: null, at: null };
  for (const run of canaries) {
    const { trigger, rate } = worstTrigger(run);
    if (rate !== null && (canary.worst === null || rate > canary.worst))
      canary = { worst: rate, trigger, at: run.finished_at };
  }
  const probe = latest.find((run) => run.dataset_kind === 'probe');
  const fingerprintVerdict = probe?.summary?.verdicts?.find((verdict) => verdict.gate === 'fingerprint');
  const fingerprint = !probe
    ? null
    : fingerprintVerdict?.outcome === 'fail'
      ? 'changed'
      : fingerprintVerdict?.outcome === 'pass'
        ? 'matches'
        : 'unknown';

  let drift: ModelState['drift'] = { verdict: null, drifting: [] };
  if (series && series.drift.length > 0) {
    const lastWindow = Math.max(
      ...series.drift.flatMap((entry) => entry.points.map((point) => new Date(point.window_end).getTime())),
    );
    const current = series.drift
      .map((entry) => ({ entry, point: entry.points[entry.points.length - 1] }))
      .filter(({ point }) => new Date(point.window_end).getTime() === lastWindow);
    const drifting = current
      .filter(({ point }) => point.verdict === 'drift')
      .map(({ entry }) =>
        entry.feature ? `${entry.feature} (${entry.detector})` : `${entry.metric} (${entry.detector})`,
      );
    drift = {
      verdict: drifting.length
        ? 'drift'
        : current.some(({ point }) => point.verdict === 'ok')
          ? 'ok'
          : 'insufficient-data',
      drifting,
    };
  }

  let eventsPerSecond: number | null = null;
  if (series) {
    const since = now - 5 * 60_000;
    const events = series.traffic
      .filter((bucket) => new Date(bucket.bucket_start).getTime() >= since)
      .reduce((sum, bucket) => sum + bucket.events, 0);
    eventsPerSecond = events / 300;
  }

  return {
    clean: {
      accuracy: clean?.summary?.clean?.accuracy ?? null,
      baseline: cleanBaseline?.run.summary?.clean?.accuracy ?? null,
      at: clean?.finished_at ?? null,
    },
    canary,
    fingerprint,
    drift,
    firing: firing ? firing.length : null,
    eventsPerSecond,
  };
}
