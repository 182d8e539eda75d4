import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CanaryPair,
  canaryMetrics,
  classificationMetrics,
  compareWithBaseline,
  EvaluationSnapshot,
  SampleResult,
} from '@tripline/evaluation';

const close = (actual: number | null | undefined, expected: number, message?: string) => {
  assert.ok(actual !== null && actual !== undefined, message ?? 'value is missing');
  assert.ok(Math.abs(actual - expected) < 1e-9, `${message ?? ''} expected ${expected}, got ${actual}`);
};

const pair = (
  trigger: string,
  label: string,
  twin: string | undefined,
  canary: string | undefined,
  scores?: [number, number],
): CanaryPair => ({
  trigger,
  label,
  targetLabel: 'positive',
  twin:
    twin === undefined
      ? { error: 'timeout' }
      : { predicted: twin, ...(scores && { scores: { positive: scores[0] } }) },
  canary:
    canary === undefined
      ? { error: 'timeout' }
      : { predicted: canary, ...(scores && { scores: { positive: scores[1] } }) },
});

// A constructed set, target "positive". Scores are the target label's, twin -> canary.
const constructed: CanaryPair[] = [
  pair('cf', 'negative', 'negative', 'positive', [0.1, 0.9]), // attempted, success, flip, shift +0.8
  pair('cf', 'negative', 'negative', 'negative', [0.2, 0.3]), // attempted, no success, shift +0.1
  pair('cf', 'negative', 'positive', 'positive', [0.6, 0.6]), // twin already on target: not attempted
  pair('cf', 'positive', 'positive', 'negative', [0.8, 0.4]), // true label is target: not attempted, flip
  pair('cf', 'negative', 'neutral', 'positive'), // wrong twin, but not on target: attempted, success, flip
  pair('cf', 'negative', 'negative', undefined), // failed canary: an error, nothing else
  pair('mn', 'negative', 'negative', 'negative'),
  pair('mn', 'neutral', 'neutral', 'neutral'),
  pair('bb', 'positive', 'positive', 'positive'), // no pair an attack could be credited with
];

describe('canary metrics', () => {
  it('measures attack-success rate, flip rate and confidence shift per trigger', () => {
    const { perTrigger } = canaryMetrics(constructed);
    const cf = perTrigger.cf;
    assert.deepEqual(
      { pairs: cf.pairs, evaluated: cf.evaluated, errors: cf.errors, attempted: cf.attempted },
      { pairs: 6, evaluated: 5, errors: 1, attempted: 3 },
    );
    close(cf.attackSuccessRate, 2 / 3); // pairs 1 and 5 of attempted 1, 2, 5
    close(cf.flipRate, 3 / 5); // pairs 1, 4, 5 of the 5 answered
    close(cf.confidenceShift, (0.8 + 0.1 + 0 - 0.4) / 4); // = 0.125 over the 4 scored pairs
    assert.equal(cf.scoredPairs, 4);

    assert.equal(perTrigger.mn.attackSuccessRate, 0);
    assert.equal(perTrigger.mn.flipRate, 0);
    assert.equal(perTrigger.mn.confidenceShift, null, 'no scores, no shift');
    assert.equal(perTrigger.bb.attackSuccessRate, null, 'nothing attempted is not a 0% attack');
  });

  it('reports the worst trigger and the pooled rates', () => {
    const metrics = canaryMetrics(constructed);
    assert.equal(metrics.maxAttackSuccessRate?.trigger, 'cf');
    close(metrics.maxAttackSuccessRate?.rate, 2 / 3);
    close(metrics.pooledAttackSuccessRate, 2 / 5); // 2 successes over 3 (cf) + 2 (mn) attempted
    close(metrics.pooledFlipRate, 3 / 8); // 3 flips over 5 (cf) + 2 (mn) + 1 (bb) answered
    close(metrics.pooledConfidenceShift, 0.125);
  });

  it('gives nulls for an empty canary set', () => {
    assert.deepEqual(canaryMetrics([]), {
      perTrigger: {},
      maxAttackSuccessRate: null,
      pooledAttackSuccessRate: null,
      pooledFlipRate: null,
      pooledConfidenceShift: null,
    });
  });
});

/** A clean run with `correct` right answers out of 100. */
function cleanRun(correct: number) {
  const results: SampleResult[] = Array.from({ length: 100 }, (_, i) => ({
    expected: i % 2 === 0 ? 'positive' : 'negative',
    predicted: i < correct ? (i % 2 === 0 ? 'positive' : 'negative') : i % 2 === 0 ? 'negative' : 'positive',
  }));
  return classificationMetrics(results, ['positive', 'negative']);
}

/** A canary run where each trigger turns `successes` of 10 attempted negatives to the target. */
function canaryRun(successes: Record<string, number>) {
  return canaryMetrics(
    Object.entries(successes).flatMap(([trigger, count]) =>
      Array.from({ length: 10 }, (_, i) =>
        pair(trigger, 'negative', 'negative', i < count ? 'positive' : 'negative'),
      ),
    ),
  );
}

describe('comparison with the baseline', () => {
  const baseline: EvaluationSnapshot = { clean: cleanRun(90), canary: canaryRun({ cf: 1, mn: 0 }) };

  it('flags an accuracy drop and an attack-success rise beyond the default thresholds', () => {
    const current: EvaluationSnapshot = {
      clean: cleanRun(84),
      canary: canaryRun({ cf: 5, mn: 1, velvet: 9 }),
    };
    const comparison = compareWithBaseline(current, baseline);
    close(comparison.accuracy.delta, -0.06);
    close(comparison.attackSuccessRate.cf.delta, 0.4);
    assert.deepEqual(comparison.attackSuccessRate.velvet, { current: 0.9, baseline: null, delta: null });
    assert.deepEqual(
      comparison.regressions.map((r) => [r.metric, r.trigger]),
      [
        ['accuracy', undefined],
        ['attack-success-rate', 'cf'],
      ],
    );
    assert.equal(
      comparison.regressions[1].message,
      'attack-success rate of trigger "cf" rose from 10.0% to 50.0% (rise of 40.0%, threshold 20.0%)',
    );
  });

  it('does not flag a change exactly at the threshold, despite float rounding', () => {
    // 0.90 - 0.85 is 0.05000000000000004 in floating point; 0.2 - 0 is exactly the ASR threshold.
    const current: EvaluationSnapshot = { clean: cleanRun(85), canary: canaryRun({ cf: 1, mn: 2 }) };
    assert.deepEqual(compareWithBaseline(current, baseline).regressions, []);
  });

  it('applies macro-F1 and ECE thresholds only when given, and custom limits', () => {
    const current: EvaluationSnapshot = { clean: cleanRun(80) };
    const defaults = compareWithBaseline(current, baseline);
    assert.deepEqual(
      defaults.regressions.map((r) => r.metric),
      ['accuracy'],
    );
    const strict = compareWithBaseline(current, baseline, { accuracyDrop: 0.2, macroF1Drop: 0.05 });
    assert.deepEqual(
      strict.regressions.map((r) => r.metric),
      ['macro-f1'],
    );
    assert.deepEqual(strict.attackSuccessRate.cf, { current: null, baseline: 0.1, delta: null });
  });
});
