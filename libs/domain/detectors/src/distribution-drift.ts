import { ksTest, psi } from '@tripline/drift';
import { insufficientData, mean, resolveOptions, rounded, sortedQuantile, verdictOf } from './result';
import type { DetectorOptions, DetectorResult, WindowEvent } from './types';
import { asWindow, type EventWindow } from './window';

/**
 * A two-sample comparison of one numeric quantity: the KS test gives the statistic (D, the
 * largest gap between the two empirical CDFs) and the p-value; PSI over ten bins cut at the
 * reference's deciles is the effect size, the figure ML teams already read ("> 0.25: shifted").
 * Ties (many equal lengths, confidences saturated at 1) make the KS p-value conservative, never
 * liberal, so they cannot cause false alarms.
 */
function numericDrift(
  metric: string,
  what: string,
  referenceValues: Float64Array,
  currentValues: Float64Array,
  options: DetectorOptions,
): DetectorResult {
  const { minSamples, alpha } = resolveOptions(options);
  const detector = 'ks';
  const sizes = { sample: currentValues.length, reference: referenceValues.length };
  if (sizes.sample < minSamples || sizes.reference < minSamples) {
    return insufficientData(metric, detector, sizes, minSamples, what);
  }
  const ks = ksTest(referenceValues, currentValues);
  const stability = psi(referenceValues, currentValues, { bins: 10 });
  const summary = (values: Float64Array) => {
    const sorted = Float64Array.from(values).sort();
    return {
      mean: rounded(mean(sorted)),
      p10: rounded(sortedQuantile(sorted, 0.1)),
      p50: rounded(sortedQuantile(sorted, 0.5)),
      p90: rounded(sortedQuantile(sorted, 0.9)),
    };
  };
  return {
    metric,
    detector,
    statistic: ks.statistic,
    p_value: ks.pValue,
    effect_size: stability.statistic,
    sample_size: sizes.sample,
    reference_size: sizes.reference,
    verdict: verdictOf(ks.pValue, alpha),
    details: {
      alpha,
      effect: 'PSI over 10 bins cut at the reference deciles (< 0.1 stable, > 0.25 shifted)',
      ks_method: ks.method,
      // Where the CDFs part most, and which way: +1 means the current values lie above there.
      largest_gap_at: ks.location,
      shifted: ks.sign === 1 ? 'higher' : 'lower',
      psi_edges: stability.edges.map((edge) => rounded(edge)),
      reference: summary(referenceValues),
      current: summary(currentValues),
    },
  };
}

/**
 * Confidence drift: the score of the predicted label, compared between the windows. A model that
 * meets inputs unlike its training data usually grows less sure before its accuracy visibly
 * drops; one that has been swapped or poisoned may grow surer. Events without scores are left out.
 */
export function confidenceDrift(
  reference: EventWindow | readonly WindowEvent[],
  current: EventWindow | readonly WindowEvent[],
  options: DetectorOptions = {},
): DetectorResult {
  return numericDrift(
    'confidence',
    'events with a confidence',
    asWindow(reference).confidences(),
    asWindow(current).confidences(),
    options,
  );
}

/** Input drift in the length of the input text, in characters (Unicode code points). */
export function textLengthDrift(
  reference: EventWindow | readonly WindowEvent[],
  current: EventWindow | readonly WindowEvent[],
  options: DetectorOptions = {},
): DetectorResult {
  return numericDrift(
    'input_text_length',
    'events',
    asWindow(reference).textLengths(),
    asWindow(current).textLengths(),
    options,
  );
}
