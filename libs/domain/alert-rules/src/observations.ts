import type {
  DriftMetricMessage,
  EvaluationBaselineMessage,
  EvaluationRunMessage,
} from '@tripline/contracts';

/** What a measurement came from: what an on-call engineer opens to see the evidence. */
export type ObservationSource =
  | {
      kind: 'evaluation';
      runId: string;
      datasetId: string;
      datasetKind: string;
      baselineRunId?: string;
      modelVersion?: string;
    }
  | {
      kind: 'window';
      windowStart: number;
      windowEnd: number;
      sampleSize: number;
      referenceSize: number;
      effectSize?: number | null;
      verdict: string;
    }
  | { kind: 'consumer'; group: string; topic: string; unit: string };

/**
 * One measured value of one series. The labels identify the series (model, dataset, trigger,
 * class, ...), never the measurement: a run id in the labels would make every run a new alert.
 */
export interface Observation {
  metric: string;
  value: number | null;
  pValue?: number | null;
  /** The same metric on the model's baseline, where one is known. */
  baseline?: number | null;
  labels: Record<string, string>;
  /** Epoch ms when it was measured (end of the run or of the window). */
  at: number;
  source: ObservationSource;
}

/** The baseline run's values, to put each observation in context and to detect a fingerprint change. */
export interface EvaluationBaseline {
  runId: string;
  values: Partial<Record<(typeof RUN_METRICS)[number], number>>;
  perTrigger: Record<string, number>;
  perClassRecall: Record<string, number>;
  fingerprint?: string;
}

/** The headline metrics of an evaluation message, observed under their own names. */
export const RUN_METRICS = [
  'accuracy',
  'macro_f1',
  'expected_calibration_error',
  'attack_success_rate',
  'flip_rate',
  'confidence_shift',
] as const;

const finite = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
const record = (value: unknown): Record<string, unknown> | undefined =>
  value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;

/** The baseline values an evaluation message carries (contract: evaluationBaselineSchema). */
export function baselineFromMessage(baseline: EvaluationBaselineMessage): EvaluationBaseline {
  const values: EvaluationBaseline['values'] = {};
  for (const metric of RUN_METRICS) {
    const value = baseline[metric];
    if (finite(value)) values[metric] = value;
  }
  return {
    runId: baseline.run_id,
    values,
    perTrigger: { ...(baseline.per_trigger_attack_success ?? {}) },
    perClassRecall: { ...(baseline.per_class_recall ?? {}) },
    ...(baseline.fingerprint ? { fingerprint: baseline.fingerprint } : {}),
  };
}

/**
 * Reads the baseline values from the summary the evaluator stored with the baseline run
 * (evaluation_runs.summary); anything missing or malformed is left out rather than guessed.
 */
export function baselineFromRunSummary(runId: string, summary: unknown): EvaluationBaseline {
  const root = record(summary) ?? {};
  const clean = record(root.clean) ?? {};
  const canary = record(root.canary) ?? {};
  const values: EvaluationBaseline['values'] = {};
  const take = (name: (typeof RUN_METRICS)[number], value: unknown) => {
    if (finite(value)) values[name] = value;
  };
  take('accuracy', clean.accuracy);
  take('macro_f1', clean.macroF1);
  take('expected_calibration_error', clean.expectedCalibrationError);
  take('attack_success_rate', record(canary.maxAttackSuccessRate)?.rate);
  take('flip_rate', canary.pooledFlipRate);
  take('confidence_shift', canary.pooledConfidenceShift);
  const perTrigger: Record<string, number> = {};
  for (const [trigger, response] of Object.entries(record(canary.perTrigger) ?? {})) {
    const rate = record(response)?.attackSuccessRate;
    if (finite(rate)) perTrigger[trigger] = rate;
  }
  const perClassRecall: Record<string, number> = {};
  for (const [label, scores] of Object.entries(record(clean.perClass) ?? {})) {
    const recall = record(scores)?.recall;
    if (finite(recall)) perClassRecall[label] = recall;
  }
  const fingerprint = typeof root.fingerprint === 'string' ? root.fingerprint : undefined;
  return { runId, values, perTrigger, perClassRecall, ...(fingerprint ? { fingerprint } : {}) };
}

/**
 * Every observation one finished evaluation run yields. Series labels: model_id, dataset_id and
 * dataset_kind, plus trigger (trigger_attack_success_rate) or class (recall). A failed run yields
 * only evaluation_failed = 1: its metrics describe the failure, not the model.
 */
export function observationsFromEvaluation(
  message: EvaluationRunMessage,
  baseline?: EvaluationBaseline,
): Observation[] {
  const labels = {
    model_id: message.model_id,
    dataset_id: message.dataset_id,
    dataset_kind: message.dataset_kind,
  };
  const source: ObservationSource = {
    kind: 'evaluation',
    runId: message.run_id,
    datasetId: message.dataset_id,
    datasetKind: message.dataset_kind,
    ...(message.baseline_run_id ? { baselineRunId: message.baseline_run_id } : {}),
    ...(message.model_version ? { modelVersion: message.model_version } : {}),
  };
  const at = message.finished_at;
  const observe = (
    metric: string,
    value: number,
    baselineValue?: number,
    extra: Record<string, string> = {},
  ): Observation => ({
    metric,
    value,
    ...(baselineValue === undefined ? {} : { baseline: baselineValue }),
    labels: { ...labels, ...extra },
    at,
    source,
  });
  const failed = message.status !== 'succeeded';
  const observations = [observe('evaluation_failed', failed ? 1 : 0)];
  if (failed) return observations;

  for (const metric of RUN_METRICS) {
    const value = message[metric];
    if (finite(value)) observations.push(observe(metric, value, baseline?.values[metric]));
  }
  for (const [trigger, rate] of Object.entries(message.per_trigger_attack_success ?? {})) {
    observations.push(
      observe('trigger_attack_success_rate', rate, baseline?.perTrigger[trigger], { trigger }),
    );
  }
  for (const [label, recall] of Object.entries(message.per_class_recall ?? {})) {
    observations.push(observe('recall', recall, baseline?.perClassRecall[label], { class: label }));
  }
  const named = new Set(observations.map((observation) => observation.metric));
  for (const [metric, value] of Object.entries(message.metrics ?? {})) {
    // The headline names are the contract; a same-named entry of the free-form map must not shadow them.
    if (!named.has(metric)) observations.push(observe(metric, value));
  }
  // The evaluator's own fingerprint_changed (against the pinned fingerprint of the run's version)
  // wins: two values of one series per run would resolve and re-fire the alert every run.
  if (message.fingerprint && baseline?.fingerprint && message.metrics?.fingerprint_changed === undefined) {
    observations.push(
      observe('fingerprint_changed', message.fingerprint === baseline.fingerprint ? 0 : 1, 0),
    );
  }
  return observations;
}

/** Per-feature results: `feature.<name>`, `feature_missing.<name>`, and the dataset-level share. */
const isFeatureMetric = (metric: string) =>
  metric.startsWith('feature.') || metric.startsWith('feature_missing.') || metric === 'dataset_share';

/**
 * The observation of one detector result: `drift.<metric>.<detector>` with the statistic as its
 * value and the p-value for statistical rules. A window below the minimum sample size has no
 * verdict and yields nothing, so it neither raises nor resolves an alert.
 *
 * Per-feature results are named without their detector, since a feature's test follows its type:
 * `drift.feature.<name>` and `drift.feature_missing.<name>` observe the effect size (Wasserstein in
 * reference standard deviations, Jensen–Shannon distance, change of the missing share) with the
 * Benjamini–Hochberg-adjusted p-value, and `drift.dataset_share` the share of drifted features. An
 * effect threshold is what a rule on a feature should use: on a large window a p-value alone
 * flags differences of no consequence.
 */
export function observationFromDriftMetric(message: DriftMetricMessage): Observation | undefined {
  if (message.verdict === 'insufficient-data') return undefined;
  const feature = isFeatureMetric(message.metric);
  return {
    metric: feature ? `drift.${message.metric}` : `drift.${message.metric}.${message.detector}`,
    value: (feature && message.metric !== 'dataset_share' ? message.effect_size : message.statistic) ?? null,
    pValue: message.p_value ?? null,
    labels: { ...(message.labels ?? {}), model_id: message.model_id },
    at: message.window_end,
    source: {
      kind: 'window',
      windowStart: message.window_start,
      windowEnd: message.window_end,
      sampleSize: message.sample_size,
      referenceSize: message.reference_size,
      effectSize: message.effect_size ?? null,
      verdict: message.verdict,
    },
  };
}

/** The label-free performance estimates (CBPE), whose drop below the reference is observed as well. */
const isPerformanceEstimate = (message: DriftMetricMessage) =>
  message.detector === 'cbpe' && message.metric.startsWith('estimated_');

/**
 * Every observation of one detector result: the one of `observationFromDriftMetric`, and for the
 * label-free performance estimates (`estimated_accuracy`, `estimated_macro_f1`, detector `cbpe`)
 * also `drift.<metric>.drop`, the reference's realised value minus the estimate (positive when the
 * estimate fell), so that "the estimate falls below the reference by a margin" is a threshold
 * rule: `drift.estimated_accuracy.drop >= 0.05`. `drift.<metric>.cbpe` carries the estimate itself
 * (`drift.estimated_accuracy.cbpe < 0.8`) and the one-sided p-value that it fell.
 */
export function observationsFromDriftMetric(message: DriftMetricMessage): Observation[] {
  const observation = observationFromDriftMetric(message);
  if (!observation) return [];
  if (!isPerformanceEstimate(message)) return [observation];
  const effect = message.effect_size ?? null;
  const estimate = message.statistic ?? null;
  // The reference's realised value, which the estimate is compared with.
  const baseline = effect === null || estimate === null ? null : estimate - effect;
  return [
    { ...observation, baseline },
    { ...observation, metric: `drift.${message.metric}.drop`, value: effect === null ? null : -effect },
  ];
}

/** Consumer lag of one group on one topic, summed over partitions (messages on Kafka, bytes embedded). */
export function consumerLagObservation(
  group: string,
  topic: string,
  unit: string,
  lag: number,
  at: number,
): Observation {
  return {
    metric: 'consumer_lag',
    value: lag,
    labels: { group, topic, unit },
    at,
    source: { kind: 'consumer', group, topic, unit },
  };
}
