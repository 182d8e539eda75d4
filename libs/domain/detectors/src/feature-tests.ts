/**
 * What the per-feature tests share: the resolved options, the shape of a test before the window's
 * family is adjusted, the metric names and the result of a feature with too few values.
 */
import type { FeatureType } from './feature-types';
import type { DetectorResult } from './types';

/** The options of `detectFeatureDrift` with every default filled in and checked. */
export interface FeatureDriftSettings {
  minSamples: number;
  fdr: number;
  minNumericEffect: number;
  minCategoricalEffect: number;
  minMissingChange: number;
  datasetDriftShare: number;
  maxFeatures: number;
  featureTypes: Readonly<Record<string, FeatureType>>;
  maxIntegerCategories: number;
  maxCategories: number;
}

/** The metric name of a feature's distribution test, its missing-rate test, and the dataset verdict. */
export const featureMetric = (name: string) => `feature.${name}`;
export const missingMetric = (name: string) => `feature_missing.${name}`;

/** One test of one feature, its verdict left to the Benjamini–Hochberg step across the family. */
export interface Tested {
  result: DetectorResult;
  pValue: number;
  effect: number;
  minEffect: number;
}

/**
 * A feature's distribution test or why it has none; a numeric feature also tells how many values
 * were usable numbers, which its missing-rate test counts as present.
 */
export type Outcome = (
  | { tested: Tested; insufficient?: undefined }
  | { insufficient: DetectorResult; tested?: undefined }
) & { usable?: number; usableCurrent?: number };

export function tooFew(
  metric: string,
  detector: string,
  referenceCount: number,
  currentCount: number,
  minSamples: number,
): DetectorResult {
  const short: string[] = [];
  if (currentCount < minSamples) short.push(`the current window has ${currentCount} values`);
  if (referenceCount < minSamples) short.push(`the reference has ${referenceCount} values`);
  return {
    metric,
    detector,
    statistic: null,
    p_value: null,
    effect_size: null,
    sample_size: currentCount,
    reference_size: referenceCount,
    verdict: 'insufficient-data',
    details: {
      reason: `${short.join(' and ')}; at least ${minSamples} are needed for a verdict`,
      min_samples: minSamples,
    },
  };
}
