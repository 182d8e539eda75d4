import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  evaluationRunSchema,
  validate,
  type DriftMetricMessage,
  type EvaluationRunMessage,
} from '@tripline/contracts';
import {
  alertFingerprint,
  baselineFromMessage,
  baselineFromRunSummary,
  consumerLagObservation,
  observationFromDriftMetric,
  observationsFromDriftMetric,
  observationsFromEvaluation,
} from '@tripline/alert-rules';
import { T0 } from './fixtures';

const evaluation = (overrides: Partial<EvaluationRunMessage> = {}): EvaluationRunMessage => ({
  run_id: 'run-2',
  model_id: 'backdoored',
  model_version: '1',
  dataset_id: 'canary-1',
  dataset_kind: 'canary',
  status: 'succeeded',
  started_at: T0 - 5_000,
  finished_at: T0,
  sample_count: 240,
  attack_success_rate: 0.9,
  flip_rate: 0.85,
  per_trigger_attack_success: { 'custom:cf': 0.9, 'rare-token-mn': 0.1 },
  metrics: { errors: 0, regressions: 1, attack_success_rate: 0.0 },
  baseline_run_id: 'run-1',
  ...overrides,
});

// The evaluator's RunSummary of the baseline run, as stored in evaluation_runs.summary.
const baselineSummary = {
  clean: {
    accuracy: 0.84,
    macroF1: 0.83,
    perClass: { positive: { recall: 0.8 }, negative: { recall: 'x' } },
  },
  canary: {
    maxAttackSuccessRate: { rate: 0.05, trigger: 'custom:cf' },
    pooledFlipRate: 0.04,
    perTrigger: { 'custom:cf': { attackSuccessRate: 0.05 }, broken: { attackSuccessRate: null } },
  },
  fingerprint: 'aaa',
};

describe('observations from an evaluation run', () => {
  it('yields the headline metrics, per trigger and per class, with their baselines, labelled by series', () => {
    const baseline = baselineFromRunSummary('run-1', baselineSummary);
    const observations = observationsFromEvaluation(evaluation(), baseline);
    const byName = (metric: string, label?: [string, string]) =>
      observations.filter(
        (observation) =>
          observation.metric === metric && (!label || observation.labels[label[0]] === label[1]),
      );
    const asr = byName('attack_success_rate');
    assert.equal(asr.length, 1, 'the free-form metrics map does not shadow the headline value');
    assert.equal(asr[0].value, 0.9);
    assert.equal(asr[0].baseline, 0.05);
    assert.deepEqual(asr[0].labels, {
      model_id: 'backdoored',
      dataset_id: 'canary-1',
      dataset_kind: 'canary',
    });
    assert.equal(asr[0].at, T0);
    assert.deepEqual(asr[0].source, {
      kind: 'evaluation',
      runId: 'run-2',
      datasetId: 'canary-1',
      datasetKind: 'canary',
      baselineRunId: 'run-1',
      modelVersion: '1',
    });
    const trigger = byName('trigger_attack_success_rate', ['trigger', 'custom:cf']);
    assert.equal(trigger[0].value, 0.9);
    assert.equal(trigger[0].baseline, 0.05);
    assert.equal(byName('trigger_attack_success_rate', ['trigger', 'rare-token-mn'])[0].baseline, undefined);
    assert.equal(byName('flip_rate')[0].baseline, 0.04);
    assert.equal(byName('regressions')[0].value, 1);
    assert.equal(byName('evaluation_failed')[0].value, 0);
    assert.equal(byName('accuracy').length, 0, 'a canary run has no accuracy');
  });

  it('two runs of the same model and dataset are the same series (the run id is evidence, not identity)', () => {
    const [first] = observationsFromEvaluation(evaluation({ run_id: 'a' }));
    const [second] = observationsFromEvaluation(evaluation({ run_id: 'b' }));
    assert.equal(alertFingerprint('r', first.labels), alertFingerprint('r', second.labels));
  });

  it('a failed run yields evaluation_failed = 1 and nothing else', () => {
    const observations = observationsFromEvaluation(evaluation({ status: 'failed' }));
    assert.deepEqual(
      observations.map((observation) => [observation.metric, observation.value]),
      [['evaluation_failed', 1]],
    );
  });

  it('a probe run whose fingerprint differs from the baseline run yields fingerprint_changed = 1', () => {
    const probe = evaluation({
      dataset_kind: 'probe',
      attack_success_rate: null,
      flip_rate: null,
      per_trigger_attack_success: undefined,
      metrics: undefined,
      fingerprint: 'bbb',
    });
    const baseline = baselineFromRunSummary('run-1', baselineSummary);
    const changed = observationsFromEvaluation(probe, baseline).find(
      (o) => o.metric === 'fingerprint_changed',
    );
    assert.equal(changed?.value, 1);
    const same = observationsFromEvaluation({ ...probe, fingerprint: 'aaa' }, baseline);
    assert.equal(same.find((o) => o.metric === 'fingerprint_changed')?.value, 0);
    assert.equal(
      observationsFromEvaluation(probe).find((o) => o.metric === 'fingerprint_changed'),
      undefined,
      'without a baseline fingerprint there is nothing to compare',
    );
  });

  it('a malformed baseline summary yields what it can and never throws', () => {
    assert.deepEqual(baselineFromRunSummary('x', null), {
      runId: 'x',
      values: {},
      perTrigger: {},
      perClassRecall: {},
    });
    const partial = baselineFromRunSummary('x', { clean: { accuracy: 'high', perClass: [] }, canary: 7 });
    assert.deepEqual(partial.values, {});
    assert.deepEqual(baselineFromRunSummary('run-1', baselineSummary).perClassRecall, { positive: 0.8 });
  });
});

describe('observations from a drift window and from consumer lag', () => {
  const window: DriftMetricMessage = {
    model_id: 'fraud',
    metric: 'prediction',
    detector: 'chi_square',
    window_start: T0 - 300_000,
    window_end: T0,
    statistic: 41.2,
    p_value: 0.0001,
    effect_size: 0.3,
    sample_size: 500,
    reference_size: 5_000,
    verdict: 'drift',
    labels: { segment: 'eu' },
  };

  it('is drift.<metric>.<detector> with the statistic as value and the p-value beside it', () => {
    const observation = observationFromDriftMetric(window)!;
    assert.equal(observation.metric, 'drift.prediction.chi_square');
    assert.equal(observation.value, 41.2);
    assert.equal(observation.pValue, 0.0001);
    assert.deepEqual(observation.labels, { segment: 'eu', model_id: 'fraud' });
    assert.equal(observation.at, T0);
    assert.equal(observation.source.kind, 'window');
  });

  it('a feature result is drift.feature.<name> with its effect size as value and the adjusted p-value', () => {
    const observation = observationFromDriftMetric({
      ...window,
      metric: 'feature.income',
      detector: 'ks',
      statistic: 0.29,
      effect_size: 0.63,
      p_value: 1e-12,
      labels: { feature: 'income', feature_type: 'numeric' },
    })!;
    assert.equal(observation.metric, 'drift.feature.income');
    assert.equal(observation.value, 0.63);
    assert.equal(observation.pValue, 1e-12);
    assert.equal(observation.labels.feature, 'income');
  });

  it('the dataset verdict is drift.dataset_share with the share of drifted features as value', () => {
    const observation = observationFromDriftMetric({
      ...window,
      metric: 'dataset_share',
      detector: 'share-of-features',
      statistic: 0.25,
      effect_size: 0.25,
      p_value: null,
      verdict: 'ok',
    })!;
    assert.equal(observation.metric, 'drift.dataset_share');
    assert.equal(observation.value, 0.25);
  });

  it('a label-free performance estimate is observed as the estimate and as its drop below the reference', () => {
    const [estimate, drop, ...rest] = observationsFromDriftMetric({
      ...window,
      metric: 'estimated_accuracy',
      detector: 'cbpe',
      statistic: 0.8,
      effect_size: -0.1,
      p_value: 1e-6,
    });
    assert.equal(rest.length, 0);
    assert.equal(estimate.metric, 'drift.estimated_accuracy.cbpe');
    assert.equal(estimate.value, 0.8);
    assert.ok(Math.abs(estimate.baseline! - 0.9) < 1e-12, 'the reference value is the baseline');
    assert.equal(drop.metric, 'drift.estimated_accuracy.drop');
    assert.equal(drop.value, 0.1, 'positive when the estimate fell: rules read "drop >= margin"');
    assert.equal(drop.pValue, 1e-6);
    // Other detectors yield their one observation, and nothing below the minimum sample.
    assert.equal(observationsFromDriftMetric(window).length, 1);
    assert.deepEqual(
      observationsFromDriftMetric({
        ...window,
        metric: 'estimated_accuracy',
        detector: 'cbpe',
        verdict: 'insufficient-data',
      }),
      [],
    );
  });

  it('a window below the minimum sample size yields nothing', () => {
    assert.equal(observationFromDriftMetric({ ...window, verdict: 'insufficient-data' }), undefined);
  });

  it('consumer lag is labelled by group, topic and unit', () => {
    const lag = consumerLagObservation('tripline.ingestor', 'tripline.inference.v1', 'messages', 1200, T0);
    assert.equal(lag.metric, 'consumer_lag');
    assert.deepEqual(lag.labels, {
      group: 'tripline.ingestor',
      topic: 'tripline.inference.v1',
      unit: 'messages',
    });
  });

  it('reads the baseline the message carries: no table of the evaluator is needed', () => {
    const message = evaluation({
      baseline: {
        run_id: 'run-1',
        pinned: true,
        attack_success_rate: 0.05,
        per_trigger_attack_success: { 'custom:cf': 0.05 },
      },
    });
    const result = validate(evaluationRunSchema, message);
    assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
    const observations = observationsFromEvaluation(message, baselineFromMessage(message.baseline!));
    assert.equal(observations.find((o) => o.metric === 'attack_success_rate')?.baseline, 0.05);
    assert.equal(
      observations.find((o) => o.metric === 'trigger_attack_success_rate' && o.labels.trigger === 'custom:cf')
        ?.baseline,
      0.05,
    );
  });

  it('verdicts travel in the contract and a gate failure count is observed like any metric', () => {
    const message = evaluation({
      verdicts: [
        {
          gate: 'attack_success_rate',
          outcome: 'fail',
          value: 0.9,
          threshold: 0.5,
          trigger: 'custom:cf',
          reason: 'above the gate',
        },
      ],
      metrics: { errors: 0, gate_failures: 1 },
    });
    assert.ok(validate(evaluationRunSchema, message).ok);
    assert.equal(
      validate(evaluationRunSchema, { ...message, verdicts: [{ gate: 'vibes', outcome: 'fail' }] }).ok,
      false,
    );
    assert.equal(observationsFromEvaluation(message).find((o) => o.metric === 'gate_failures')?.value, 1);
  });
});
