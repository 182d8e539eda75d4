import type { EvidencePack } from './evidence-pack';
import type { ControlStatus, FrameworkAssessment } from './frameworks';

/** Markup built by `html`: the one kind of value inserted without escaping. */
class Markup {
  constructor(readonly value: string) {}
}

export function escapeHtml(value: string): string {
  return value.replace(
    /[&<>"'`]/g,
    (character) =>
      ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' })[character]!,
  );
}

function render(value: unknown): string {
  if (value instanceof Markup) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === null || value === undefined) return '';
  return escapeHtml(String(value));
}

/**
 * A template whose every interpolation is escaped unless it is itself `html` markup: a model
 * name, a dataset source or an alert label can never become a tag, whichever field it is in.
 */
function html(strings: TemplateStringsArray, ...values: unknown[]): Markup {
  let out = strings[0];
  values.forEach((value, i) => (out += render(value) + strings[i + 1]));
  return new Markup(out);
}

/** A value as text (escaped later, wherever it goes). */
function plain(value: unknown): string {
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toFixed(3);
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (value !== null && typeof value === 'object') return JSON.stringify(value);
  return String(value ?? '');
}

function show(value: unknown): Markup {
  if (value === null || value === undefined || value === '') return html`<span class="muted">–</span>`;
  if (typeof value === 'object') return html`<code>${plain(value)}</code>`;
  return html`${plain(value)}`;
}

function table(headers: string[], rows: unknown[][], empty: string): Markup {
  if (rows.length === 0) return html`<p class="muted">${empty}</p>`;
  return html`<table>
    <thead>
      <tr>
        ${headers.map((header) => html`<th>${header}</th>`)}
      </tr>
    </thead>
    <tbody>
      ${rows.map(
        (cells) =>
          html`<tr>
            ${cells.map((cell) => html`<td>${cell instanceof Markup ? cell : show(cell)}</td>`)}
          </tr>`,
      )}
    </tbody>
  </table>`;
}

function keyValues(entries: [string, unknown][]): Markup {
  return html`<table class="kv">
    <tbody>
      ${entries.map(
        ([key, value]) =>
          html`<tr>
            <th>${key}</th>
            <td>${show(value)}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

const STATUS_LABEL: Record<ControlStatus, string> = {
  evidenced: 'evidenced',
  partial: 'partial',
  'no-evidence': 'no evidence',
  'not-applicable': 'n/a',
};

const list = (items: string[]) =>
  items.length
    ? html`<ul>
        ${items.map((item) => html`<li>${item}</li>`)}
      </ul>`
    : html``;

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1200px;padding:0 1rem;color:#1d2330}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2.2rem;border-bottom:1px solid #dde;padding-bottom:.25rem}h3{font-size:1rem;margin-top:1.4rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border-bottom:1px solid #eef;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f5f6fa}table.kv th{width:14rem}.muted{color:#778}code{background:#f5f6fa;padding:0 .2rem;word-break:break-all}
.status{border-radius:3px;padding:0 .35rem;font-size:.8rem;color:#fff;white-space:nowrap}
.status.evidenced{background:#1e7b34}.status.partial{background:#b36b00}.status.no-evidence{background:#b3261e}.status.not-applicable{background:#889}
ul{margin:.2rem 0;padding-left:1.1rem}.note{background:#f5f6fa;border-left:3px solid #99a;padding:.5rem .8rem}
@media print{body{margin:0;max-width:none}h2{break-after:avoid}tr{break-inside:avoid}}
`;

type Sections = EvidencePack['sections'];

/**
 * The pack as one self-contained HTML page: styles inline, no scripts, no external resources (a
 * Content-Security-Policy says so to the browser as well), every string from the records escaped.
 */
export function renderEvidencePackHtml(pack: EvidencePack): string {
  const { model, sections } = pack;
  const title = `Evidence pack: ${String(model.name)} (${String(model.id)})`;
  const page = html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title}</title>
        <style>
          ${new Markup(STYLE)}
        </style>
      </head>
      <body>
        <h1>${title}</h1>
        <p class="muted">
          Generated ${pack.generated_at}${pack.generated_by ? html` by ${pack.generated_by}` : ''} · format
          ${pack.format} v${pack.format_version}
        </p>
        <p class="note">${pack.disclaimer}</p>
        <h2>Model</h2>
        ${keyValues(Object.entries(model))} ${postureSection(pack.posture)}
        ${frameworksSection(pack.frameworks)} ${evaluationsSection(sections.evaluations)}
        ${alertsSection(sections.alerts)} ${datasetsSection(sections.datasets)}
        ${manifestsSection(sections.manifests)} ${verificationsSection(sections.verifications)}
        ${monitoringSection(sections.monitoring)}
        ${pack.notes.length
          ? html`<h2>Notes</h2>
              ${list(pack.notes)}`
          : ''}
      </body>
    </html> `;
  return page.value;
}

function postureSection(posture: EvidencePack['posture']): Markup {
  return html`<h2>Current posture</h2>
    ${table(
      ['canary set', 'worst trigger', 'attack-success rate', 'gate', 'run', 'at'],
      posture.canary_sets.map((set) => [
        set.dataset_name ?? set.dataset_id,
        set.worst_trigger,
        set.attack_success_rate,
        set.gate,
        set.run_id,
        set.at,
      ]),
      'no succeeded canary run',
    )}
    ${table(
      ['probe set', 'fingerprint', 'baseline run', 'pinned', 'run', 'at'],
      posture.fingerprints.map((state) => [
        state.dataset_name ?? state.dataset_id,
        state.state,
        state.baseline_run_id,
        state.baseline_pinned,
        state.run_id,
        state.at,
      ]),
      'no succeeded probe run: the behavioural fingerprint is not measured',
    )}`;
}

function frameworksSection(frameworks: FrameworkAssessment[]): Markup {
  return html`<h2>Framework mapping</h2>
    ${frameworks.map(
      (framework) =>
        html`<h3>${framework.name}</h3>
          <p class="muted">${framework.reference}</p>
          ${table(
            ['requirement', 'status', 'evidence in this pack', 'gaps'],
            framework.controls.map((control) => [
              html`<b>${control.id}</b> ${control.title}<br /><span class="muted">${control.summary}</span>`,
              html`<span class="status ${control.status}">${STATUS_LABEL[control.status]}</span>`,
              list(control.evidence.map((item) => `${item.section}: ${item.detail}`)),
              list(control.gaps),
            ]),
            'No requirements.',
          )}`,
    )}`;
}

function evaluationsSection(evaluations: Sections['evaluations']): Markup {
  return html`<h2>Evaluations</h2>
    <p>
      ${evaluations.total} run(s): ${evaluations.succeeded} succeeded, ${evaluations.failed} failed;
      ${Object.entries(evaluations.by_kind)
        .map(([kind, count]) => `${kind} ${count}`)
        .join(', ')}.
      First ${show(evaluations.first_at)}, last ${show(evaluations.last_at)}.
    </p>
    ${table(
      ['finished', 'kind', 'dataset', 'version', 'status', 'metrics', 'baseline', 'error'],
      evaluations.items.map((run) => [
        run.finished_at,
        run.kind,
        run.dataset_name ?? run.dataset_id,
        run.version,
        run.status,
        list(
          Object.entries(run.metrics as Record<string, unknown>).map(
            ([name, value]) => `${name}: ${plain(value)}`,
          ),
        ),
        run.is_baseline ? 'pinned baseline' : run.baseline_run_id,
        run.error,
      ]),
      'No evaluation has run.',
    )}`;
}

function alertsSection(alerts: Sections['alerts']): Markup {
  return html`<h2>Alerts</h2>
    <p>
      ${alerts.total} alert(s), ${alerts.open} open;
      ${Object.entries(alerts.by_severity)
        .map(([severity, count]) => `${severity} ${count}`)
        .join(', ')}
    </p>
    ${table(
      [
        'active since',
        'rule',
        'severity',
        'state',
        'condition',
        'value',
        'labels',
        'acknowledged',
        'resolved',
      ],
      alerts.items.map((alert) => [
        alert.active_since,
        alert.rule,
        alert.severity,
        alert.state,
        alert.condition,
        alert.value,
        alert.labels,
        alert.acknowledged_at
          ? `${String(alert.acknowledged_at)} by ${String(alert.acknowledged_by ?? '?')}`
          : null,
        alert.resolved_at ? `${String(alert.resolved_at)} (${String(alert.resolution ?? '')})` : null,
      ]),
      'No alert from the rules engine.',
    )}
    <h3>Built-in alerts (artefact integrity)</h3>
    ${table(
      ['at', 'alert', 'severity', 'state', 'summary'],
      alerts.builtin.map((event) => [event.at, event.rule, event.severity, event.state, event.summary]),
      'None recorded.',
    )}`;
}

function datasetsSection(datasets: Sections['datasets']): Markup {
  return html`<h2>Dataset provenance</h2>
    ${table(
      [
        'name',
        'kind',
        'source',
        'uploaded by',
        'uploaded at',
        'SHA-256',
        'samples',
        'bytes',
        'generated from',
        'runs',
      ],
      datasets.items.map((dataset) => [
        dataset.name,
        dataset.kind,
        dataset.source,
        dataset.uploaded_by,
        dataset.uploaded_at,
        html`<code>${dataset.sha256}</code>`,
        dataset.samples,
        dataset.bytes,
        dataset.generated_from,
        dataset.used_by_runs,
      ]),
      'No dataset.',
    )}`;
}

interface ManifestCells {
  files: number;
  bytes: number;
  digest_sha256: string;
  signature: { keyId: string; algorithm: string } | null;
}

function manifestsSection(manifests: Sections['manifests']): Markup {
  return html`<h2>Versions and manifests</h2>
    ${table(
      [
        'version',
        'current',
        'adapter',
        'registered',
        'by',
        'files',
        'bytes',
        'manifest digest (SHA-256)',
        'signature',
      ],
      manifests.items.map((version) => {
        const manifest = version.manifest as ManifestCells | null;
        return [
          version.version,
          version.current,
          version.adapter_kind,
          version.registered_at,
          version.registered_by,
          manifest?.files,
          manifest?.bytes,
          manifest ? html`<code>${manifest.digest_sha256}</code>` : null,
          manifest?.signature ? `${manifest.signature.algorithm} ${manifest.signature.keyId}` : null,
        ];
      }),
      'No version registered.',
    )}`;
}

function verificationsSection(verifications: Sections['verifications']): Markup {
  return html`<h2>Verifications</h2>
    ${table(
      ['kind', 'version', 'at', 'outcome', 'detail'],
      verifications.items.map((item) => [item.kind, item.version, item.at, item.outcome, item.detail]),
      'No verification recorded.',
    )}`;
}

function monitoringSection(monitoring: Sections['monitoring']): Markup {
  return html`<h2>Monitoring</h2>
    <h3>Schedules</h3>
    ${table(
      ['cron', 'enabled', 'datasets', 'since'],
      monitoring.schedules.map((schedule) => [
        schedule.cron,
        schedule.enabled,
        schedule.datasets,
        schedule.created_at,
      ]),
      'No schedule.',
    )}
    <h3>Alert rules watching this model</h3>
    ${table(
      ['name', 'metric', 'condition', 'severity', 'enabled', 'scope'],
      monitoring.rules.map((rule) => [
        rule.name,
        rule.metric,
        rule.condition,
        rule.severity,
        rule.enabled,
        rule.scope,
      ]),
      'No rule.',
    )}
    <h3>Stream detectors, last 30 days</h3>
    ${monitoring.stream === null
      ? html`<p class="muted">The history store could not be read.</p>`
      : table(
          ['metric', 'detector', 'windows', 'with drift', 'last window end'],
          monitoring.stream.map((row) => [
            row.metric,
            row.detector,
            row.windows,
            row.drift,
            row.last_window_end,
          ]),
          'No stream-detector window.',
        )}
    <p>Inference events in the last 30 days (approximate): ${show(monitoring.recent_events)}</p>
    ${monitoring.rag
      ? html`<h3>RAG</h3>
          ${keyValues([
            ['allowed sources', monitoring.rag.allowed_sources],
            ['canary runs checking citations', monitoring.rag.canary_citation_checks],
          ])}`
      : ''}`;
}
