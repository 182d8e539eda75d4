import { z } from 'zod';
import { boundedRecord, eventTime, identifier } from './fields';

const metricValue = z.number().finite().nullable().optional();
const metricMap = boundedRecord('metric', z.number().finite(), 1_000, 256).optional();
const labels = boundedRecord('label', z.string().max(1_024), 64, 128).optional();
const details = z.record(z.string(), z.unknown()).optional();

/** One finished evaluation run, as the evaluator publishes it on the evaluations topic. */
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
  accuracy: metricValue,
  macro_f1: metricValue,
  expected_calibration_error: metricValue,
  attack_success_rate: metricValue,
  flip_rate: metricValue,
  confidence_shift: metricValue,
  per_class_recall: metricMap,
  per_trigger_attack_success: metricMap,
  metrics: metricMap,
  baseline_run_id: z.string().max(128).optional(),
  fingerprint: z.string().max(256).optional(),
  trigger: z.string().max(32).optional(),
  details,
});

/** One detector result for one window, as published on the metrics topic. */
export const driftMetricSchema = z.object({
  model_id: identifier('model_id'),
  metric: identifier('metric'),
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
export type DriftMetricMessage = z.output<typeof driftMetricSchema>;
export type AlertEventMessage = z.output<typeof alertEventSchema>;
