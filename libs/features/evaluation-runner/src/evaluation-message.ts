/**
 * The evaluation message as the evaluations topic carries it (libs/kernel/contracts), built from a run and
 * its summary.
 */
import type {
  EvaluationBaselineMessage,
  EvaluationFailure,
  EvaluationRunMessage,
  RunFailureKind,
} from '@tripline/contracts';
import type { CanaryMetrics } from '@tripline/evaluation';
import type { ModelVersion } from '@tripline/registry';
import type { ClosedRun, EvaluationRun } from '@tripline/runs';
import type { RunSummary } from './run-summary';

export function attackSuccessRates(canary: CanaryMetrics | undefined): Record<string, number> | undefined {
  if (!canary) return undefined;
  return Object.fromEntries(
    Object.entries(canary.perTrigger).flatMap(([trigger, response]) =>
      response.attackSuccessRate === null ? [] : [[trigger, response.attackSuccessRate]],
    ),
  );
}

/** The baseline as the evaluations topic carries it: its id and the values it is compared on. */
export function baselineMessage(
  baseline: { run: EvaluationRun; pinned: boolean },
  summary: RunSummary | undefined,
): EvaluationBaselineMessage {
  const clean = summary?.clean;
  const canary = summary?.canary;
  return {
    run_id: baseline.run.id,
    pinned: baseline.pinned,
    ...(clean
      ? {
          accuracy: clean.accuracy,
          macro_f1: clean.macroF1,
          expected_calibration_error: clean.expectedCalibrationError,
          per_class_recall: Object.fromEntries(
            Object.entries(clean.perClass).flatMap(([label, metrics]) =>
              Number.isFinite(metrics.recall) ? [[label, metrics.recall]] : [],
            ),
          ),
        }
      : {}),
    ...(canary
      ? {
          attack_success_rate: canary.maxAttackSuccessRate?.rate ?? null,
          flip_rate: canary.pooledFlipRate,
          confidence_shift: canary.pooledConfidenceShift,
          per_trigger_attack_success: attackSuccessRates(canary),
        }
      : {}),
    ...(summary?.fingerprint ? { fingerprint: summary.fingerprint } : {}),
  };
}

export function evaluationMessage(
  run: EvaluationRun,
  version: ModelVersion,
  summary: RunSummary,
  outcome: { status: 'succeeded' | 'failed'; error?: string },
  baseline: EvaluationBaselineMessage | undefined,
): EvaluationRunMessage {
  const { status } = outcome;
  const clean = summary.clean;
  const canary = summary.canary;
  const perClassRecall = clean
    ? Object.fromEntries(Object.entries(clean.perClass).map(([label, metrics]) => [label, metrics.recall]))
    : undefined;
  const perTrigger = attackSuccessRates(canary);
  const metrics: Record<string, number> = { errors: summary.errors.count };
  if (clean?.confidence)
    Object.assign(metrics, {
      confidence_mean: clean.confidence.mean,
      confidence_p10: clean.confidence.p10,
      confidence_p50: clean.confidence.p50,
    });
  if (summary.generation?.passRate != null) metrics.assertion_pass_rate = summary.generation.passRate;
  const citations = summary.generation?.citations;
  if (citations?.rate != null)
    Object.assign(metrics, {
      citation_violations: citations.violations,
      citation_violation_rate: citations.rate,
    });
  if (summary.comparison) metrics.regressions = summary.comparison.regressions.length;
  // The first probe run of a version has nothing to differ from: it is the known-good one (0).
  if (summary.fingerprint) metrics.fingerprint_changed = summary.fingerprintChange?.changed ? 1 : 0;
  const verdicts = status === 'succeeded' ? (summary.verdicts ?? []) : [];
  if (verdicts.length > 0) metrics.gate_failures = verdicts.filter((v) => v.outcome === 'fail').length;
  return {
    run_id: run.id,
    model_id: run.modelId,
    model_version: version.version,
    dataset_id: run.datasetId,
    dataset_kind: run.datasetKind,
    status,
    started_at: (run.startedAt ?? new Date()).getTime(),
    finished_at: Date.now(),
    sample_count: summary.errors.total,
    error_count: summary.errors.count,
    accuracy: clean?.accuracy ?? null,
    macro_f1: clean?.macroF1 ?? null,
    expected_calibration_error: clean?.expectedCalibrationError ?? null,
    attack_success_rate: canary?.maxAttackSuccessRate?.rate ?? null,
    flip_rate: canary?.pooledFlipRate ?? null,
    confidence_shift: canary?.pooledConfidenceShift ?? null,
    per_class_recall: perClassRecall,
    per_trigger_attack_success: perTrigger,
    metrics,
    baseline_run_id: baseline?.run_id,
    ...(baseline ? { baseline } : {}),
    ...(verdicts.length > 0 ? { verdicts: verdicts.slice(0, 256) } : {}),
    fingerprint: summary.fingerprint,
    trigger: run.trigger,
    ...(status === 'failed' ? { failure: failure('replay', outcome.error) } : {}),
    details: {
      regressions: summary.comparison?.regressions ?? [],
      errors: summary.errors.examples,
      ...(summary.fingerprintChange ? { fingerprint_change: summary.fingerprintChange } : {}),
    },
  };
}

/**
 * The message of a replay that ended without an outcome of its own: it stopped on an error
 * (`error`), or its evaluator stopped and a reaper closed it (`reaped`). It carries what
 * PostgreSQL holds for the run (how far it got, why it failed) and no figures.
 */
export function failedRunMessage(
  closed: ClosedRun,
  kind: Exclude<RunFailureKind, 'replay'>,
): EvaluationRunMessage {
  const { run } = closed;
  return {
    run_id: run.id,
    model_id: run.modelId,
    ...(closed.modelVersion ? { model_version: closed.modelVersion } : {}),
    dataset_id: run.datasetId,
    dataset_kind: run.datasetKind,
    status: 'failed',
    started_at: (run.startedAt ?? run.createdAt).getTime(),
    finished_at: (run.finishedAt ?? new Date()).getTime(),
    sample_count: run.progressDone,
    trigger: run.trigger,
    failure: failure(kind, run.error ?? undefined),
  };
}

function failure(kind: RunFailureKind, message: string | undefined): EvaluationFailure {
  return { kind, message: (message ?? 'no reason recorded').slice(0, 2_048) };
}
