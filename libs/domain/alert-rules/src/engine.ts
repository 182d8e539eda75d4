import { alertFingerprint } from './fingerprint';
import type { Observation, ObservationSource } from './observations';
import {
  comparedValue,
  conditionHolds,
  describeCondition,
  ruleSelects,
  type Rule,
  type Severity,
} from './rules';
import { silencing, type Silence } from './silences';

/**
 * pending: the condition holds but not yet for the rule's `for` duration (kept, never notified);
 * firing -> acknowledged -> resolved is the lifecycle an on-call engineer sees. A resolved alert
 * stays resolved: the next breach of the same series opens a new alert with the same fingerprint.
 */
export type AlertLifecycle = 'pending' | 'firing' | 'acknowledged' | 'resolved';
export type Resolution = 'condition-cleared' | 'manual' | 'rule-deleted' | 'rule-disabled';
/** What a channel is told. */
export type NotificationEvent = 'firing' | 'repeat' | 'acknowledged' | 'resolved';
/** The states of the alerts topic (alertEventSchema). */
export type PublishedState = 'firing' | 'acknowledged' | 'resolved' | 'silenced';

export interface AlertState {
  id: string;
  ruleId: string;
  ruleName: string;
  fingerprint: string;
  state: AlertLifecycle;
  severity: Severity;
  metric: string;
  /** "attack_success_rate > 0.5": the condition as it read when the alert was last judged. */
  condition: string;
  /** The observed series: what the fingerprint is made of. */
  seriesLabels: Record<string, string>;
  /** Series labels plus the rule's labels: what silences match and notifications are grouped by. */
  labels: Record<string, string>;
  /** The compared quantity (the value, or the p-value of a statistical rule) and its bound. */
  value: number | null;
  threshold: number | null;
  baseline: number | null;
  statistic: number | null;
  pValue: number | null;
  source: ObservationSource;
  /** Epoch ms of the first breaching observation. */
  activeSince: number;
  firedAt: number | null;
  acknowledgedAt: number | null;
  acknowledgedBy: string | null;
  resolvedAt: number | null;
  resolvedBy: string | null;
  resolution: Resolution | null;
  lastObservedAt: number;
  /** When a channel was last told about this alert; null while nobody has been. */
  lastNotifiedAt: number | null;
  silencedBy: string | null;
}

export type AlertChange =
  | 'pending'
  | 'pending-cleared'
  | 'updated'
  | 'firing'
  | 'acknowledged'
  | 'resolved'
  | 'silenced'
  | 'unsilenced'
  | 'repeat';

/** One step of one alert: the state to store, and what to publish and to notify, if anything. */
export interface Transition {
  alert: AlertState;
  change: AlertChange;
  publish?: PublishedState;
  notify?: NotificationEvent;
}

export class LifecycleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LifecycleError';
  }
}

export const OPEN_STATES: readonly AlertLifecycle[] = ['pending', 'firing', 'acknowledged'];

/** The labels a silence matcher sees: the alert's labels plus alertname, rule_id, severity and metric. */
export function matchableLabels(alert: AlertState): Record<string, string> {
  return {
    ...alert.labels,
    alertname: alert.ruleName,
    rule_id: alert.ruleId,
    severity: alert.severity,
    metric: alert.metric,
  };
}

function fire(alert: AlertState, now: number, silences: readonly Silence[]): Transition {
  const silence = silencing(silences, matchableLabels(alert), now);
  const fired: AlertState = { ...alert, state: 'firing', firedAt: now, silencedBy: silence?.id ?? null };
  if (silence) return { alert: fired, change: 'firing', publish: 'silenced' };
  return { alert: { ...fired, lastNotifiedAt: now }, change: 'firing', publish: 'firing', notify: 'firing' };
}

function close(alert: AlertState, now: number, by: string | null, resolution: Resolution): Transition {
  return {
    alert: { ...alert, state: 'resolved', resolvedAt: now, resolvedBy: by, resolution },
    change: 'resolved',
    publish: 'resolved',
    // Told even while silenced when it was told it fired: an incident opened elsewhere (a
    // PagerDuty page) must be closed; one nobody heard of needs no all-clear.
    ...(alert.lastNotifiedAt !== null ? { notify: 'resolved' as const } : {}),
  };
}

export interface ObserveContext {
  now: number;
  silences: readonly Silence[];
  newId: () => string;
}

/**
 * Judges one observation under one rule, given the open alert of its series (if any). Returns
 * undefined when nothing changes: the rule does not watch the series, the observation cannot be
 * judged, or it is older than what the alert last saw (a late redelivery must not undo a newer
 * verdict).
 */
export function observe(
  rule: Rule,
  observation: Observation,
  open: AlertState | undefined,
  context: ObserveContext,
): Transition | undefined {
  if (!ruleSelects(rule, observation)) return undefined;
  const holds = conditionHolds(rule.condition, observation);
  if (holds === undefined) return undefined;
  if (open && observation.at < open.lastObservedAt) return undefined;
  if (!holds) {
    if (!open) return undefined;
    if (open.state === 'pending')
      return { alert: { ...open, lastObservedAt: observation.at }, change: 'pending-cleared' };
    return close(
      { ...open, ...measurements(rule, observation, open.seriesLabels) },
      context.now,
      null,
      'condition-cleared',
    );
  }
  const forMs = rule.forSeconds * 1000;
  if (!open) {
    const seriesLabels = { ...observation.labels };
    const alert: AlertState = {
      ...measurements(rule, observation, seriesLabels),
      id: context.newId(),
      ruleId: rule.id,
      fingerprint: alertFingerprint(rule.id, seriesLabels),
      state: 'pending',
      activeSince: observation.at,
      firedAt: null,
      acknowledgedAt: null,
      acknowledgedBy: null,
      resolvedAt: null,
      resolvedBy: null,
      resolution: null,
      lastNotifiedAt: null,
      silencedBy: null,
    };
    return forMs === 0 ? fire(alert, context.now, context.silences) : { alert, change: 'pending' };
  }
  const updated: AlertState = { ...open, ...measurements(rule, observation, open.seriesLabels) };
  if (open.state === 'pending' && observation.at - open.activeSince >= forMs)
    return fire(updated, context.now, context.silences);
  return { alert: updated, change: 'updated' };
}

type Measured = Pick<
  AlertState,
  | 'ruleName'
  | 'severity'
  | 'metric'
  | 'condition'
  | 'seriesLabels'
  | 'labels'
  | 'value'
  | 'threshold'
  | 'baseline'
  | 'statistic'
  | 'pValue'
  | 'source'
  | 'lastObservedAt'
>;

/** The observation's measurements with the rule's current name, severity and labels. */
function measurements(rule: Rule, observation: Observation, seriesLabels: Record<string, string>): Measured {
  const { value, threshold } = comparedValue(rule.condition, observation);
  return {
    ruleName: rule.name,
    severity: rule.severity,
    metric: rule.metric,
    condition: describeCondition(rule.metric, rule.condition),
    seriesLabels,
    // Series labels win over rule labels: a rule label must not relabel the model it watches.
    labels: { ...rule.labels, ...seriesLabels },
    value,
    threshold,
    baseline: observation.baseline ?? null,
    statistic: observation.value,
    pValue: observation.pValue ?? null,
    source: observation.source,
    lastObservedAt: observation.at,
  };
}

/**
 * The time-driven half, run periodically on every open alert: a pending alert whose condition
 * has held for `for` fires, silences that began or ended are applied, and a firing alert nobody
 * acknowledged is notified again after the repeat interval.
 */
export function tick(
  rule: Rule,
  alert: AlertState,
  now: number,
  silences: readonly Silence[],
): Transition | undefined {
  if (alert.state === 'pending') {
    return now - alert.activeSince >= rule.forSeconds * 1000 ? fire(alert, now, silences) : undefined;
  }
  if (alert.state === 'resolved') return undefined;
  const silence = silencing(silences, matchableLabels(alert), now);
  if (silence && alert.silencedBy === null)
    return { alert: { ...alert, silencedBy: silence.id }, change: 'silenced', publish: 'silenced' };
  if (silence) {
    return alert.silencedBy === silence.id
      ? undefined
      : { alert: { ...alert, silencedBy: silence.id }, change: 'updated' };
  }
  if (alert.silencedBy !== null) {
    // Silenced since it fired, nobody was told: they are now.
    const tell = alert.state === 'firing' && alert.lastNotifiedAt === null;
    return {
      alert: { ...alert, silencedBy: null, lastNotifiedAt: tell ? now : alert.lastNotifiedAt },
      change: 'unsilenced',
      publish: alert.state,
      ...(tell ? { notify: 'firing' as const } : {}),
    };
  }
  const repeatMs = rule.repeatIntervalSeconds * 1000;
  if (
    alert.state === 'firing' &&
    repeatMs > 0 &&
    alert.lastNotifiedAt !== null &&
    now - alert.lastNotifiedAt >= repeatMs
  ) {
    return { alert: { ...alert, lastNotifiedAt: now }, change: 'repeat', notify: 'repeat' };
  }
  return undefined;
}

/** firing -> acknowledged: stops repeats; an acknowledgement of an acknowledged alert changes nothing. */
export function acknowledge(alert: AlertState, now: number, by: string): Transition | undefined {
  if (alert.state === 'acknowledged') return undefined;
  if (alert.state !== 'firing')
    throw new LifecycleError(`alert ${alert.id} is ${alert.state}; only a firing alert can be acknowledged`);
  return {
    alert: { ...alert, state: 'acknowledged', acknowledgedAt: now, acknowledgedBy: by },
    change: 'acknowledged',
    publish: 'acknowledged',
    ...(alert.lastNotifiedAt !== null ? { notify: 'acknowledged' as const } : {}),
  };
}

/** firing or acknowledged -> resolved by a person; a resolved alert stays as it is. */
export function resolveByHand(alert: AlertState, now: number, by: string): Transition | undefined {
  if (alert.state === 'resolved') return undefined;
  if (alert.state === 'pending')
    throw new LifecycleError(`alert ${alert.id} is pending (not firing yet); there is nothing to resolve`);
  return close(alert, now, by, 'manual');
}

/** Open alerts of a rule that was deleted or disabled: pending ones vanish, the rest resolve. */
export function retire(
  alert: AlertState,
  now: number,
  resolution: 'rule-deleted' | 'rule-disabled',
): Transition {
  if (alert.state === 'pending') return { alert, change: 'pending-cleared' };
  return close(alert, now, null, resolution);
}
