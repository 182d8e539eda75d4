import { fisherExact, special } from '@tripline/drift';
import { insufficientData, mean, resolveOptions, rounded, variance, verdictOf } from './result';
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

/**
 * Estimated accuracy without labels, from the model's own confidence.
 *
 * Assumption: the model is calibrated on the current traffic, i.e. among events answered with
 * confidence c, a share c is right; then the expected accuracy is the mean confidence. Where the
 * reference has enough feedback, the estimate is corrected by the reference's calibration gap
 * (reference accuracy minus reference mean confidence on its labelled events), which weakens the
 * assumption to "the calibration gap has not changed since the reference". Either assumption is
 * what covariate shift can break: a model meeting unfamiliar inputs is often confidently wrong,
 * so this estimate errs high exactly when drift is worst. Read it next to the feedback accuracy.
 *
 * The verdict comes from Welch's test on the difference in mean confidence (normal approximation:
 * confidences are bounded, so the mean of a few hundred is close to normal).
 */
export function estimatedAccuracy(
  reference: EventWindow | readonly WindowEvent[],
  current: EventWindow | readonly WindowEvent[],
  options: DetectorOptions = {},
): DetectorResult {
  const { minSamples, alpha } = resolveOptions(options);
  const metric = 'estimated_accuracy';
  const detector = 'mean-confidence';
  const ref = asWindow(reference);
  const cur = asWindow(current);
  const referenceConfidences = ref.confidences();
  const currentConfidences = cur.confidences();
  const sizes = { sample: currentConfidences.length, reference: referenceConfidences.length };
  if (sizes.sample < minSamples || sizes.reference < minSamples) {
    return insufficientData(metric, detector, sizes, minSamples, 'events with a confidence');
  }
  let labelledConfidence = 0;
  let labelled = 0;
  let correct = 0;
  for (const event of ref.events) {
    if ((event.correct === true || event.correct === false) && event.confidence !== null) {
      labelled++;
      labelledConfidence += event.confidence;
      if (event.correct) correct++;
    }
  }
  const calibrationGap = labelled >= minSamples ? correct / labelled - labelledConfidence / labelled : 0;
  const currentMean = mean(currentConfidences);
  const referenceMean = mean(referenceConfidences);
  const standardError = Math.sqrt(
    variance(currentConfidences) / sizes.sample + variance(referenceConfidences) / sizes.reference,
  );
  const difference = currentMean - referenceMean;
  // P(|Z| > z) for a standard normal Z is the chi-square(1) tail at z².
  const pValue =
    standardError > 0 ? special.chiSquareSf((difference / standardError) ** 2, 1) : difference === 0 ? 1 : 0;
  const clamp = (value: number) => Math.min(1, Math.max(0, value));
  const estimate = clamp(currentMean + calibrationGap);
  const referenceEstimate = clamp(referenceMean + calibrationGap);
  return {
    metric,
    detector,
    statistic: estimate,
    p_value: pValue,
    effect_size: estimate - referenceEstimate,
    sample_size: sizes.sample,
    reference_size: sizes.reference,
    verdict: verdictOf(pValue, alpha),
    details: {
      alpha,
      statistic: 'estimated accuracy: mean confidence plus the reference calibration gap',
      effect: 'estimated accuracy minus the same estimate for the reference',
      assumption:
        labelled >= minSamples
          ? 'the calibration gap (accuracy minus mean confidence) is the same as in the reference'
          : 'the model is calibrated: among answers given with confidence c, a share c is right',
      calibration_gap: rounded(calibrationGap),
      reference_labelled: labelled,
      current_mean_confidence: rounded(currentMean),
      reference_mean_confidence: rounded(referenceMean),
      reference_estimated_accuracy: rounded(referenceEstimate),
    },
  };
}
