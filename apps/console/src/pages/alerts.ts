import { ApiError, optional, post, session } from '../api';
import { announce, badge, h, table, when } from '../dom';
import type { Alert, Items } from '../types';

const FILTERS = [
  { value: 'open', label: 'Open (pending, firing, acknowledged)' },
  { value: 'firing', label: 'Firing' },
  { value: 'acknowledged', label: 'Acknowledged' },
  { value: 'resolved', label: 'Resolved' },
];
const FILTER_KEY = 'tripline.alertFilter';
const SILENCES = [
  { seconds: 3_600, label: '1 hour' },
  { seconds: 4 * 3_600, label: '4 hours' },
  { seconds: 24 * 3_600, label: '24 hours' },
];

const tone = (alert: Alert) =>
  alert.state === 'firing'
    ? 'bad'
    : alert.state === 'resolved'
      ? 'ok'
      : alert.state === 'pending'
        ? 'warn'
        : 'neutral';

/** The silence an operator means by "silence this alert": its rule, on the same labels (model included). */
function matchersOf(alert: Alert): { name: string; op: '='; value: string }[] {
  const matchers = Object.entries(alert.labels ?? {}).map(([name, value]) => ({
    name,
    op: '=' as const,
    value,
  }));
  if (alert.rule_id) matchers.push({ name: 'rule_id', op: '=', value: alert.rule_id });
  else matchers.push({ name: 'alertname', op: '=', value: alert.rule_name });
  return matchers.slice(0, 32);
}

function actions(alert: Alert, refresh: () => Promise<void>): HTMLElement {
  const cell = h('td', { class: 'actions' });
  if (!session.isOperator()) {
    cell.append(h('span', { class: 'hint' }, 'operators act on alerts'));
    return cell;
  }
  const error = h('p', { class: 'error', role: 'alert' });
  const act = (label: string, run: () => Promise<unknown>, done: string) =>
    h(
      'button',
      {
        type: 'button',
        'data-action': label.toLowerCase(),
        onclick: (event: Event) => {
          const button = event.currentTarget as HTMLButtonElement;
          button.disabled = true;
          error.textContent = '';
          run().then(
            () => {
              announce(done);
              return refresh();
            },
            (failure: unknown) => {
              button.disabled = false;
              error.textContent =
                failure instanceof ApiError && failure.status === 403
                  ? `Not allowed: ${failure.message}`
                  : `Failed: ${(failure as Error).message}`;
            },
          );
        },
      },
      label,
    );
  const id = encodeURIComponent(alert.id);
  if (alert.state === 'firing' || alert.state === 'pending')
    cell.append(
      act('Acknowledge', () => post(`/v1/alerts/${id}/acknowledge`), `Alert ${alert.rule_name} acknowledged`),
    );
  if (alert.state !== 'resolved') {
    cell.append(act('Resolve', () => post(`/v1/alerts/${id}/resolve`), `Alert ${alert.rule_name} resolved`));
    const duration = h(
      'select',
      { 'aria-label': `Silence ${alert.rule_name} for`, 'data-field': 'silence-duration' },
      ...SILENCES.map((option) => h('option', { value: option.seconds }, option.label)),
    );
    cell.append(
      h(
        'span',
        { class: 'silence' },
        duration,
        act(
          'Silence',
          () =>
            post('/v1/silences', {
              matchers: matchersOf(alert),
              duration_seconds: Number(duration.value),
              comment: `silenced from the console by ${session.caller()?.name ?? 'unknown'}`,
            }),
          `Alerts like ${alert.rule_name} silenced`,
        ),
      ),
    );
  }
  cell.append(error);
  return cell;
}

/** One alert: severity, state (and whether silenced), rule and summary, model, value, since, actions. */
function alertRow(alert: Alert, refresh: () => Promise<void>): HTMLTableRowElement {
  return h(
    'tr',
    { 'data-alert-id': alert.id, 'data-state': alert.state },
    h('td', {}, badge(alert.severity, alert.severity === 'critical' ? 'bad' : 'warn')),
    h(
      'td',
      { 'data-field': 'state' },
      badge(alert.state, tone(alert)),
      alert.silenced ? [' ', badge('silenced', 'neutral')] : null,
    ),
    h('th', { scope: 'row' }, alert.rule_name, h('div', { class: 'hint' }, alert.summary)),
    h(
      'td',
      {},
      alert.model_id
        ? h('a', { href: `#/models/${encodeURIComponent(alert.model_id)}` }, alert.model_id)
        : '—',
    ),
    h(
      'td',
      {},
      alert.value === null
        ? '—'
        : `${alert.value.toPrecision(3)}${alert.threshold === null ? '' : ` (threshold ${alert.threshold})`}`,
    ),
    h(
      'td',
      {},
      when(alert.fired_at ?? alert.created_at),
      alert.acknowledged_by ? h('div', { class: 'hint' }, `acknowledged by ${alert.acknowledged_by}`) : null,
    ),
    actions(alert, refresh),
  );
}

/** Silences in force, so a quiet page is not mistaken for a healthy one. */
async function appendActiveSilences(page: HTMLElement): Promise<void> {
  const silences = await optional<
    Items<{
      id: string;
      matchers: { name: string; op: string; value: string }[];
      ends_at: string;
      created_by: string;
    }>
  >('/v1/silences').catch(() => null);
  if (silences && silences.items.length)
    page.append(
      h('h2', {}, 'Active silences'),
      h(
        'ul',
        {},
        ...silences.items.map((silence) =>
          h(
            'li',
            {},
            silence.matchers.map((matcher) => `${matcher.name}${matcher.op}"${matcher.value}"`).join(', '),
            ` until ${when(silence.ends_at)}`,
          ),
        ),
      ),
    );
}

export async function alertsPage(page: HTMLElement): Promise<void> {
  const select = h(
    'select',
    { id: 'alert-filter' },
    ...FILTERS.map((filter) =>
      h(
        'option',
        { value: filter.value, selected: filter.value === (sessionStorage.getItem(FILTER_KEY) ?? 'open') },
        filter.label,
      ),
    ),
  );
  const list = h('section', { 'aria-labelledby': 'alert-list-title', 'aria-live': 'polite' });
  const refresh = async () => {
    sessionStorage.setItem(FILTER_KEY, select.value);
    const alerts = await optional<Items<Alert>>(`/v1/alerts?state=${select.value}&limit=200`);
    if (alerts === null) {
      list.replaceChildren(
        h(
          'p',
          { class: 'empty' },
          'This process does not serve alerts (the alerter app does): open the console on the standalone app or behind a gateway that routes /v1/alerts.',
        ),
      );
      return;
    }
    list.replaceChildren(
      h('h2', { id: 'alert-list-title', class: 'visually-hidden' }, 'Alerts'),
      table(
        `${alerts.items.length} alerts (${select.selectedOptions[0]?.textContent ?? select.value}), newest first`,
        ['Severity', 'State', 'Alert', 'Model', 'Value', 'Since', 'Actions'],
        alerts.items.map((alert) => alertRow(alert, refresh)),
        'No alert in this state.',
      ),
    );
  };
  select.addEventListener('change', () => void refresh());
  page.append(
    h('h1', {}, 'Alerts'),
    h('div', { class: 'toolbar' }, h('label', { for: 'alert-filter' }, 'Show '), select),
    list,
  );
  await refresh();
  await appendActiveSilences(page);
}
