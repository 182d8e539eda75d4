import { fisherExact } from '@tripline/drift';
import { insufficientData, resolveOptions, rounded, verdictOf } from './result';
import type { DetectorOptions, DetectorResult, WindowEvent } from './types';
import { asWindow, type EventWindow } from './window';

/**
 * Accuracy drift on the events whose ground truth has arrived: Fisher's exact test (two-sided)
 * on correct / incorrect counts, current against reference. Exact, because feedback is often
 * sparse and the chi-square approximation is poor for small counts. The effect size is the
 * difference in accuracy (current minus reference).
 */
export function accuracyDrift(
  reference: EventWindow | readonly WindowEvent[],
  current: EventWindow | readonly WindowEvent[],
  options: DetectorOptions = {},
): DetectorResult {
  const { minSamples, alpha } = resolveOptions(options);
  const metric = 'accuracy';
  const detector = 'fisher-exact';
  const ref = asWindow(reference).feedback();
  const cur = asWindow(current).feedback();
  if (cur.labelled < minSamples || ref.labelled < minSamples) {
    return insufficientData(
      metric,
      detector,
      { sample: cur.labelled, reference: ref.labelled },
      minSamples,
      'events with feedback',
    );
  }
  const test = fisherExact([
    [cur.correct, cur.labelled - cur.correct],
    [ref.correct, ref.labelled - ref.correct],
  ]);
  const currentAccuracy = cur.correct / cur.labelled;
  const referenceAccuracy = ref.correct / ref.labelled;
  return {
    metric,
    detector,
    statistic: currentAccuracy,
    p_value: test.pValue,
    effect_size: currentAccuracy - referenceAccuracy,
    sample_size: cur.labelled,
    reference_size: ref.labelled,
    verdict: verdictOf(test.pValue, alpha),
    details: {
      alpha,
      statistic: 'accuracy of the current window on events with feedback',
      effect: 'current accuracy minus reference accuracy',
      reference_accuracy: rounded(referenceAccuracy),
      current_correct: cur.correct,
      reference_correct: ref.correct,
    },
  };
}
