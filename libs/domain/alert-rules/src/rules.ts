import type { Observation } from './observations';

export const SEVERITIES = ['info', 'warning', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const THRESHOLD_OPERATORS = ['>', '>=', '<', '<='] as const;
export type ThresholdOperator = (typeof THRESHOLD_OPERATORS)[number];

/**
 * When an observation breaches a rule: its value against a fixed threshold, or its p-value
 * against a significance level (a drift test says the reference and the window differ).
 */
export type Condition =
  | { type: 'threshold'; op: ThresholdOperator; value: number }
  | { type: 'statistical'; alpha: number };

/** Which series a rule watches: one model or all, narrowed by series labels (equality). */
export interface Selector {
  modelId?: string;
  labels?: Record<string, string>;
}

export interface Rule {
  id: string;
  name: string;
  /**
   * The observed metric: `accuracy`, `macro_f1`, `attack_success_rate`, `trigger_attack_success_rate`,
   * `flip_rate`, `recall`, `regressions`, `fingerprint_changed`, `drift.<metric>.<detector>`,
   * `consumer_lag`, ... (see observations.ts for every name an evaluation or a window yields).
   */
  metric: string;
  selector: Selector;
  condition: Condition;
  /** How long the condition must hold before the alert fires; 0 fires on the first breach. */
  forSeconds: number;
  severity: Severity;
  /** Added to every alert of the rule, e.g. team=ml-platform; matchable by silences. */
  labels: Record<string, string>;
  /** Alerts of this rule that share these label values are notified together; empty: one by one. */
  groupBy: string[];
  /** A firing, unacknowledged alert is notified again after this long; 0 never repeats. */
  repeatIntervalSeconds: number;
  /** Channels to notify; empty means every enabled channel. */
  channelIds: string[];
  enabled: boolean;
  /** Epoch ms. Observations measured before the rule existed are not judged by it. */
  createdAt: number;
}

/** Whether the observation's series is one the rule watches. */
export function ruleSelects(rule: Rule, observation: Observation): boolean {
  if (!rule.enabled || rule.metric !== observation.metric) return false;
  if (observation.at < rule.createdAt) return false;
  const { modelId, labels } = rule.selector;
  if (modelId !== undefined && observation.labels.model_id !== modelId) return false;
  for (const [name, value] of Object.entries(labels ?? {})) {
    if (observation.labels[name] !== value) return false;
  }
  return true;
}

/**
 * true when the observation breaches the condition, false when it is within bounds, undefined
 * when it cannot be judged (no value, or no p-value for a statistical rule): no verdict must not
 * resolve an alert, nor raise one.
 */
export function conditionHolds(condition: Condition, observation: Observation): boolean | undefined {
  if (condition.type === 'statistical') {
    const pValue = observation.pValue;
    if (pValue === null || pValue === undefined || !Number.isFinite(pValue)) return undefined;
    return pValue < condition.alpha;
  }
  const value = observation.value;
  if (value === null || !Number.isFinite(value)) return undefined;
  switch (condition.op) {
    case '>':
      return value > condition.value;
    case '>=':
      return value >= condition.value;
    case '<':
      return value < condition.value;
    case '<=':
      return value <= condition.value;
  }
}

/** The quantity a condition compares and the bound it compares it with, for alerts and messages. */
export function comparedValue(
  condition: Condition,
  observation: Observation,
): { value: number | null; threshold: number } {
  return condition.type === 'statistical'
    ? { value: observation.pValue ?? null, threshold: condition.alpha }
    : { value: observation.value, threshold: condition.value };
}

/** "attack_success_rate > 0.5", "p-value of drift.prediction.chi_square < 0.01". */
export function describeCondition(metric: string, condition: Condition): string {
  return condition.type === 'statistical'
    ? `p-value of ${metric} < ${condition.alpha}`
    : `${metric} ${condition.op} ${condition.value}`;
}
