/** The missing-value test of a feature: its share of events without a usable value, reference against current. */
import { chiSquareContingency } from '@tripline/drift';
import { missingMetric, type FeatureDriftSettings, type Tested } from './feature-tests';
import { rounded } from './result';

export function missingRate(
  name: string,
  referencePresent: number,
  referenceEvents: number,
  currentPresent: number,
  currentEvents: number,
  settings: FeatureDriftSettings,
  labels: Record<string, string>,
): Tested {
  const refMissing = referenceEvents - referencePresent;
  const curMissing = currentEvents - currentPresent;
  const refShare = referenceEvents > 0 ? refMissing / referenceEvents : 0;
  const curShare = currentEvents > 0 ? curMissing / currentEvents : 0;
  const change = curShare - refShare;
  // With no missing value (or none present) in either window the table has an empty column: no evidence either way.
  const degenerate = refMissing + curMissing === 0 || referencePresent + currentPresent === 0;
  const test = degenerate
    ? { statistic: 0, pValue: 1 }
    : chiSquareContingency([
        [refMissing, referencePresent],
        [curMissing, currentPresent],
      ]);
  return {
    pValue: test.pValue,
    effect: Math.abs(change),
    minEffect: settings.minMissingChange,
    result: {
      metric: missingMetric(name),
      detector: 'chi-square',
      statistic: test.statistic,
      p_value: test.pValue,
      effect_size: change,
      sample_size: currentEvents,
      reference_size: referenceEvents,
      verdict: 'ok',
      labels,
      details: {
        effect: 'current - reference share of events without a usable value',
        reference_missing_share: rounded(refShare),
        current_missing_share: rounded(curShare),
      },
    },
  };
}
