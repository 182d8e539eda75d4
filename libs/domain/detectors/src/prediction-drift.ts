import { chiSquareContingency, jensenShannon } from '@tripline/drift';
import { finite, insufficientData, resolveOptions, rounded, verdictOf } from './result';
import type { DetectorOptions, DetectorResult, WindowEvent } from './types';
import { asWindow, type EventWindow } from './window';

/**
 * Prediction-distribution drift: has the mix of predicted labels changed?
 *
 * A chi-square test of independence on the 2×K table of label counts (reference row, current row),
 * with Yates' correction when there are two labels. Independence rather than goodness of fit
 * against the reference shares, because the reference is a sample too: treating its shares as
 * exact would overstate the evidence whenever the reference is not much larger than the window.
 * The effect size is the Jensen–Shannon distance (base 2, on [0, 1]) between the two label
 * distributions, which stays comparable across window sizes where the statistic does not.
 */
export function predictionDrift(
  reference: EventWindow | readonly WindowEvent[],
  current: EventWindow | readonly WindowEvent[],
  options: DetectorOptions = {},
): DetectorResult {
  const { minSamples, alpha } = resolveOptions(options);
  const metric = 'prediction_distribution';
  const detector = 'chi-square';
  const ref = asWindow(reference);
  const cur = asWindow(current);
  if (ref.size < minSamples || cur.size < minSamples) {
    return insufficientData(
      metric,
      detector,
      { sample: cur.size, reference: ref.size },
      minSamples,
      'events',
    );
  }
  const referenceCounts = ref.labelCounts();
  const currentCounts = cur.labelCounts();
  const labels = [...new Set([...referenceCounts.keys(), ...currentCounts.keys()])].sort();
  const refRow = labels.map((label) => referenceCounts.get(label) ?? 0);
  const curRow = labels.map((label) => currentCounts.get(label) ?? 0);
  const test = chiSquareContingency([refRow, curRow]);
  const distance = labels.length > 1 ? jensenShannon(refRow, curRow, 2).statistic : 0;
  const share = (row: number[], total: number) =>
    Object.fromEntries(labels.map((label, i) => [label, rounded(row[i] / total)]));
  return {
    metric,
    detector,
    statistic: test.statistic,
    p_value: test.pValue,
    effect_size: distance,
    sample_size: cur.size,
    reference_size: ref.size,
    verdict: verdictOf(test.pValue, alpha),
    details: {
      alpha,
      effect: 'Jensen-Shannon distance (base 2) between the label distributions',
      degrees_of_freedom: test.degreesOfFreedom,
      yates_correction: test.corrected,
      cramers_v: finite(test.effectSize),
      reference_shares: share(refRow, ref.size),
      current_shares: share(curRow, cur.size),
    },
  };
}
