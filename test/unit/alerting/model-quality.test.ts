import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { modelQualityReadings, type Observation } from '@tripline/alert-rules';

const window = (metric: string, verdict: string): Observation => ({
  metric,
  value: 1,
  labels: { model_id: 'm' },
  at: 0,
  source: { kind: 'window', windowStart: 0, windowEnd: 1, sampleSize: 300, referenceSize: 300, verdict },
});

describe('model quality gauges', () => {
  it('reads drift while any detector series last said drift, and clears when all say ok', () => {
    const state = new Map<string, Map<string, boolean>>();
    const last = (observations: Observation[]) => modelQualityReadings(observations, state).at(-1)?.value;
    assert.equal(last([window('drift.confidence.ks', 'drift'), window('drift.prediction.chi2', 'ok')]), 1);
    assert.equal(last([window('drift.prediction.chi2', 'ok')]), 1, 'the confidence series still says drift');
    assert.equal(last([window('drift.confidence.ks', 'ok')]), 0);
  });

  it('takes the worst trigger of a canary run and the accuracy of clean runs only', () => {
    const evaluation = (metric: string, value: number, datasetKind: string): Observation => ({
      metric,
      value,
      labels: { model_id: 'm' },
      at: 0,
      source: { kind: 'evaluation', runId: 'r', datasetId: 'd', datasetKind },
    });
    const readings = modelQualityReadings(
      [
        evaluation('trigger_attack_success_rate', 0.2, 'canary'),
        evaluation('trigger_attack_success_rate', 0.7, 'canary'),
        evaluation('accuracy', 0.5, 'canary'),
        evaluation('accuracy', 0.9, 'clean'),
      ],
      new Map(),
    );
    assert.deepEqual(
      readings.map((reading) => [reading.measure, reading.value]),
      [
        ['accuracy', 0.9],
        ['worst_canary_attack_success', 0.7],
      ],
    );
  });
});
