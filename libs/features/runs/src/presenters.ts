import type { EvaluationRun } from './entities';

export const presentRun = (run: EvaluationRun) => ({
  id: run.id,
  model_id: run.modelId,
  version_id: run.versionId,
  dataset_id: run.datasetId,
  dataset_kind: run.datasetKind,
  mode: run.mode,
  options: run.options,
  status: run.status,
  trigger: run.trigger,
  schedule_id: run.scheduleId,
  scheduled_for: run.scheduledFor,
  progress: {
    done: run.progressDone,
    total: run.progressTotal,
    fraction: run.progressTotal ? run.progressDone / run.progressTotal : 0,
  },
  started_at: run.startedAt,
  finished_at: run.finishedAt,
  error: run.error,
  summary: run.summary,
  baseline_run_id: run.baselineRunId,
  is_baseline: run.isBaseline,
  created_at: run.createdAt,
});
