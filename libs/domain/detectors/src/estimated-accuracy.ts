import {
  calibrationWeights,
  fitCalibration,
  groupVariance,
  special,
  type Calibration,
} from '@tripline/drift';
import {
  clamp01,
  ESTIMATED_ACCURACY_METRIC,
  estimateResult,
  FEEDBACK_CHECK_LEVEL,
  finiteScore,
  MIN_FEEDBACK_CHECK,
  noCalibration,
  normalQuantile,
  settingsOf,
  type PerformanceEstimationOptions,
  type Validity,
} from './performance-estimation';
import { mean, rounded } from './result';
import type { DetectorResult, WindowEvent } from './types';
import { asWindow, type EventWindow } from './window';

/**
 * Estimated accuracy (CBPE): the scores of the predicted labels are calibrated against whether
 * each reference prediction was right (top-label calibration), and the estimate is the mean
 * calibrated probability over the current window. Needs only `confidence`, so it works for any
 * number of classes.
 *
 * Interval: the realised accuracy of n predictions that are each right with probability p_i
 * varies by Σ p_i(1 − p_i) / n² around the estimate; the calibration adds the sampling error of
 * each calibration group's mean, weighted by the share of the window it carries. The two add (a
 * normal approximation; a group's variance is Laplace-smoothed so a small pure block is not exact).
 */
export function estimatedAccuracy(
  reference: EventWindow | readonly WindowEvent[],
  current: EventWindow | readonly WindowEvent[],
  options: PerformanceEstimationOptions = {},
): DetectorResult {
  const settings = settingsOf(options);
  const metric = ESTIMATED_ACCURACY_METRIC;
  const ref = asWindow(reference);
  const cur = asWindow(current);
  const { scores, outcomes } = referenceFeedback(ref);
  const confidences = cur.confidences();
  const sizes = { sample: confidences.length, reference: scores.length };
  if (sizes.reference < settings.minSamples || sizes.sample < settings.minSamples) {
    return noCalibration(
      metric,
      settings,
      sizes,
      'events with a confidence and, in the reference, feedback',
      {
        current_mean_confidence: confidences.length > 0 ? rounded(mean(confidences)) : null,
      },
    );
  }
  const calibration = fitCalibration(settings.calibration, scores, outcomes);
  const { estimate, sampling, calibrationVariance, outside, first, last } = expectedAccuracy(
    calibration,
    confidences,
  );
  const n = confidences.length;
  const sd = Math.sqrt(sampling / n ** 2 + calibrationVariance);
  const z = normalQuantile(settings.confidenceLevel);
  const referenceAccuracy = outcomes.reduce((sum, value) => sum + value, 0) / outcomes.length;
  const referenceSd = Math.sqrt((referenceAccuracy * (1 - referenceAccuracy)) / outcomes.length);

  const validity = checkAgainstFeedback(cur, calibration, z);
  if (outside / n > 0.1) {
    validity.validity.warnings.push(
      `${rounded((100 * outside) / n, 3)}% of the window's confidences lie outside the calibrated range ` +
        `[${rounded(first)}, ${rounded(last)}]: their calibration is extrapolated`,
    );
  }
  return estimateResult(metric, settings, {
    estimate,
    low: clamp01(estimate - z * sd),
    high: clamp01(estimate + z * sd),
    sd,
    reference: referenceAccuracy,
    referenceSd,
    sample: n,
    referenceSize: outcomes.length,
    validity: validity.validity,
    details: {
      calibration_groups: calibration.groups.length,
      sampling_standard_error: rounded(Math.sqrt(sampling) / n),
      calibration_standard_error: rounded(Math.sqrt(calibrationVariance)),
      current_mean_confidence: rounded(mean(confidences)),
      ...validity.details,
    },
  });
}

/** The reference's calibration data: the confidence of each prediction whose feedback arrived, and whether it was right. */
function referenceFeedback(ref: EventWindow): { scores: number[]; outcomes: number[] } {
  const scores: number[] = [];
  const outcomes: number[] = [];
  for (const event of ref.events) {
    if ((event.correct === true || event.correct === false) && finiteScore(event.confidence)) {
      scores.push(event.confidence);
      outcomes.push(event.correct ? 1 : 0);
    }
  }
  return { scores, outcomes };
}

/**
 * The mean calibrated probability of being right over the window, with its two variances: the
 * predictions' own (Σ p(1 − p), over n² by the caller) and the calibration groups' sampling error,
 * each group weighted by the share of the window it carries. Also how many confidences fell
 * outside the calibrated range [first, last].
 */
function expectedAccuracy(
  calibration: Calibration,
  confidences: Float64Array,
): {
  estimate: number;
  sampling: number;
  calibrationVariance: number;
  outside: number;
  first: number;
  last: number;
} {
  const groups = calibration.groups.length;
  const share = new Float64Array(groups);
  let estimate = 0;
  let sampling = 0;
  let outside = 0;
  const first = calibration.groups[0].low;
  const last = calibration.groups[groups - 1].high;
  for (const score of confidences) {
    const [a, wa, b, wb] = calibrationWeights(calibration, score);
    share[a] += wa;
    share[b] += wb;
    const p = wa * calibration.groups[a].value + wb * calibration.groups[b].value;
    estimate += p;
    sampling += p * (1 - p);
    if (score < first || score > last) outside++;
  }
  const n = confidences.length;
  estimate /= n;
  let calibrationVariance = 0;
  for (let g = 0; g < groups; g++)
    calibrationVariance += (share[g] / n) ** 2 * groupVariance(calibration.groups[g]);
  return { estimate, sampling, calibrationVariance, outside, first, last };
}

/**
 * The estimate against the feedback that did arrive in the window, when there is enough of it:
 * the realised accuracy of those events against CBPE's expectation for the same events. A
 * disagreement beyond the check's level says the calibration no longer holds (concept drift,
 * label shift, a changed model): the estimate is then marked contradicted.
 */
function checkAgainstFeedback(
  window: EventWindow,
  calibration: Calibration,
  z: number,
): { validity: Validity; details: Record<string, unknown> } {
  let labelled = 0;
  let correct = 0;
  let expected = 0;
  let variance = 0;
  for (const event of window.events) {
    if ((event.correct === true || event.correct === false) && finiteScore(event.confidence)) {
      const [a, wa, b, wb] = calibrationWeights(calibration, event.confidence);
      const p = wa * calibration.groups[a].value + wb * calibration.groups[b].value;
      labelled++;
      if (event.correct) correct++;
      expected += p;
      variance += Math.max(p * (1 - p), 1e-4);
    }
  }
  const validity: Validity = { state: 'valid', warnings: [] };
  if (labelled < MIN_FEEDBACK_CHECK) {
    return {
      validity,
      details: {
        feedback_check: `not run: ${labelled} events of the window have feedback (needs ${MIN_FEEDBACK_CHECK})`,
      },
    };
  }
  const realised = correct / labelled;
  const expectedAccuracy = expected / labelled;
  const pValue = 2 * special.normalSf(Math.abs(correct - expected) / Math.sqrt(variance));
  if (pValue < FEEDBACK_CHECK_LEVEL) {
    validity.state = 'contradicted-by-feedback';
    validity.warnings.push(
      `on the ${labelled} events of the window with feedback the model was right ${rounded(realised, 3)} of the time ` +
        `where CBPE expects ${rounded(expectedAccuracy, 3)} (p ${rounded(pValue, 3)}): the reference calibration ` +
        `does not hold (concept drift, label shift or a changed model); trust the feedback accuracy`,
    );
  }
  return {
    validity,
    details: {
      feedback_events: labelled,
      feedback_accuracy: rounded(realised),
      feedback_expected_accuracy: rounded(expectedAccuracy),
      feedback_check_p_value: rounded(pValue),
      feedback_check_interval_z: rounded(z),
    },
  };
}
