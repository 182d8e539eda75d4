import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluationRunSchema, validate } from '@tripline/contracts';
import { observationsFromEvaluation } from '@tripline/alert-rules';
import { failedRunMessage } from '@tripline/evaluation-runner';
import { evaluationRunRow } from '@tripline/ingestion';
import type { ClosedRun, EvaluationRun } from '@tripline/registry';

const T0 = Date.UTC(2026, 11, 5, 9, 0, 0);

function reapedRun(overrides: Partial<EvaluationRun> = {}): ClosedRun {
  const run = {
    id: '0b0f6a52-2a4f-4c55-9a39-5cb3d1f0a001',
    modelId: 'sentiment',
    versionId: '0b0f6a52-2a4f-4c55-9a39-5cb3d1f0a002',
    datasetId: '0b0f6a52-2a4f-4c55-9a39-5cb3d1f0a003',
    datasetKind: 'canary',
    status: 'failed',
    trigger: 'schedule',
    progressDone: 40,
    progressTotal: 120,
    startedAt: new Date(T0),
    finishedAt: new Date(T0 + 180_000),
    createdAt: new Date(T0 - 1_000),
    error: 'the evaluator running it stopped (no heartbeat for 120 s); it was not completed',
    mode: 'replay',
    ...overrides,
  } as EvaluationRun;
  return { run, modelVersion: '3' };
}

describe('the evaluation message of a run that failed without a replay outcome', () => {
  it('carries what PostgreSQL holds (how far it got, why) and no figures, within the v1 contract', () => {
    const message = failedRunMessage(reapedRun(), 'reaped');
    const result = validate(evaluationRunSchema, message);
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepEqual(
      {
        status: message.status,
        failure: message.failure,
        sample_count: message.sample_count,
        model_version: message.model_version,
        started_at: message.started_at,
        finished_at: message.finished_at,
        accuracy: message.accuracy,
      },
      {
        status: 'failed',
        failure: {
          kind: 'reaped',
          message: 'the evaluator running it stopped (no heartbeat for 120 s); it was not completed',
        },
        sample_count: 40,
        model_version: '3',
        started_at: T0,
        finished_at: T0 + 180_000,
        accuracy: undefined,
      },
    );
  });

  it('a consumer of v1 that predates `failure` still accepts the message (the field is ignored)', () => {
    const message = failedRunMessage(reapedRun(), 'error');
    const before = evaluationRunSchema.omit({ failure: true });
    const parsed = before.safeParse(message);
    assert.ok(parsed.success);
    assert.equal('failure' in parsed.data, false);
  });

  it('a long reason is cut to the contract bound; a missing one is said to be missing', () => {
    const long = failedRunMessage(reapedRun({ error: 'x'.repeat(5_000) }), 'error');
    assert.equal(long.failure?.message.length, 2_048);
    assert.ok(validate(evaluationRunSchema, long).ok);
    assert.equal(
      failedRunMessage(reapedRun({ error: null }), 'error').failure?.message,
      'no reason recorded',
    );
  });

  it('becomes a history row with the failure kind and the reason in columns of their own', () => {
    const row = evaluationRunRow(failedRunMessage(reapedRun(), 'reaped'));
    assert.equal(row.status, 'failed');
    assert.equal(row.failure_kind, 'reaped');
    assert.match(row.error, /the evaluator running it stopped/);
    assert.equal('failure' in row, false);
    const succeeded = evaluationRunRow({
      ...failedRunMessage(reapedRun(), 'error'),
      status: 'succeeded',
      failure: undefined,
    });
    assert.deepEqual([succeeded.failure_kind, succeeded.error], ['', '']);
  });

  it('is observed by the alerter as evaluation_failed = 1 of its dataset series', () => {
    const observations = observationsFromEvaluation(failedRunMessage(reapedRun(), 'reaped'));
    assert.deepEqual(
      observations.map((observation) => [
        observation.metric,
        observation.value,
        observation.labels.dataset_kind,
      ]),
      [['evaluation_failed', 1, 'canary']],
    );
  });
});
