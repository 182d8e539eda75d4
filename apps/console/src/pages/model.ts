import { get } from '../api';
import { timeChart, type ChartSeries, type Marker } from '../chart';
import { badge, decimal, h, percent, table, when } from '../dom';
import type { Dataset, Items, Model, Run, TimeSeries, Verdict, Version } from '../types';

const RANGES: { label: string; ms: number }[] = [
  { label: 'Last hour', ms: 3_600_000 },
  { label: 'Last 6 hours', ms: 6 * 3_600_000 },
  { label: 'Last 24 hours', ms: 24 * 3_600_000 },
  { label: 'Last 7 days', ms: 7 * 24 * 3_600_000 },
];
const RANGE_KEY = 'tripline.range';

const ms = (iso: string) => new Date(iso).getTime();
const fraction = (value: number) => `${(value * 100).toFixed(value < 0.1 && value > 0 ? 1 : 0)}%`;

function markersOf(series: TimeSeries, versions: Version[]): Marker[] {
  return [
    ...series.alerts.map((alert) => ({
      at: ms(alert.timestamp),
      kind: alert.state === 'firing' ? ('alert-firing' as const) : ('alert-change' as const),
      label: `alert ${alert.state}: ${alert.rule_name || alert.metric}${alert.summary ? ` — ${alert.summary}` : ''}`,
    })),
    ...versions.map((version) => ({
      at: ms(version.created_at),
      kind: 'version' as const,
      label: `version ${version.version} registered${version.created_by ? ` by ${version.created_by}` : ''}`,
    })),
  ].sort((a, b) => a.at - b.at);
}

/** The charts of the model page, over the chosen range, each with the alert and version markers. */
function charts(series: TimeSeries, datasets: Map<string, Dataset>, markers: Marker[]): HTMLElement {
  const range: [number, number] = [ms(series.from), ms(series.to)];
  return h(
    'div',
    { class: 'charts' },
    ...evaluationCharts(series, datasets, markers, range),
    ...driftCharts(series, markers, range),
    trafficChart(series, markers, range),
  );
}

/** Scheduled replays: clean-set accuracy and macro-F1, canary attack-success; one line per dataset. */
function evaluationCharts(
  series: TimeSeries,
  datasets: Map<string, Dataset>,
  markers: Marker[],
  range: [number, number],
): HTMLElement[] {
  const name = (id: string) => datasets.get(id)?.name ?? id.slice(0, 8);
  const byDataset = (kind: string) => {
    const groups = new Map<string, TimeSeries['evaluations']>();
    for (const point of series.evaluations.filter((entry) => entry.dataset_kind === kind))
      groups.set(point.dataset_id, [...(groups.get(point.dataset_id) ?? []), point]);
    return [...groups.entries()];
  };
  const clean = byDataset('clean');
  const canary = byDataset('canary');
  const evaluationSeries = (
    groups: [string, TimeSeries['evaluations']][],
    pick: (point: TimeSeries['evaluations'][number]) => number | null,
    suffix = '',
  ): ChartSeries[] =>
    groups.map(([dataset, points]) => ({
      label: `${name(dataset)}${suffix}`,
      points: points.map((point) => [ms(point.finished_at), pick(point)]),
    }));
  return [
    timeChart({
      id: 'accuracy',
      title: 'Clean-set accuracy',
      description:
        'Accuracy of each scheduled replay of a clean set. Red lines: alerts firing; blue dashes: versions registered.',
      series: evaluationSeries(clean, (point) => point.accuracy),
      markers,
      range,
      yLabel: 'accuracy',
      yRange: [0, 1],
      format: fraction,
    }),
    timeChart({
      id: 'macro-f1',
      title: 'Clean-set macro-F1',
      description:
        'Macro-averaged F1 over the labels, per clean-set replay: falls when one class suffers even if accuracy holds.',
      series: evaluationSeries(clean, (point) => point.macro_f1),
      markers,
      range,
      yLabel: 'macro-F1',
      yRange: [0, 1],
      format: (value) => value.toFixed(2),
    }),
    timeChart({
      id: 'canary-asr',
      title: 'Canary attack-success rate per trigger set',
      description:
        'Share of canaries (clean inputs with a candidate trigger) pushed to the target label, pooled per canary set, and for its worst trigger.',
      series: [
        ...evaluationSeries(canary, (point) => point.attack_success_rate, ' (pooled)'),
        ...evaluationSeries(
          canary,
          (point) => point.worst_trigger?.attack_success_rate ?? null,
          ' (worst trigger)',
        ),
      ],
      markers,
      range,
      yLabel: 'attack success',
      yRange: [0, 1],
      format: fraction,
    }),
  ];
}

/**
 * The stream detectors' drift tests, p-value and statistic per window: at most 12 series, those
 * that found drift first, so the lines that matter are not lost in the rest.
 */
function driftCharts(series: TimeSeries, markers: Marker[], range: [number, number]): HTMLElement[] {
  const drift = [...series.drift]
    .sort(
      (a, b) =>
        Number(b.points.some((point) => point.verdict === 'drift')) -
          Number(a.points.some((point) => point.verdict === 'drift')) || a.metric.localeCompare(b.metric),
    )
    .slice(0, 12);
  const driftLabel = (entry: TimeSeries['drift'][number]) =>
    entry.feature ? `${entry.feature} · ${entry.detector}` : `${entry.metric} · ${entry.detector}`;
  return [
    timeChart({
      id: 'drift-p-value',
      title: 'Drift p-value per detector and feature',
      description:
        'p-value of each drift test per window, on a log scale: lower is stronger evidence of drift (0.05 and below is usually flagged).',
      series: drift.map((entry) => ({
        label: driftLabel(entry),
        points: entry.points.map((point) => [
          ms(point.window_end),
          point.p_value === null ? null : Math.max(point.p_value, 1e-12),
        ]),
      })),
      markers,
      range,
      yLabel: 'p-value',
      log: true,
      format: (value) => (value >= 0.01 ? value.toFixed(2) : value.toExponential(0)),
    }),
    timeChart({
      id: 'drift-statistic',
      title: 'Drift statistic per detector and feature',
      description:
        "Each test's own statistic per window (KS distance, PSI, chi-square, MMD…): compare a series with its own past.",
      series: drift.map((entry) => ({
        label: driftLabel(entry),
        points: entry.points.map((point) => [ms(point.window_end), point.statistic]),
      })),
      markers,
      range,
      yLabel: 'statistic',
      format: (value) => (Math.abs(value) >= 100 ? value.toFixed(0) : value.toPrecision(3)),
    }),
  ];
}

/** The live stream: events per second, and latency on the right-hand axis. */
function trafficChart(series: TimeSeries, markers: Marker[], range: [number, number]): HTMLElement {
  return timeChart({
    id: 'traffic',
    title: 'Event rate and latency',
    description: `Inference events per second in ${series.bucket_seconds}-second buckets (left), and model latency as reported by the events (right).`,
    series: [
      {
        label: 'events/s',
        points: series.traffic.map((bucket) => [ms(bucket.bucket_start), bucket.events_per_second]),
      },
      {
        label: 'latency p90 (ms)',
        scale: 'y2',
        points: series.traffic.map((bucket) => [ms(bucket.bucket_start), bucket.latency_ms_p90]),
      },
      {
        label: 'latency mean (ms)',
        scale: 'y2',
        points: series.traffic.map((bucket) => [ms(bucket.bucket_start), bucket.latency_ms_mean]),
      },
    ],
    markers,
    range,
    yLabel: 'events/s',
    y2Label: 'latency (ms)',
    format: (value) => value.toFixed(value < 10 ? 2 : 0),
    format2: (value) => value.toFixed(value < 10 ? 1 : 0),
  });
}

function verdictBadges(verdicts: Verdict[] | undefined): HTMLElement {
  if (!verdicts || verdicts.length === 0) return h('span', { class: 'hint' }, 'no gate applies');
  const failed = verdicts.filter((verdict) => verdict.outcome === 'fail');
  const unknown = verdicts.filter((verdict) => verdict.outcome === 'unknown');
  const passed = verdicts.length - failed.length - unknown.length;
  return h(
    'div',
    {},
    failed.length ? badge(`${failed.length} fail`, 'bad') : null,
    passed ? badge(`${passed} pass`, 'ok') : null,
    unknown.length ? badge(`${unknown.length} unknown`, 'neutral') : null,
    ...failed
      .slice(0, 3)
      .map((verdict) =>
        h(
          'div',
          { class: 'hint' },
          `${verdict.gate}${verdict.trigger ? ` (${verdict.trigger})` : ''}: ${verdict.reason}`,
        ),
      ),
  );
}

function figureOf(run: Run): string {
  const summary = run.summary;
  if (!summary) return run.error ?? '—';
  if (run.dataset_kind === 'clean')
    return `accuracy ${percent(summary.clean?.accuracy)}, macro-F1 ${decimal(summary.clean?.macroF1, 2)}`;
  if (run.dataset_kind === 'canary')
    return `ASR pooled ${percent(summary.canary?.pooledAttackSuccessRate)}, worst trigger ${percent(summary.canary?.maxAttackSuccessRate?.rate)}${summary.canary?.maxAttackSuccessRate?.trigger ? ` (${summary.canary.maxAttackSuccessRate.trigger})` : ''}`;
  if (run.dataset_kind === 'probe') return `fingerprint ${String(summary.fingerprint ?? '—').slice(0, 12)}…`;
  return '—';
}

function runsTable(runs: Run[], datasets: Map<string, Dataset>, versions: Map<string, Version>): HTMLElement {
  return table(
    'Latest evaluation runs, newest first',
    ['Finished', 'Dataset', 'Version', 'Status', 'Result', 'Verdicts'],
    runs.map((run) =>
      h(
        'tr',
        { 'data-run-id': run.id },
        h('td', {}, when(run.finished_at ?? run.created_at)),
        h(
          'td',
          {},
          `${datasets.get(run.dataset_id)?.name ?? run.dataset_id.slice(0, 8)} (${run.mode === 'replay' ? run.dataset_kind : run.mode})`,
        ),
        h(
          'td',
          {},
          run.version_id ? (versions.get(run.version_id)?.version ?? run.version_id.slice(0, 8)) : '—',
        ),
        h(
          'td',
          {},
          badge(run.status, run.status === 'succeeded' ? 'ok' : run.status === 'failed' ? 'bad' : 'neutral'),
        ),
        h('td', {}, figureOf(run)),
        h('td', {}, verdictBadges(run.summary?.verdicts)),
      ),
    ),
    'No evaluation run yet.',
  );
}

function versionsTable(model: Model, versions: Version[]): HTMLElement {
  return table(
    'Versions and their artefact manifests',
    ['Version', 'Registered', 'Adapter', 'Manifest'],
    versions.map((version) =>
      h(
        'tr',
        { 'data-version': version.version },
        h(
          'th',
          { scope: 'row' },
          version.version,
          version.id === model.current_version_id ? [' ', badge('current', 'ok')] : null,
        ),
        h(
          'td',
          {},
          when(version.created_at),
          version.created_by ? h('div', { class: 'hint' }, `by ${version.created_by}`) : null,
        ),
        h(
          'td',
          {},
          version.adapter.kind,
          version.adapter.url ? h('div', { class: 'hint' }, String(version.adapter.url)) : null,
        ),
        h(
          'td',
          {},
          version.manifest
            ? h(
                'details',
                {},
                h('summary', {}, `${version.manifest.files.length} files`),
                h(
                  'ul',
                  { class: 'manifest' },
                  ...version.manifest.files.map((file) =>
                    h('li', {}, h('code', {}, file.path), ` sha256 ${file.sha256.slice(0, 16)}…`),
                  ),
                ),
              )
            : version.manifest_files
              ? `${version.manifest_files} files (operators see the digests)`
              : 'none',
        ),
      ),
    ),
    'No version registered.',
  );
}

export async function modelPage(page: HTMLElement, id = ''): Promise<void> {
  const path = `/v1/models/${encodeURIComponent(id)}`;
  const [model, versions, datasets, runs] = await Promise.all([
    get<Model>(path),
    get<Items<Version>>(`${path}/versions`),
    get<Items<Dataset>>(`/v1/datasets?model_id=${encodeURIComponent(id)}`),
    get<Items<Run>>(`/v1/evaluations?model_id=${encodeURIComponent(id)}&limit=20`),
  ]);
  const datasetById = new Map(datasets.items.map((dataset) => [dataset.id, dataset]));
  const versionById = new Map(versions.items.map((version) => [version.id, version]));
  const chartArea = h('section', { 'aria-labelledby': 'charts-title', class: 'chart-area' });
  const select = h(
    'select',
    { id: 'range' },
    ...RANGES.map((range) =>
      h(
        'option',
        { value: range.ms, selected: String(range.ms) === (sessionStorage.getItem(RANGE_KEY) ?? '3600000') },
        range.label,
      ),
    ),
  );
  const loadCharts = async () => {
    sessionStorage.setItem(RANGE_KEY, select.value);
    const to = Date.now();
    const from = to - Number(select.value);
    chartArea.setAttribute('aria-busy', 'true');
    const series = await get<TimeSeries>(`${path}/timeseries?from=${from}&to=${to}`);
    chartArea.replaceChildren(
      h('h2', { id: 'charts-title' }, 'History'),
      ...(series.truncated
        ? [
            h(
              'p',
              { class: 'error' },
              'More history than one answer holds: narrow the range to see all of it.',
            ),
          ]
        : []),
      charts(series, datasetById, markersOf(series, versions.items)),
    );
    chartArea.removeAttribute('aria-busy');
  };
  select.addEventListener('change', () => void loadCharts());
  page.append(
    h('p', { class: 'crumbs' }, h('a', { href: '#/fleet' }, 'Fleet'), ' / ', model.name || model.id),
    h('h1', {}, model.name || model.id),
    h(
      'p',
      {},
      `${model.task}${model.labels?.length ? ` · labels ${model.labels.join(', ')}` : ''}${model.owner ? ` · owner ${model.owner}` : ''}`,
      model.description ? h('span', { class: 'hint' }, ` — ${model.description}`) : null,
    ),
    h('div', { class: 'toolbar' }, h('label', { for: 'range' }, 'Range '), select),
    chartArea,
    h(
      'section',
      { 'aria-labelledby': 'runs-title' },
      h('h2', { id: 'runs-title' }, 'Latest evaluation runs'),
      runsTable(runs.items, datasetById, versionById),
    ),
    h(
      'section',
      { 'aria-labelledby': 'versions-title' },
      h('h2', { id: 'versions-title' }, 'Versions and manifests'),
      versionsTable(model, versions.items),
    ),
  );
  await loadCharts();
}
