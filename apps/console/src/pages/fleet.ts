import { get, optional } from '../api';
import { ago, badge, h, percent, table } from '../dom';
import { modelState, type ModelState } from '../fleet-state';
import type { Alert, Baseline, Items, Model, Run, TimeSeries } from '../types';

async function stateOf(model: Model, now: number): Promise<ModelState> {
  const id = encodeURIComponent(model.id);
  const [runs, baselines, firing, series] = await Promise.all([
    get<Items<Run>>(`/v1/evaluations?model_id=${id}&status=succeeded&limit=100`),
    get<Items<Baseline>>(`/v1/models/${id}/baselines`),
    optional<Items<Alert>>(`/v1/alerts?state=firing&model_id=${id}&limit=1000`),
    get<TimeSeries>(`/v1/models/${id}/timeseries?from=${now - 30 * 60_000}&to=${now}`),
  ]);
  return modelState(runs.items, baselines.items, firing?.items ?? null, series, now);
}

function accuracyCell(state: ModelState): HTMLElement {
  const { accuracy, baseline, at } = state.clean;
  if (accuracy === null) return h('td', { 'data-field': 'accuracy' }, '—');
  const delta = baseline === null ? null : accuracy - baseline;
  const worse = delta !== null && delta < -0.02;
  return h(
    'td',
    { 'data-field': 'accuracy', 'data-value': accuracy },
    h('strong', {}, percent(accuracy)),
    baseline === null ? ' (no baseline yet)' : ` vs ${percent(baseline)} baseline `,
    delta === null
      ? null
      : badge(`${delta >= 0 ? '+' : ''}${(delta * 100).toFixed(1)} pt`, worse ? 'bad' : 'ok'),
    h('div', { class: 'hint' }, ago(at)),
  );
}

function canaryCell(state: ModelState): HTMLElement {
  const { worst, trigger } = state.canary;
  if (worst === null) return h('td', { 'data-field': 'canary' }, '—');
  return h(
    'td',
    { 'data-field': 'canary', 'data-value': worst },
    badge(percent(worst), worst >= 0.5 ? 'bad' : worst >= 0.2 ? 'warn' : 'ok'),
    trigger ? h('div', { class: 'hint' }, `trigger ${trigger}`) : null,
  );
}

function row(model: Model, state: ModelState | Error): HTMLTableRowElement {
  const name = h(
    'th',
    { scope: 'row' },
    h('a', { href: `#/models/${encodeURIComponent(model.id)}` }, model.name || model.id),
  );
  if (state instanceof Error)
    return h(
      'tr',
      { 'data-model-id': model.id },
      name,
      h('td', { colspan: 6, class: 'error' }, state.message),
    );
  const drift = state.drift;
  return h(
    'tr',
    { 'data-model-id': model.id },
    name,
    accuracyCell(state),
    canaryCell(state),
    h(
      'td',
      { 'data-field': 'fingerprint', 'data-value': state.fingerprint ?? 'none' },
      state.fingerprint === null
        ? '—'
        : badge(
            state.fingerprint,
            state.fingerprint === 'matches' ? 'ok' : state.fingerprint === 'changed' ? 'bad' : 'neutral',
          ),
    ),
    h(
      'td',
      { 'data-field': 'drift', 'data-value': drift.verdict ?? 'none' },
      drift.verdict === null
        ? '—'
        : badge(drift.verdict, drift.verdict === 'drift' ? 'bad' : drift.verdict === 'ok' ? 'ok' : 'neutral'),
      drift.drifting.length ? h('div', { class: 'hint' }, drift.drifting.slice(0, 3).join(', ')) : null,
    ),
    h(
      'td',
      { 'data-field': 'firing', 'data-value': state.firing ?? 'n/a' },
      state.firing === null
        ? h('span', { class: 'hint' }, 'not served here')
        : state.firing > 0
          ? h('a', { href: '#/alerts' }, badge(`${state.firing} firing`, 'bad'))
          : badge('none', 'ok'),
    ),
    h(
      'td',
      { 'data-field': 'events', 'data-value': state.eventsPerSecond ?? 'n/a' },
      state.eventsPerSecond === null ? '—' : `${state.eventsPerSecond.toFixed(2)}/s`,
    ),
  );
}

export async function fleetPage(page: HTMLElement): Promise<void> {
  const now = Date.now();
  const models = (await get<Items<Model>>('/v1/models')).items;
  const states = await Promise.all(models.map((model) => stateOf(model, now).catch((error: Error) => error)));
  page.append(
    h('h1', {}, 'Fleet'),
    h(
      'p',
      { class: 'hint' },
      'Every registered model at a glance: the latest clean-set accuracy against its baseline, the worst canary attack-success rate, the behavioural fingerprint, the latest drift windows, firing alerts and the event rate over the last 5 minutes.',
    ),
    table(
      `${models.length} models`,
      ['Model', 'Clean accuracy', 'Worst canary ASR', 'Fingerprint', 'Drift', 'Alerts', 'Events'],
      models.map((model, index) => row(model, states[index])),
      'No model is registered yet: `tripline models create`, or POST /v1/models.',
    ),
  );
}
