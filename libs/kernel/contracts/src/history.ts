import { z } from 'zod';
import { boundedRecord, eventTime, identifier } from './fields';
import { LIMITS } from './limits';

const metricValue = z.number().finite().nullable().optional();
const metricMap = boundedRecord('metric', z.number().finite(), 1_000, 256).optional();
const labels = boundedRecord('label', z.string().max(1_024), 64, 128).optional();
const details = z.record(z.string(), z.unknown()).optional();

/** The figures of a run; a baseline carries the same ones, so a comparison is field by field. */
const runMetrics = {
  accuracy: metricValue,
  macro_f1: metricValue,
  expected_calibration_error: metricValue,
  attack_success_rate: metricValue,
  flip_rate: metricValue,
  confidence_shift: metricValue,
  per_class_recall: metricMap,
  per_trigger_attack_success: metricMap,
};

/**
 * The run a finished run was compared with, with the values it was compared on, so a consumer
 * (the alerter, the history) judges the run without reading the evaluator's tables. `pinned`
 * says whether a person pinned it; otherwise it is the first succeeded run on the model's
 * known-good version.
 */
export const evaluationBaselineSchema = z.object({
  run_id: z.string().max(128),
  pinned: z.boolean(),
  model_version: z.string().max(128).optional(),
  ...runMetrics,
  fingerprint: z.string().max(256).optional(),
});

/** The absolute gates a run is judged by, whatever its baseline says. */
export const GATES = ['attack_success_rate', 'accuracy', 'fingerprint'] as const;

/**
 * One gate's verdict on one run: `fail` when the measured value breaks the bound (or the
 * fingerprint differs from the pinned one), `unknown` when there is nothing to judge it against.
 */
export const evaluationVerdictSchema = z.object({
  gate: z.enum(GATES),
  outcome: z.enum(['pass', 'fail', 'unknown']),
  value: z.union([z.number().finite(), z.string().max(256)]).nullable(),
  threshold: z.union([z.number().finite(), z.string().max(256)]).nullable(),
  /** The trigger a per-trigger verdict is about. */
  trigger: z.string().max(1_024).optional(),
  reason: z.string().max(1_024),
});

/**
 * Why a run whose status is `failed` failed: `replay` (the replay ended but too many of its
 * predictions failed), `error` (the run stopped on an error: the model would not load, its files
 * did not match the manifest, its outcome could not be recorded) or `reaped` (its evaluator stopped
 * mid-run and a replica closed it after the heartbeat timeout). Added to v1 as an optional field:
 * a consumer that predates it ignores it, and `status` keeps the values it had (`failed` for all
 * three, as PostgreSQL records them), so no consumer of v1 starts refusing messages.
 */
export const RUN_FAILURE_KINDS = ['replay', 'error', 'reaped'] as const;

export const evaluationFailureSchema = z.object({
  kind: z.enum(RUN_FAILURE_KINDS),
  message: z.string().max(2_048),
});

/**
 * One finished evaluation run, as the evaluator publishes it on the evaluations topic: every
 * replay that ended, failed ones included (those carry `failure`, and no figures when the run
 * stopped before it had any).
 */
export const evaluationRunSchema = z.object({
  run_id: identifier('run_id'),
  model_id: identifier('model_id'),
  model_version: z.string().max(128).optional(),
  dataset_id: identifier('dataset_id'),
  dataset_kind: z.enum(['clean', 'canary', 'probe']),
  status: z.enum(['succeeded', 'failed', 'cancelled']),
  started_at: eventTime,
  finished_at: eventTime,
  sample_count: z.number().int().min(0),
  error_count: z.number().int().min(0).optional(),
  ...runMetrics,
  metrics: metricMap,
  baseline_run_id: z.string().max(128).optional(),
  baseline: evaluationBaselineSchema.optional(),
  verdicts: z.array(evaluationVerdictSchema).max(256).optional(),
  fingerprint: z.string().max(256).optional(),
  trigger: z.string().max(32).optional(),
  failure: evaluationFailureSchema.optional(),
  details,
});

/**
 * A metric name: an identifier, or a per-feature metric, `feature.<name>` or
 * `feature_missing.<name>`, whose feature name may itself be as long as an input feature key.
 */
const metricName = identifier('metric').or(
  z
    .string()
    .regex(
      // eslint-disable-next-line no-control-regex
      /^feature(_missing)?\.[^\u0000-\u001f\u007f]+$/,
      'expected a metric name without control characters',
    )
    .max(
      LIMITS.featureKeyLength + 'feature_missing.'.length,
      `expected a feature metric of at most ${LIMITS.featureKeyLength} characters after its prefix`,
    ),
);

/** One detector result for one window, as published on the metrics topic. */
export const driftMetricSchema = z.object({
  model_id: identifier('model_id'),
  metric: metricName,
  detector: identifier('detector'),
  window_start: eventTime,
  window_end: eventTime,
  statistic: metricValue,
  p_value: metricValue,
  effect_size: metricValue,
  sample_size: z.number().int().min(0),
  reference_size: z.number().int().min(0),
  verdict: z.enum(['ok', 'drift', 'insufficient-data']),
  labels,
  details,
});

/** One alert state change, as published on the alerts topic. */
export const alertEventSchema = z.object({
  event_id: identifier('event_id'),
  alert_id: identifier('alert_id'),
  fingerprint: identifier('fingerprint'),
  rule_id: identifier('rule_id'),
  rule_name: z.string().max(256).optional(),
  model_id: z.string().max(128).optional(),
  state: z.enum(['firing', 'acknowledged', 'resolved', 'silenced']),
  severity: z.enum(['info', 'warning', 'critical']),
  metric: z.string().max(256).optional(),
  value: metricValue,
  threshold: metricValue,
  baseline: metricValue,
  summary: z.string().max(4_096).optional(),
  labels,
  timestamp: eventTime,
});

export type EvaluationRunMessage = z.output<typeof evaluationRunSchema>;
export type EvaluationBaselineMessage = z.output<typeof evaluationBaselineSchema>;
export type EvaluationVerdict = z.output<typeof evaluationVerdictSchema>;
export type EvaluationFailure = z.output<typeof evaluationFailureSchema>;
export type RunFailureKind = (typeof RUN_FAILURE_KINDS)[number];
export type Gate = (typeof GATES)[number];
export type DriftMetricMessage = z.output<typeof driftMetricSchema>;
export type AlertEventMessage = z.output<typeof alertEventSchema>;
