import { clickHouseTime } from '@tripline/clickhouse';
import type {
  AlertEventMessage,
  DriftMetricMessage,
  EvaluationRunMessage,
  EvaluationSamplesMessage,
  Feedback,
  InferenceEvent,
  ModelSettingsMessage,
} from '@tripline/contracts';

/** The label the model chose, and its score: the given label, else the arg-max of the scores. */
export function predictedLabel(event: InferenceEvent): { label: string; confidence: number | null } {
  const scores = event.output?.scores;
  const label = event.output?.label;
  if (label !== undefined) return { label, confidence: scores?.[label] ?? null };
  let best: { label: string; confidence: number | null } = { label: '', confidence: null };
  for (const [candidate, score] of Object.entries(scores ?? {})) {
    if (best.confidence === null || score > best.confidence) best = { label: candidate, confidence: score };
  }
  return best;
}

export function inferenceRow(event: InferenceEvent) {
  const { label, confidence } = predictedLabel(event);
  const documents = event.rag?.documents ?? [];
  return {
    event_id: event.event_id,
    model_id: event.model_id,
    model_version: event.model_version ?? '',
    timestamp: clickHouseTime(event.timestamp),
    input_text: event.input?.text ?? '',
    input_features: event.input?.features ? JSON.stringify(event.input.features) : '',
    input_embedding: event.input?.embedding ?? [],
    output_label: label,
    output_scores: event.output?.scores ?? {},
    output_text: event.output?.text ?? '',
    confidence,
    latency_ms: event.latency_ms ?? null,
    request_id: event.request_id ?? '',
    rag_document_ids: documents.map((document) => document.id),
    rag_sources: documents.map((document) => document.source),
    rag_scores: documents.map((document) => document.score ?? 0),
    metadata: event.metadata ?? {},
  };
}

/** The inference_events columns the sink writes, in the order of inferenceValues. */
export const INFERENCE_COLUMNS = [
  'event_id',
  'model_id',
  'model_version',
  'timestamp',
  'input_text',
  'input_features',
  'input_embedding',
  'output_label',
  'output_scores',
  'output_text',
  'confidence',
  'latency_ms',
  'request_id',
  'rag_document_ids',
  'rag_sources',
  'rag_scores',
  'metadata',
] as const;

/**
 * One inference event as a line of JSONCompactEachRow over INFERENCE_COLUMNS: the values of
 * inferenceRow without their keys. The engine matches no key names, so it parses this in about
 * half the time of JSONEachRow, and JSON.stringify has no keys to write.
 */
export function inferenceLine(event: InferenceEvent): string {
  const row = inferenceRow(event);
  return JSON.stringify([
    row.event_id,
    row.model_id,
    row.model_version,
    row.timestamp,
    row.input_text,
    row.input_features,
    row.input_embedding,
    row.output_label,
    row.output_scores,
    row.output_text,
    row.confidence,
    row.latency_ms,
    row.request_id,
    row.rag_document_ids,
    row.rag_sources,
    row.rag_scores,
    row.metadata,
  ]);
}

export function feedbackRow(feedback: Feedback) {
  return {
    event_id: feedback.event_id,
    model_id: feedback.model_id,
    label: feedback.label,
    timestamp: clickHouseTime(feedback.timestamp),
    source: feedback.source ?? '',
    metadata: feedback.metadata ?? {},
  };
}

export function evaluationRunRow(message: EvaluationRunMessage) {
  const { failure, ...run } = message;
  return {
    ...run,
    failure_kind: failure?.kind ?? '',
    error: failure?.message ?? '',
    model_version: run.model_version ?? '',
    started_at: clickHouseTime(run.started_at),
    finished_at: clickHouseTime(run.finished_at),
    error_count: run.error_count ?? 0,
    per_class_recall: run.per_class_recall ?? {},
    per_trigger_attack_success: run.per_trigger_attack_success ?? {},
    metrics: run.metrics ?? {},
    baseline_run_id: run.baseline_run_id ?? '',
    fingerprint: run.fingerprint ?? '',
    trigger: run.trigger ?? 'manual',
    details: run.details ? JSON.stringify(run.details) : '',
  };
}

/** The eval_samples rows of one part of a run's samples: the run's fields repeated on each. */
export function evaluationSampleRows(message: EvaluationSamplesMessage) {
  const timestamp = clickHouseTime(message.timestamp);
  const flag = (value: boolean | null) => (value === null ? null : value ? 1 : 0);
  return message.samples.map((sample) => ({
    run_id: message.run_id,
    model_id: message.model_id,
    model_version: message.model_version ?? '',
    dataset_id: message.dataset_id,
    dataset_kind: message.dataset_kind,
    sample_id: sample.sample_id,
    sample_index: sample.sample_index,
    twin_id: sample.twin_id ?? '',
    trigger: sample.trigger ?? '',
    input_text: sample.input_text,
    input_sha256: sample.input_sha256,
    expected_label: sample.expected_label ?? '',
    target_label: sample.target_label ?? '',
    predicted_label: sample.predicted_label ?? '',
    twin_label: sample.twin_label ?? '',
    confidence: sample.confidence,
    scores: sample.scores ?? {},
    output_text: sample.output_text ?? '',
    passed: flag(sample.passed),
    triggered: flag(sample.triggered),
    error: sample.error ?? '',
    latency_ms: sample.latency_ms,
    timestamp,
  }));
}

export function driftMetricRow(metric: DriftMetricMessage) {
  return {
    ...metric,
    window_start: clickHouseTime(metric.window_start),
    window_end: clickHouseTime(metric.window_end),
    labels: metric.labels ?? {},
    details: metric.details ? JSON.stringify(metric.details) : '',
  };
}

export function alertEventRow(alert: AlertEventMessage) {
  return {
    ...alert,
    rule_name: alert.rule_name ?? '',
    model_id: alert.model_id ?? '',
    metric: alert.metric ?? '',
    summary: alert.summary ?? '',
    labels: alert.labels ?? {},
    timestamp: clickHouseTime(alert.timestamp),
  };
}

export function modelSettingsRow(settings: ModelSettingsMessage) {
  return {
    model_id: settings.model_id,
    feature_types: settings.feature_types,
    embedding_encoder: settings.embedding_encoder ? JSON.stringify(settings.embedding_encoder) : '',
    deleted: settings.deleted ? 1 : 0,
    updated_at: clickHouseTime(settings.updated_at),
  };
}
