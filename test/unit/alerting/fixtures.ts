import type { Observation, Rule } from '@tripline/alert-rules';

export const T0 = Date.parse('2025-01-01T00:00:00Z');

export function rule(overrides: Partial<Rule> = {}): Rule {
  return {
    id: 'rule-asr',
    name: 'backdoor answers its trigger',
    metric: 'attack_success_rate',
    selector: {},
    condition: { type: 'threshold', op: '>', value: 0.5 },
    forSeconds: 0,
    severity: 'critical',
    labels: { team: 'ml-platform' },
    groupBy: [],
    repeatIntervalSeconds: 0,
    channelIds: [],
    enabled: true,
    createdAt: T0 - 60_000,
    ...overrides,
  };
}

export function observation(
  value: number | null,
  at = T0,
  overrides: Partial<Observation> = {},
): Observation {
  return {
    metric: 'attack_success_rate',
    value,
    labels: { model_id: 'backdoored', dataset_id: 'canary-1', dataset_kind: 'canary' },
    at,
    source: { kind: 'evaluation', runId: `run-${at}`, datasetId: 'canary-1', datasetKind: 'canary' },
    ...overrides,
  };
}

/** Deterministic ids: alert-1, alert-2, ... */
export function idSequence(): () => string {
  let next = 0;
  return () => `alert-${++next}`;
}
