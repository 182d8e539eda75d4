import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  classificationMetrics,
  expectedCalibrationError,
  quantile,
  SampleResult,
} from '@tripline/evaluation';

const close = (actual: number | null | undefined, expected: number, message?: string) => {
  assert.ok(actual !== null && actual !== undefined, message ?? 'value is missing');
  assert.ok(Math.abs(actual - expected) < 1e-9, `${message ?? ''} expected ${expected}, got ${actual}`);
};

const labels = ['cat', 'dog', 'fox'];
const result = (expected: string, predicted: string): SampleResult => ({ expected, predicted });

// Rows are true labels, columns predictions:
//        cat dog fox
//   cat   2   1   0
//   dog   1   2   0
//   fox   0   1   1
// plus one failed call (excluded) and one scores-only answer whose argmax is dog (a correct dog).
const threeClass: SampleResult[] = [
  result('cat', 'cat'),
  result('cat', 'cat'),
  result('cat', 'dog'),
  result('dog', 'dog'),
  result('dog', 'cat'),
  result('fox', 'fox'),
  result('fox', 'dog'),
  { expected: 'cat', error: 'timeout after 10000 ms' },
  { expected: 'dog', scores: { cat: 0.1, dog: 0.7, fox: 0.2 } },
];

describe('clean-set metrics', () => {
  it('computes the confusion matrix, accuracy and per-class scores of a small hand-checked case', () => {
    const metrics = classificationMetrics(threeClass, labels);
    assert.deepEqual(metrics.confusionMatrix, {
      labels,
      counts: [
        [2, 1, 0],
        [1, 2, 0],
        [0, 1, 1],
      ],
    });
    assert.equal(metrics.total, 9);
    assert.equal(metrics.evaluated, 8);
    assert.equal(metrics.errorCount, 1);
    assert.equal(metrics.correct, 5);
    close(metrics.accuracy, 5 / 8);
    // cat: TP 2 of 3 predicted, 3 true -> P = R = F1 = 2/3
    // dog: TP 2 of 4 predicted, 3 true -> P 1/2, R 2/3, F1 = 2(1/2)(2/3) / (7/6) = 4/7
    // fox: TP 1 of 1 predicted, 2 true -> P 1, R 1/2, F1 = 1 / (3/2) = 2/3
    close(metrics.perClass.cat.f1, 2 / 3);
    close(metrics.perClass.dog.precision, 1 / 2);
    close(metrics.perClass.dog.recall, 2 / 3);
    close(metrics.perClass.dog.f1, 4 / 7);
    close(metrics.perClass.fox.precision, 1);
    close(metrics.perClass.fox.recall, 1 / 2);
    assert.equal(metrics.perClass.fox.support, 2);
    assert.equal(metrics.perClass.dog.predicted, 4);
    // macro-F1 = (2/3 + 4/7 + 2/3) / 3 = (14 + 12 + 14) / 63 = 40/63
    close(metrics.macroF1, 40 / 63);
  });

  it('never counts a failed call as right or wrong', () => {
    const answered = threeClass.filter((r) => r.error === undefined);
    const failures: SampleResult[] = [
      { expected: 'cat', error: 'HTTP 503' },
      { expected: 'fox', error: 'HTTP 503', scores: { fox: 0.99, cat: 0.01 } },
      { expected: 'dog' }, // no label and no scores: nothing to score
    ];
    const withFailures = classificationMetrics([...answered, ...failures], labels);
    const without = classificationMetrics(answered, labels);
    assert.equal(withFailures.errorCount, 3);
    assert.equal(withFailures.total, answered.length + 3);
    assert.deepEqual(
      { ...withFailures, total: 0, errorCount: 0 },
      { ...without, total: 0, errorCount: 0 },
      'the failures change nothing else',
    );
  });

  it('counts a label outside the label set as wrong, in a column of its own, and rejects unknown truths', () => {
    const metrics = classificationMetrics([result('cat', 'cat'), result('cat', 'wolf')], labels);
    assert.deepEqual(metrics.confusionMatrix.labels, ['cat', 'dog', 'fox', 'wolf']);
    assert.deepEqual(metrics.confusionMatrix.counts[0], [1, 0, 0, 1]);
    assert.deepEqual(metrics.unknownPredictions, ['wolf']);
    close(metrics.accuracy, 1 / 2);
    // Only cat occurs: P 1, R 1/2, F1 2/3; dog and fox have no support and no predictions.
    close(metrics.macroF1, 2 / 3);
    assert.throws(
      () => classificationMetrics([result('cat', 'cat'), result('wolf', 'cat')], labels),
      /result 1: expected label "wolf" is not in the label set \(cat, dog, fox\)/,
    );
  });

  it('reports null, not 0 or NaN, when nothing could be scored', () => {
    const metrics = classificationMetrics([{ expected: 'cat', error: 'refused' }], labels);
    assert.equal(metrics.accuracy, null);
    assert.equal(metrics.macroF1, null);
    assert.equal(metrics.expectedCalibrationError, null);
    assert.equal(metrics.confidence, null);
    assert.equal(metrics.errorCount, 1);
  });
});

describe('calibration', () => {
  // Confidence and correctness of five answers.
  const confidences = [0.95, 0.95, 0.61, 0.69, 0.28];
  const correct = [true, false, false, true, false];

  it('computes ECE over 15 equal-width bins (Guo et al. 2017)', () => {
    // bin (14/15, 1]:     0.95 right, 0.95 wrong   -> |1/2 - 0.95| x 2/5 = 0.18
    // bin (9/15, 10/15]:  0.61 wrong                -> |0 - 0.61|   x 1/5 = 0.122
    // bin (10/15, 11/15]: 0.69 right                -> |1 - 0.69|   x 1/5 = 0.062
    // bin (4/15, 5/15]:   0.28 wrong                -> |0 - 0.28|   x 1/5 = 0.056
    close(expectedCalibrationError(confidences, correct), 0.18 + 0.122 + 0.062 + 0.056);
    // With 10 bins 0.61 and 0.69 share (0.6, 0.7]: |1/2 - 0.65| x 2/5 = 0.06 replaces 0.122 + 0.062.
    close(expectedCalibrationError(confidences, correct, 10), 0.18 + 0.06 + 0.056);
    close(expectedCalibrationError([1, 1], [true, true]), 0, 'confident and right is perfectly calibrated');
    close(expectedCalibrationError([0], [false]), 0, 'confidence 0 falls in the first bin');
  });

  it('closes bins on the right, as (m-1)/M < confidence <= m/M', () => {
    // 4 bins keep the edges exact in binary. 0.5 right belongs to (0.25, 0.5], 0.6 wrong to (0.5, 0.75]:
    // |1 - 0.5| x 1/2 + |0 - 0.6| x 1/2 = 0.55. Left-closed bins would pool them: |1/2 - 0.55| = 0.05.
    close(expectedCalibrationError([0.5, 0.6], [true, false], 4), 0.55);
  });

  it('reads confidence as the maximum score and skips failed answers', () => {
    const answer = (expected: string, yes: number): SampleResult => ({
      expected,
      scores: { yes, no: Number((1 - yes).toFixed(2)) },
    });
    const results: SampleResult[] = [
      answer('yes', 0.95),
      answer('no', 0.95),
      { expected: 'no', scores: { yes: 0.39, no: 0.61 }, predicted: 'yes' }, // the label, not the argmax, is judged
      answer('yes', 0.69),
      answer('yes', 0.28), // argmax no at 0.72: wrong; confidence 0.72
      { expected: 'yes', scores: { yes: 0.99, no: 0.01 }, error: 'connection reset' },
    ];
    const metrics = classificationMetrics(results, ['yes', 'no']);
    // bins: 0.95/0.95 -> 0.18 as above; 0.61 wrong -> 0.122; 0.69 right -> 0.062;
    // 0.72 wrong in (10/15, 11/15] together with 0.69: |1/2 - 0.705| x 2/5 = 0.082 replaces 0.062.
    close(metrics.expectedCalibrationError, 0.18 + 0.122 + 0.082);
    // sorted confidences 0.61, 0.69, 0.72, 0.95, 0.95; mean 3.92 / 5 = 0.784;
    // p10 at rank 0.4: 0.61 + 0.4 x 0.08 = 0.642; p50 rank 2: 0.72; p90 rank 3.6: 0.95
    const confidence = metrics.confidence!;
    assert.equal(confidence.count, 5);
    close(confidence.mean, 0.784);
    close(confidence.p10, 0.642);
    close(confidence.p50, 0.72);
    close(confidence.p90, 0.95);
  });

  it('interpolates quantiles linearly between order statistics', () => {
    const sorted = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    close(quantile(sorted, 0.5), 5.5);
    close(quantile(sorted, 0.1), 1.9); // rank 0.9
    close(quantile(sorted, 1), 10);
    assert.throws(() => quantile([], 0.5), /empty/);
  });
});
