import type { AlertState, Rule, Silence } from '@tripline/alert-rules';
import type { AlertEntity, AlertRuleEntity, SilenceEntity } from './entities';

const ms = (date: Date | null): number | null => (date === null ? null : date.getTime());
const date = (value: number | null): Date | null => (value === null ? null : new Date(value));

/** A rule whose row was deleted while an alert of it was open keeps this id in messages. */
export const DELETED_RULE = 'deleted-rule';

export function toRule(entity: AlertRuleEntity): Rule {
  return {
    id: entity.id,
    name: entity.name,
    metric: entity.metric,
    selector: {
      ...(entity.selector.model_id !== undefined ? { modelId: entity.selector.model_id } : {}),
      ...(entity.selector.labels ? { labels: entity.selector.labels } : {}),
    },
    condition: entity.condition,
    forSeconds: entity.forSeconds,
    severity: entity.severity,
    labels: entity.labels,
    groupBy: entity.groupBy,
    repeatIntervalSeconds: entity.repeatIntervalSeconds,
    channelIds: entity.channelIds,
    enabled: entity.enabled,
    createdAt: entity.createdAt.getTime(),
  };
}

export function toSilence(entity: SilenceEntity): Silence {
  return {
    id: entity.id,
    matchers: entity.matchers,
    startsAt: entity.startsAt.getTime(),
    endsAt: entity.endsAt.getTime(),
  };
}

export function toAlertState(entity: AlertEntity): AlertState {
  return {
    id: entity.id,
    ruleId: entity.ruleId ?? DELETED_RULE,
    ruleName: entity.ruleName,
    fingerprint: entity.fingerprint,
    state: entity.state,
    severity: entity.severity,
    metric: entity.metric,
    condition: entity.condition,
    seriesLabels: entity.seriesLabels,
    labels: entity.labels,
    value: entity.value,
    threshold: entity.threshold,
    baseline: entity.baseline,
    statistic: entity.statistic,
    pValue: entity.pValue,
    source: entity.source,
    activeSince: entity.activeSince.getTime(),
    firedAt: ms(entity.firedAt),
    acknowledgedAt: ms(entity.acknowledgedAt),
    acknowledgedBy: entity.acknowledgedBy,
    resolvedAt: ms(entity.resolvedAt),
    resolvedBy: entity.resolvedBy,
    resolution: entity.resolution,
    lastObservedAt: entity.lastObservedAt.getTime(),
    lastNotifiedAt: ms(entity.lastNotifiedAt),
    silencedBy: entity.silencedBy,
  };
}

/** The columns of an alert state (created_at and updated_at are the database's). */
export function alertColumns(state: AlertState): Omit<AlertEntity, 'createdAt' | 'updatedAt'> {
  return {
    id: state.id,
    ruleId: state.ruleId === DELETED_RULE ? null : state.ruleId,
    ruleName: state.ruleName,
    fingerprint: state.fingerprint,
    state: state.state,
    severity: state.severity,
    metric: state.metric,
    condition: state.condition,
    modelId: state.seriesLabels.model_id ?? null,
    seriesLabels: state.seriesLabels,
    labels: state.labels,
    value: state.value,
    threshold: state.threshold,
    baseline: state.baseline,
    statistic: state.statistic,
    pValue: state.pValue,
    source: state.source,
    activeSince: new Date(state.activeSince),
    firedAt: date(state.firedAt),
    acknowledgedAt: date(state.acknowledgedAt),
    acknowledgedBy: state.acknowledgedBy,
    resolvedAt: date(state.resolvedAt),
    resolvedBy: state.resolvedBy,
    resolution: state.resolution,
    lastObservedAt: new Date(state.lastObservedAt),
    lastNotifiedAt: date(state.lastNotifiedAt),
    silencedBy: state.silencedBy,
  };
}
