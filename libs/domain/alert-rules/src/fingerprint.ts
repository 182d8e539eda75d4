import { createHash } from 'node:crypto';

/** Labels in name order, so the same set always serialises (and hashes) the same way. */
export function sortedLabels(labels: Record<string, string>): [string, string][] {
  return Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * The identity of an alert: the rule and the series it watches (its sorted series labels), hashed.
 * Two observations of the same series under the same rule land on the same open alert, however
 * often they arrive; a different trigger, class or model is a different alert. Rule labels are
 * left out on purpose: editing them must not orphan the alerts that are open.
 */
export function alertFingerprint(ruleId: string, seriesLabels: Record<string, string>): string {
  return createHash('sha256')
    .update(JSON.stringify([ruleId, sortedLabels(seriesLabels)]))
    .digest('hex')
    .slice(0, 32);
}
