import type { AlertState, NotificationEvent } from './engine';
import { sortedLabels } from './fingerprint';

export interface PendingNotification {
  alert: AlertState;
  event: NotificationEvent;
  groupBy: readonly string[];
}

export interface NotificationGroup {
  /** Stable for the same rule, event and group label values; a channel may use it to thread messages. */
  key: string;
  ruleId: string;
  event: NotificationEvent;
  /** The group_by labels and their values (missing labels as ""). */
  labels: Record<string, string>;
  alerts: AlertState[];
}

/**
 * Alerts of one rule that changed the same way at the same time and share their group_by label
 * values become one notification: a canary run that breaches on six triggers pages once, not six
 * times. A rule without group_by notifies alert by alert. Order of first appearance is kept.
 */
export function groupNotifications(notifications: readonly PendingNotification[]): NotificationGroup[] {
  const groups = new Map<string, NotificationGroup>();
  for (const { alert, event, groupBy } of notifications) {
    const labels: Record<string, string> = {};
    for (const name of [...groupBy].sort()) labels[name] = alert.labels[name] ?? '';
    const key =
      groupBy.length === 0
        ? `${alert.ruleId}/${event}/alert=${alert.id}`
        : `${alert.ruleId}/${event}/${JSON.stringify(sortedLabels(labels))}`;
    const group = groups.get(key);
    if (group) group.alerts.push(alert);
    else groups.set(key, { key, ruleId: alert.ruleId, event, labels, alerts: [alert] });
  }
  return [...groups.values()];
}
