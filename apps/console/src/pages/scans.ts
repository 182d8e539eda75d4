import { get, postForText, session } from '../api';
import { announce, badge, h, percent, table, when } from '../dom';
import type { Dataset, Items, Run } from '../types';

/** A report shown inline: the HTML the API rendered, in a frame with no scripts and an opaque origin. */
function reportFrame(title: string, html: string): HTMLIFrameElement {
  const frame = h('iframe', { class: 'report', title, sandbox: '', referrerpolicy: 'no-referrer' });
  frame.srcdoc = html;
  return frame;
}

function triggerScanReport(run: Run): HTMLElement {
  const scan = run.summary?.scan;
  if (!scan)
    return h(
      'p',
      { class: 'hint' },
      run.error ?? (run.status === 'succeeded' ? 'No report.' : `Scan ${run.status}.`),
    );
  const flagged = scan.flagged ?? [];
  return h(
    'div',
    { class: 'scan-report' },
    h(
      'p',
      {},
      `${scan.candidates ?? '?'} candidate tokens screened at a false-alarm rate of ${scan.falseAlarmRate ?? '?'}: `,
      flagged.length ? badge(`${flagged.length} flagged`, 'bad') : badge('none flagged', 'ok'),
    ),
    table(
      'Strongest candidates',
      ['Token', 'Kind', 'Pins', 'Position', 'p-value', 'Verdict'],
      (scan.top ?? [])
        .slice(0, 15)
        .map((entry) =>
          h(
            'tr',
            {},
            h(
              'th',
              { scope: 'row' },
              h('code', {}, entry.token),
              entry.flagged ? [' ', badge('flagged', 'bad')] : null,
            ),
            h('td', {}, entry.kind ?? '—'),
            h('td', {}, `${percent(entry.pinRate, 0)}${entry.flippedTo ? ` → ${entry.flippedTo}` : ''}`),
            h('td', {}, entry.position ?? '—'),
            h('td', {}, typeof entry.pValue === 'number' ? entry.pValue.toExponential(1) : '—'),
            h('td', { class: 'hint' }, entry.verdict ?? ''),
          ),
        ),
      'No candidate pinned the answer.',
    ),
  );
}

export async function scansPage(page: HTMLElement): Promise<void> {
  const [scans, datasets] = await Promise.all([
    get<Items<Run>>('/v1/scans?limit=50'),
    get<Items<Dataset>>('/v1/datasets'),
  ]);
  const datasetName = new Map(datasets.items.map((dataset) => [dataset.id, dataset.name]));
  page.append(
    h('h1', {}, 'Scans'),
    h('h2', {}, 'Trigger scans'),
    h(
      'p',
      { class: 'hint' },
      'Searches of a model for a trigger no canary names, queued with `tripline scan trigger` or POST /v1/scans.',
    ),
    table(
      `${scans.items.length} trigger scans, newest first`,
      ['Started', 'Model', 'Clean set', 'Status', 'Report'],
      scans.items.map((run) =>
        h(
          'tr',
          { 'data-scan-id': run.id },
          h('td', {}, when(run.started_at ?? run.created_at)),
          h('td', {}, h('a', { href: `#/models/${encodeURIComponent(run.model_id)}` }, run.model_id)),
          h('td', {}, datasetName.get(run.dataset_id) ?? run.dataset_id.slice(0, 8)),
          h(
            'td',
            {},
            badge(
              run.status,
              run.status === 'succeeded' ? 'ok' : run.status === 'failed' ? 'bad' : 'neutral',
            ),
          ),
          h('td', {}, h('details', {}, h('summary', {}, 'Report'), triggerScanReport(run))),
        ),
      ),
      'No trigger scan yet.',
    ),
    datasetScans(datasets.items),
  );
}

/**
 * Dataset scans run in the request and are not stored: an operator runs one here and the HTML
 * report appears inline; viewers see the datasets that can be scanned.
 */
function datasetScans(datasets: Dataset[]): HTMLElement {
  const section = h('section', { 'aria-labelledby': 'dataset-scans-title' });
  const reports = h('div', { class: 'reports', 'aria-live': 'polite' });
  const operator = session.isOperator();
  section.append(
    h('h2', { id: 'dataset-scans-title' }, 'Dataset scans'),
    h(
      'p',
      { class: 'hint' },
      'Scans of an uploaded training or clean set for poisoning (rare tokens that pin a label, label disagreement, outliers, near-duplicates). They run when asked and are not stored',
      operator ? ': run one and its report appears below.' : '; an operator runs them.',
    ),
    table(
      `${datasets.length} datasets`,
      ['Dataset', 'Kind', 'Samples', 'Uploaded', operator ? 'Scan' : 'Model'],
      datasets.map((dataset) =>
        h(
          'tr',
          { 'data-dataset-id': dataset.id },
          h('th', { scope: 'row' }, dataset.name),
          h('td', {}, dataset.kind),
          h('td', {}, String(dataset.sample_count)),
          h('td', {}, when(dataset.provenance.uploaded_at)),
          h(
            'td',
            {},
            operator
              ? h(
                  'button',
                  {
                    type: 'button',
                    'data-action': 'scan-dataset',
                    onclick: (event: Event) => {
                      const button = event.currentTarget as HTMLButtonElement;
                      button.disabled = true;
                      button.textContent = 'Scanning…';
                      const started = new Date().toISOString();
                      // Without model_id: the bag-of-words representation works for every model; a
                      // model's own representation needs a local ONNX model (tripline scan dataset).
                      postForText('/v1/scans?format=html', { type: 'dataset', dataset_id: dataset.id })
                        .then(
                          (html) => {
                            reports.prepend(
                              h(
                                'article',
                                { class: 'dataset-report', 'data-dataset-id': dataset.id },
                                h('h3', {}, `Dataset scan of ${dataset.name} (${when(started)})`),
                                reportFrame(`Dataset scan report of ${dataset.name}`, html),
                              ),
                            );
                            announce(`Dataset scan of ${dataset.name} finished`);
                          },
                          (failure: unknown) => {
                            reports.prepend(
                              h(
                                'p',
                                { class: 'error', role: 'alert' },
                                `Scan of ${dataset.name} failed: ${(failure as Error).message}`,
                              ),
                            );
                          },
                        )
                        .finally(() => {
                          button.disabled = false;
                          button.textContent = 'Scan';
                        });
                    },
                  },
                  'Scan',
                )
              : (dataset.model_id ?? '—'),
          ),
        ),
      ),
      'No dataset uploaded.',
    ),
    reports,
  );
  return section;
}
