import type { AlertState, NotificationEvent } from './engine';
import type { NotificationGroup } from './grouping';
import { SEVERITIES, type Severity } from './rules';

/** Where an on-call engineer goes next: the alert, its evidence, the model. */
export interface AlertLinks {
  alert: string;
  deliveries: string;
  model?: string;
  evaluation?: string;
  baseline_evaluation?: string;
  model_stats?: string;
}

/** One alert as every channel receives it (the webhook body carries exactly this). */
export interface NotificationAlert {
  id: string;
  fingerprint: string;
  state: AlertState['state'];
  silenced: boolean;
  severity: Severity;
  rule_id: string;
  rule_name: string;
  model_id: string | null;
  metric: string;
  condition: string;
  value: number | null;
  threshold: number | null;
  baseline: number | null;
  statistic: number | null;
  p_value: number | null;
  summary: string;
  labels: Record<string, string>;
  evidence: Record<string, string | number | null>;
  active_since: string;
  fired_at: string | null;
  acknowledged_at: string | null;
  acknowledged_by: string | null;
  resolved_at: string | null;
  resolution: string | null;
  links: AlertLinks;
}

export interface Notification {
  version: 1;
  event: NotificationEvent;
  title: string;
  /** The highest severity among the alerts. */
  severity: Severity;
  group: { key: string; labels: Record<string, string> };
  alerts: NotificationAlert[];
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** Numbers as a person reads them: four significant digits, integers as they are. */
export function formatValue(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return 'n/a';
  if (Number.isInteger(value)) return String(value);
  return String(Number(value.toPrecision(4)));
}

export function alertLinks(alert: AlertState, apiUrl: string): AlertLinks {
  const base = apiUrl.replace(/\/+$/, '');
  const model = alert.seriesLabels.model_id;
  const links: AlertLinks = {
    alert: `${base}/v1/alerts/${alert.id}`,
    deliveries: `${base}/v1/alerts/${alert.id}/deliveries`,
  };
  if (model) links.model = `${base}/v1/models/${encodeURIComponent(model)}`;
  const source = alert.source;
  if (source.kind === 'evaluation') {
    links.evaluation = `${base}/v1/evaluations/${source.runId}`;
    if (source.baselineRunId) links.baseline_evaluation = `${base}/v1/evaluations/${source.baselineRunId}`;
  }
  if (source.kind === 'window' && model) {
    const query = new URLSearchParams({
      from: new Date(source.windowStart).toISOString(),
      to: new Date(source.windowEnd).toISOString(),
    });
    links.model_stats = `${base}/v1/models/${encodeURIComponent(model)}/stats?${query}`;
  }
  return links;
}

/** The measurement behind the alert: the run, or the window and its sizes, or the consumer. */
export function alertEvidence(alert: AlertState): Record<string, string | number | null> {
  const source = alert.source;
  switch (source.kind) {
    case 'evaluation':
      return {
        kind: 'evaluation',
        run_id: source.runId,
        dataset_id: source.datasetId,
        dataset_kind: source.datasetKind,
        baseline_run_id: source.baselineRunId ?? null,
        model_version: source.modelVersion ?? null,
      };
    case 'window':
      return {
        kind: 'window',
        window_start: iso(source.windowStart),
        window_end: iso(source.windowEnd),
        sample_size: source.sampleSize,
        reference_size: source.referenceSize,
        effect_size: source.effectSize ?? null,
        verdict: source.verdict,
      };
    case 'consumer':
      return { kind: 'consumer', group: source.group, topic: source.topic, unit: source.unit };
  }
}

/**
 * One line an on-call engineer can act on: "attack_success_rate = 0.9 (alert when
 * attack_success_rate > 0.5; baseline 0.05) on model backdoored, evaluation run 42".
 */
export function alertSummary(alert: AlertState): string {
  const measured =
    alert.pValue !== null
      ? `${alert.metric} = ${formatValue(alert.statistic)}, p-value ${formatValue(alert.pValue)}`
      : `${alert.metric} = ${formatValue(alert.statistic ?? alert.value)}`;
  const context = [`alert when ${alert.condition}`];
  if (alert.baseline !== null) context.push(`baseline ${formatValue(alert.baseline)}`);
  const where: string[] = [];
  const model = alert.seriesLabels.model_id;
  if (model) where.push(`model ${model}`);
  for (const name of ['trigger', 'class'])
    if (alert.seriesLabels[name]) where.push(`${name} ${alert.seriesLabels[name]}`);
  const source = alert.source;
  if (source.kind === 'evaluation') where.push(`evaluation run ${source.runId}`);
  if (source.kind === 'window')
    where.push(
      `window ${iso(source.windowStart)} to ${iso(source.windowEnd)} (${source.sampleSize} events vs ${source.referenceSize} in the reference)`,
    );
  if (source.kind === 'consumer') where.push(`consumer group ${source.group} on ${source.topic}`);
  return `${measured} (${context.join('; ')})${where.length ? ` on ${where.join(', ')}` : ''}`;
}

const EVENT_WORDS: Record<NotificationEvent, string> = {
  firing: 'FIRING',
  repeat: 'STILL FIRING',
  acknowledged: 'ACKNOWLEDGED',
  resolved: 'RESOLVED',
};

export function highestSeverity(alerts: readonly { severity: Severity }[]): Severity {
  return alerts.reduce<Severity>(
    (highest, alert) =>
      SEVERITIES.indexOf(alert.severity) > SEVERITIES.indexOf(highest) ? alert.severity : highest,
    'info',
  );
}

export function presentAlertForNotification(alert: AlertState, apiUrl: string): NotificationAlert {
  return {
    id: alert.id,
    fingerprint: alert.fingerprint,
    state: alert.state,
    silenced: alert.silencedBy !== null,
    severity: alert.severity,
    rule_id: alert.ruleId,
    rule_name: alert.ruleName,
    model_id: alert.seriesLabels.model_id ?? null,
    metric: alert.metric,
    condition: alert.condition,
    value: alert.value,
    threshold: alert.threshold,
    baseline: alert.baseline,
    statistic: alert.statistic,
    p_value: alert.pValue,
    summary: alertSummary(alert),
    labels: alert.labels,
    evidence: alertEvidence(alert),
    active_since: iso(alert.activeSince)!,
    fired_at: iso(alert.firedAt),
    acknowledged_at: iso(alert.acknowledgedAt),
    acknowledged_by: alert.acknowledgedBy,
    resolved_at: iso(alert.resolvedAt),
    resolution: alert.resolution,
    links: alertLinks(alert, apiUrl),
  };
}

/** The channel-neutral content of one notification: stored with the delivery, rendered per channel. */
export function buildNotification(group: NotificationGroup, apiUrl: string): Notification {
  const alerts = group.alerts.map((alert) => presentAlertForNotification(alert, apiUrl));
  const severity = highestSeverity(alerts);
  const first = alerts[0];
  const about =
    alerts.length === 1
      ? `${first.model_id ? ` on ${first.model_id}` : ''}: ${first.metric} = ${formatValue(first.statistic ?? first.value)} (${first.condition})`
      : ` (${alerts.length} alerts${
          Object.keys(group.labels).length
            ? `, ${Object.entries(group.labels)
                .map(([name, value]) => `${name}=${value}`)
                .join(', ')}`
            : ''
        })`;
  return {
    version: 1,
    event: group.event,
    title: `[${severity.toUpperCase()}] ${EVENT_WORDS[group.event]}: ${first.rule_name}${about}`,
    severity,
    group: { key: group.key, labels: group.labels },
    alerts,
  };
}
