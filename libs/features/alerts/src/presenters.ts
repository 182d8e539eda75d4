import {
  alertEvidence,
  alertLinks,
  alertSummary,
  redactChannelConfig,
  type ConfigAudience,
} from '@tripline/alert-rules';
import type { AlertEntity, AlertRuleEntity, ChannelEntity, DeliveryEntity, SilenceEntity } from './entities';
import { toAlertState } from './mapping';

export const presentRule = (rule: AlertRuleEntity) => ({
  id: rule.id,
  name: rule.name,
  description: rule.description,
  metric: rule.metric,
  selector: rule.selector,
  condition: rule.condition,
  for_seconds: rule.forSeconds,
  severity: rule.severity,
  labels: rule.labels,
  group_by: rule.groupBy,
  repeat_interval_seconds: rule.repeatIntervalSeconds,
  channel_ids: rule.channelIds,
  enabled: rule.enabled,
  created_by: rule.createdBy,
  created_at: rule.createdAt,
  updated_at: rule.updatedAt,
});

/** An alert with what an on-call engineer needs: the value against threshold and baseline, the evidence, links. */
export const presentAlert = (entity: AlertEntity, publicUrl: string) => {
  const alert = toAlertState(entity);
  return {
    id: entity.id,
    rule_id: entity.ruleId,
    rule_name: entity.ruleName,
    fingerprint: entity.fingerprint,
    state: entity.state,
    silenced: entity.silencedBy !== null,
    silenced_by: entity.silencedBy,
    severity: entity.severity,
    model_id: entity.modelId,
    metric: entity.metric,
    condition: entity.condition,
    value: entity.value,
    threshold: entity.threshold,
    baseline: entity.baseline,
    statistic: entity.statistic,
    p_value: entity.pValue,
    summary: alertSummary(alert),
    labels: entity.labels,
    series_labels: entity.seriesLabels,
    evidence: alertEvidence(alert),
    links: alertLinks(alert, publicUrl),
    active_since: entity.activeSince,
    fired_at: entity.firedAt,
    acknowledged_at: entity.acknowledgedAt,
    acknowledged_by: entity.acknowledgedBy,
    resolved_at: entity.resolvedAt,
    resolved_by: entity.resolvedBy,
    resolution: entity.resolution,
    last_observed_at: entity.lastObservedAt,
    last_notified_at: entity.lastNotifiedAt,
    created_at: entity.createdAt,
    updated_at: entity.updatedAt,
  };
};

export function silenceStatus(silence: SilenceEntity, now = Date.now()): 'pending' | 'active' | 'expired' {
  if (silence.endsAt.getTime() <= now) return 'expired';
  return silence.startsAt.getTime() > now ? 'pending' : 'active';
}

export const presentSilence = (silence: SilenceEntity) => ({
  id: silence.id,
  status: silenceStatus(silence),
  matchers: silence.matchers,
  starts_at: silence.startsAt,
  ends_at: silence.endsAt,
  comment: silence.comment,
  created_by: silence.createdBy,
  created_at: silence.createdAt,
  updated_at: silence.updatedAt,
});

/** Credentials never leave unredacted; readers who are not admins see only where a channel sends. */
export const presentChannel = (channel: ChannelEntity, audience: ConfigAudience) => ({
  id: channel.id,
  name: channel.name,
  kind: channel.kind,
  config: redactChannelConfig(channel.kind, channel.config, audience),
  enabled: channel.enabled,
  max_attempts: channel.maxAttempts,
  created_at: channel.createdAt,
  updated_at: channel.updatedAt,
});

export const presentDelivery = (delivery: DeliveryEntity) => ({
  id: delivery.id,
  channel_id: delivery.channelId,
  alert_ids: delivery.alertIds,
  rule_id: delivery.ruleId,
  event: delivery.event,
  title: delivery.notification.title,
  status: delivery.status,
  attempts: delivery.attempts,
  max_attempts: delivery.maxAttempts,
  last_error: delivery.lastError,
  last_status: delivery.lastStatus,
  next_attempt_at: delivery.status === 'pending' ? delivery.nextAttemptAt : null,
  delivered_at: delivery.deliveredAt,
  failed_at: delivery.failedAt,
  created_at: delivery.createdAt,
  updated_at: delivery.updatedAt,
});
