/**
 * The distribution test of a numeric feature: KS for the p-value, Wasserstein over the reference's
 * spread for the effect, PSI for the report.
 */
import { ksTest, psi, wasserstein } from '@tripline/drift';
import type { FeatureColumn } from './feature-sample';
import { featureMetric, tooFew, type FeatureDriftSettings, type Outcome } from './feature-tests';
import { numericValue } from './feature-types';
import { finite, rounded } from './result';

function numbers(column: FeatureColumn): Float64Array {
  const out: number[] = [];
  for (const value of column.values) {
    const number = numericValue(value);
    if (number !== undefined) out.push(number);
  }
  return Float64Array.from(out);
}

/** Population standard deviation (NumPy's default, as Evidently normalises by). */
function spread(values: Float64Array): { mean: number; sd: number } {
  let mean = 0;
  let squares = 0;
  for (let i = 0; i < values.length; i++) {
    const delta = values[i] - mean;
    mean += delta / (i + 1);
    squares += delta * (values[i] - mean);
  }
  return { mean, sd: Math.sqrt(squares / values.length) };
}

export function numericFeature(
  name: string,
  reference: FeatureColumn,
  current: FeatureColumn,
  settings: FeatureDriftSettings,
): Outcome {
  const ref = numbers(reference);
  const cur = numbers(current);
  // Values that are not numbers in a numeric column count as missing, scaled from the sample to the window.
  const usable = Math.round(
    reference.present * (reference.values.length ? ref.length / reference.values.length : 1),
  );
  const usableCurrent = Math.round(
    current.present * (current.values.length ? cur.length / current.values.length : 1),
  );
  if (ref.length < settings.minSamples || cur.length < settings.minSamples) {
    return {
      insufficient: tooFew(featureMetric(name), 'ks', ref.length, cur.length, settings.minSamples),
      usable,
      usableCurrent,
    };
  }
  const ks = ksTest(ref, cur);
  const distance = wasserstein(ref, cur).statistic;
  const { mean, sd } = spread(ref);
  // A constant reference has no spread to measure by: measure by its magnitude, or in units.
  const scale = sd > 0 ? sd : Math.abs(mean) > 0 ? Math.abs(mean) : 1;
  const effect = distance / scale;
  const stability = psi(ref, cur, { bins: 10 });
  const currentMean = spread(cur).mean;
  return {
    usable,
    usableCurrent,
    tested: {
      pValue: ks.pValue,
      effect,
      minEffect: settings.minNumericEffect,
      result: {
        metric: featureMetric(name),
        detector: 'ks',
        statistic: ks.statistic,
        p_value: ks.pValue,
        effect_size: finite(effect),
        sample_size: cur.length,
        reference_size: ref.length,
        verdict: 'ok',
        details: {
          effect: 'Wasserstein distance / reference standard deviation',
          wasserstein: rounded(distance),
          reference_sd: rounded(sd),
          psi: rounded(stability.statistic),
          ks_method: ks.method,
          reference_mean: rounded(mean),
          current_mean: rounded(currentMean),
          shifted: currentMean >= mean ? 'higher' : 'lower',
          reference_values: reference.present,
          current_values: current.present,
        },
      },
    },
  };
}
