import type { DatasetScanReport, SuspiciousRow } from './dataset-scan';
import type { DuplicateCluster } from './near-duplicates';
import type { TokenFinding } from './token-association';

const escape = (value: unknown): string =>
  String(value).replace(
    /[&<>"']/g,
    (character) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[character]!,
  );

const percent = (value: number) => `${(value * 100).toFixed(1)}%`;
const scientific = (value: number) => (value < 1e-3 ? value.toExponential(1) : value.toFixed(3));

const table = (headers: string[], rows: string[][], empty: string) =>
  rows.length === 0
    ? `<p class="muted">${escape(empty)}</p>`
    : `<table><thead><tr>${headers.map((h) => `<th>${escape(h)}</th>`).join('')}</tr></thead><tbody>${rows
        .map((cells) => `<tr>${cells.map((cell) => `<td>${cell}</td>`).join('')}</tr>`)
        .join('')}</tbody></table>`;

function rowDetails(row: SuspiciousRow, rank: number): string[] {
  const verdict = row.suspicious
    ? '<span class="tag bad">suspicious</span>'
    : row.review
      ? '<span class="tag warn">review</span>'
      : '';
  const reasons = row.reasons
    .map(
      (reason) =>
        `<li class="${reason.flagged ? 'flagged' : ''}"><b>${escape(reason.detector)}</b> ` +
        `(rank ${reason.rank.toFixed(2)}${reason.flagged ? ', flagged' : ''}): ${escape(reason.reason)}</li>`,
    )
    .join('');
  return [
    String(rank),
    String(row.line),
    `<div class="bar"><span style="width:${(row.score * 100).toFixed(1)}%"></span></div>${row.score.toFixed(3)}`,
    `${verdict}`,
    escape(row.label),
    escape(row.source),
    `<details><summary>${escape(row.text)}</summary><ul>${reasons}</ul></details>`,
  ];
}

/** The page's styles, inline so the report needs nothing beside it. */
const STYLE = `body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1200px;padding:0 1rem;color:#1d2330}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #dde;padding-bottom:.25rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border-bottom:1px solid #eef;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f5f6fa}.muted{color:#778}.verdict{font-size:1.1rem;font-weight:600}.bad{color:#b3261e}.ok{color:#1e7b34}
.tag{border-radius:3px;padding:0 .3rem;font-size:.8rem;color:#fff}.tag.bad{background:#b3261e}.tag.warn{background:#b36b00}
.bar{display:inline-block;width:60px;height:8px;background:#eef;margin-right:.4rem}.bar span{display:block;height:100%;background:#b3261e}
li.flagged{color:#b3261e}details summary{cursor:pointer}code{background:#f5f6fa;padding:0 .2rem}`;

/** The token-association findings: the words or pairs that pin a label, and whether their context betrays them. */
function tokenTable(tokens: readonly TokenFinding[]): string {
  return table(
    [
      'token',
      'rows (distinct)',
      'label',
      'purity',
      'base rate',
      'q (BH)',
      'context contradiction',
      'context log LR / threshold',
      'flagged',
    ],
    tokens.map((t) => [
      `<code>${escape(t.token)}</code>`,
      t.rows === t.distinctRows ? String(t.rows) : `${t.rows} (${t.distinctRows})`,
      escape(t.label),
      percent(t.purity),
      percent(t.baseRate),
      scientific(t.qValue),
      percent(t.contextContradiction),
      `${t.contextLogLikelihoodRatio.toFixed(1)} / ${t.contextThreshold.toFixed(1)}`,
      t.flagged
        ? '<span class="tag bad">trigger?</span>'
        : t.explainedBy
          ? `part of <code>${escape(t.explainedBy)}</code>`
          : '',
    ]),
    'No rare token is significantly pure in one label.',
  );
}

/** Suspicious rows per source, with the enrichment p-value that points at a poisoned source. */
function sourceTable(sources: DatasetScanReport['sources']): string {
  return table(
    ['source', 'rows', 'suspicious', 'share', 'mean score', 'enrichment p', 'labels'],
    sources.map((s) => [
      escape(s.source),
      String(s.rows),
      String(s.suspicious),
      percent(s.share),
      s.meanScore.toFixed(3),
      scientific(s.enrichmentPValue),
      escape(
        Object.entries(s.labels)
          .map(([label, count]) => `${label} ${count}`)
          .join(', '),
      ),
    ]),
    'No rows.',
  );
}

/** The largest clusters of exact or near duplicates, with the labels their copies carry. */
function clusterTable(clusters: readonly DuplicateCluster[]): string {
  return table(
    ['lines', 'labels', 'kind'],
    clusters.map((c) => [
      escape(c.lines.join(', ')),
      escape(
        Object.entries(c.labels)
          .map(([label, count]) => `${label} ${count}`)
          .join(', '),
      ),
      c.exact ? 'exact' : 'near',
    ]),
    'No near-duplicates.',
  );
}

/**
 * The scan report as one HTML page with its styles inline and no scripts or external resources,
 * so it can be attached to a ticket or opened offline as it is.
 */
export function renderScanReportHtml(report: DatasetScanReport, title = 'Tripline dataset scan'): string {
  const tokenSummary = report.detectors.find((d) => d.name === 'token-association')?.summary as
    | { tokens?: TokenFinding[] }
    | undefined;
  const duplicateSummary = report.detectors.find((d) => d.name === 'near-duplicate')?.summary as
    | { largest?: DuplicateCluster[] }
    | undefined;
  const tokens = (tokenSummary?.tokens ?? []).slice(0, 30);
  const clusters = (duplicateSummary?.largest ?? []).slice(0, 20);
  const verdict =
    report.suspicious > 0
      ? `<p class="verdict bad">${report.suspicious} suspicious row(s)</p>`
      : `<p class="verdict ok">No suspicious rows</p>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
${STYLE}
</style></head><body>
<h1>${escape(title)}</h1>
${verdict}
<p>${report.rows} rows; labels ${Object.entries(report.labels)
    .map(([label, count]) => `<code>${escape(label)}</code> ${count}`)
    .join(', ')}. ${report.review} row(s) for review. Representation: ${escape(report.representation.source)}
(${report.representation.dimension} dimensions).</p>
<p class="muted">${escape(report.suspicionRule)}</p>
<p class="muted">${escape(report.combination)}</p>
<h2>Detectors</h2>
${table(
  ['detector', 'weight', 'rows flagged'],
  report.detectors.map((d) => [escape(d.name), String(d.weight), String(d.flagged)]),
  'no detectors ran',
)}
<h2>Tokens that pin a label</h2>
${tokenTable(tokens)}
<h2>Sources</h2>
${sourceTable(report.sources)}
<h2>Most suspicious rows</h2>
${table(
  ['#', 'line', 'score', '', 'label', 'source', 'text (click for the reasons)'],
  report.top.map((row, index) => rowDetails(row, index + 1)),
  'No rows.',
)}
<h2>Duplicate clusters</h2>
${clusterTable(clusters)}
</body></html>
`;
}
