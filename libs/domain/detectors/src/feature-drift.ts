import { benjaminiHochberg } from '@tripline/drift';
import { categoricalFeature } from './categorical-feature';
import type { FeatureWindow } from './feature-sample';
import { DEFAULT_MAX_FEATURES } from './feature-sample';
import { missingMetric, tooFew, type FeatureDriftSettings, type Tested } from './feature-tests';
import { DEFAULT_MAX_INTEGER_CATEGORIES, inferFeatureType, type FeatureType } from './feature-types';
import { missingRate } from './missing-rate';
import { numericFeature } from './numeric-feature';
import type { DetectorResult } from './types';

/** Categories compared one by one; the rest share one "(other)" column. */
export const DEFAULT_MAX_CATEGORIES = 50;
/** Share of drifted features at which the whole input is said to have drifted. */
export const DEFAULT_DATASET_DRIFT_SHARE = 0.5;
/** False-discovery rate across the features of one model and window. */
export const DEFAULT_FEATURE_FDR = 0.01;
/** Smallest effects that count as drift (see `FeatureDriftOptions`). */
export const DEFAULT_MIN_NUMERIC_EFFECT = 0.1;
export const DEFAULT_MIN_CATEGORICAL_EFFECT = 0.1;
export const DEFAULT_MIN_MISSING_CHANGE = 0.05;

export interface FeatureDriftOptions {
  /** Present values each window needs for a feature's verdict (default 200). */
  minSamples?: number;
  /** False-discovery rate of the Benjamini–Hochberg procedure across a window's features (default 0.01). */
  fdr?: number;
  /**
   * Smallest Wasserstein distance, in reference standard deviations, that counts as numeric drift
   * (default 0.1, Evidently's threshold for its normalised Wasserstein test). With 10,000 values a
   * shift of a hundredth of a standard deviation is significant and of no consequence.
   */
  minNumericEffect?: number;
  /** Smallest Jensen–Shannon distance (base 2) that counts as categorical drift (default 0.1, Evidently's). */
  minCategoricalEffect?: number;
  /** Smallest change of the missing-value rate, in absolute share, that counts (default 0.05). */
  minMissingChange?: number;
  /** Share of tested features that must drift for the dataset-level verdict (default 0.5). */
  datasetDriftShare?: number;
  /** Features tested at most, in name order (default 200). */
  maxFeatures?: number;
  /** Per-feature type overrides for ambiguous columns (the model's `feature_types`). */
  featureTypes?: Readonly<Record<string, FeatureType>>;
  maxIntegerCategories?: number;
  maxCategories?: number;
}

function resolve(options: FeatureDriftOptions): FeatureDriftSettings {
  const resolved: FeatureDriftSettings = {
    minSamples: options.minSamples ?? 200,
    fdr: options.fdr ?? DEFAULT_FEATURE_FDR,
    minNumericEffect: options.minNumericEffect ?? DEFAULT_MIN_NUMERIC_EFFECT,
    minCategoricalEffect: options.minCategoricalEffect ?? DEFAULT_MIN_CATEGORICAL_EFFECT,
    minMissingChange: options.minMissingChange ?? DEFAULT_MIN_MISSING_CHANGE,
    datasetDriftShare: options.datasetDriftShare ?? DEFAULT_DATASET_DRIFT_SHARE,
    maxFeatures: options.maxFeatures ?? DEFAULT_MAX_FEATURES,
    featureTypes: options.featureTypes ?? {},
    maxIntegerCategories: options.maxIntegerCategories ?? DEFAULT_MAX_INTEGER_CATEGORIES,
    maxCategories: options.maxCategories ?? DEFAULT_MAX_CATEGORIES,
  };
  if (!Number.isInteger(resolved.minSamples) || resolved.minSamples < 2) {
    throw new RangeError(`minSamples must be an integer >= 2 (got ${resolved.minSamples})`);
  }
  if (!(resolved.fdr > 0 && resolved.fdr < 1))
    throw new RangeError(`fdr must lie in (0, 1) (got ${resolved.fdr})`);
  if (!(resolved.datasetDriftShare > 0 && resolved.datasetDriftShare <= 1)) {
    throw new RangeError(`datasetDriftShare must lie in (0, 1] (got ${resolved.datasetDriftShare})`);
  }
  if (!Number.isInteger(resolved.maxFeatures) || resolved.maxFeatures < 1) {
    throw new RangeError(`maxFeatures must be a positive integer (got ${resolved.maxFeatures})`);
  }
  if (!Number.isInteger(resolved.maxCategories) || resolved.maxCategories < 1) {
    throw new RangeError(`maxCategories must be a positive integer (got ${resolved.maxCategories})`);
  }
  return resolved;
}

/** The metric name of the dataset verdict (the per-feature names are in feature-tests.ts). */
export const DATASET_SHARE_METRIC = 'dataset_share';

/**
 * Per-feature drift of one window against its reference, for tabular inputs (`input.features`).
 *
 * For every feature present in both windows (at most `maxFeatures`, in name order):
 * - `feature.<name>`: numeric → KS test (statistic D, p-value), effect the Wasserstein distance
 *   over the reference's standard deviation, PSI in the details; categorical → chi-square test of
 *   independence on the 2×K table of category counts (reference, current), effect the
 *   Jensen–Shannon distance (base 2), with the share of current values in categories the
 *   reference never had;
 * - `feature_missing.<name>`: the share of events without the feature (absent, null, or not a
 *   number in a numeric feature), chi-square on the 2×2 table, effect current − reference share.
 *
 * The p-values of each family are adjusted by Benjamini–Hochberg across the window's features
 * (`p_value` is the adjusted one, the raw one is in the details); a feature has drifted when its
 * adjusted p-value is at most `fdr` and its effect reaches the minimum: a p-value on a large window
 * alone is not a verdict. `dataset_share` is the share of tested features whose distribution
 * drifted; the dataset has drifted when it reaches `datasetDriftShare`.
 */
export function detectFeatureDrift(
  reference: FeatureWindow,
  current: FeatureWindow,
  options: FeatureDriftOptions = {},
): DetectorResult[] {
  const settings = resolve(options);
  const shared = [...reference.features.keys()].filter((name) => current.features.has(name)).sort();
  const tested = shared.slice(0, settings.maxFeatures);
  const families: FeatureFamilies = { distribution: [], missing: [], insufficient: [] };
  for (const name of tested) testFeature(name, reference, current, settings, families);
  judge(families.distribution, settings.fdr);
  judge(families.missing, settings.fdr);
  const dataset = datasetShare(reference, current, shared, families, settings);
  return [
    ...families.distribution.map((entry) => entry.result),
    ...families.insufficient,
    ...families.missing.map((entry) => entry.result),
    dataset,
  ];
}

/** A window's tests by family, each family adjusted on its own, and the features with too few values. */
interface FeatureFamilies {
  distribution: Tested[];
  missing: Tested[];
  insufficient: DetectorResult[];
}

/** One feature's distribution test (by its type) and missing-rate test, added to their families. */
function testFeature(
  name: string,
  reference: FeatureWindow,
  current: FeatureWindow,
  settings: FeatureDriftSettings,
  { distribution, missing, insufficient }: FeatureFamilies,
): void {
  const ref = reference.features.get(name)!;
  const cur = current.features.get(name)!;
  const override = settings.featureTypes[name];
  const type = override ?? inferFeatureType(ref.values, settings.maxIntegerCategories);
  const labels = { feature: name, feature_type: type };
  const outcome =
    type === 'numeric'
      ? numericFeature(name, ref, cur, settings)
      : categoricalFeature(name, ref, cur, settings);
  if (outcome.insufficient) {
    insufficient.push({ ...outcome.insufficient, labels });
  } else {
    outcome.tested.result.labels = labels;
    outcome.tested.result.details.type_source = override ? 'feature_types' : 'inferred';
    distribution.push(outcome.tested);
  }
  const usable = type === 'numeric' ? (outcome.usable ?? ref.present) : ref.present;
  const usableCurrent = type === 'numeric' ? (outcome.usableCurrent ?? cur.present) : cur.present;
  if (reference.events < settings.minSamples || current.events < settings.minSamples) {
    const result = tooFew(
      missingMetric(name),
      'chi-square',
      reference.events,
      current.events,
      settings.minSamples,
    );
    insufficient.push({
      ...result,
      labels,
      details: { ...result.details, reason: String(result.details.reason).replace(/values/g, 'events') },
    });
  } else {
    missing.push(
      missingRate(name, usable, reference.events, usableCurrent, current.events, settings, labels),
    );
  }
}

/** Benjamini–Hochberg across one family; a test drifts when adjusted p ≤ fdr and its effect reaches the minimum. */
function judge(family: Tested[], fdr: number): void {
  const adjusted = benjaminiHochberg(family.map((entry) => entry.pValue));
  family.forEach((entry, i) => {
    entry.result.p_value = adjusted[i];
    entry.result.verdict = adjusted[i] <= fdr && entry.effect >= entry.minEffect ? 'drift' : 'ok';
    entry.result.details = {
      ...entry.result.details,
      raw_p_value: entry.pValue,
      fdr,
      features_in_family: family.length,
      min_effect: entry.minEffect,
    };
  });
}

/** The dataset verdict: the share of tested features whose distribution drifted. */
function datasetShare(
  reference: FeatureWindow,
  current: FeatureWindow,
  shared: readonly string[],
  { distribution, insufficient }: FeatureFamilies,
  settings: FeatureDriftSettings,
): DetectorResult {
  const overCap = shared.slice(settings.maxFeatures);
  const onlyReference = [...reference.features.keys()].filter((name) => !current.features.has(name)).sort();
  const onlyCurrent = [...current.features.keys()].filter((name) => !reference.features.has(name)).sort();
  const drifted = distribution.filter((entry) => entry.result.verdict === 'drift');
  const share = distribution.length > 0 ? drifted.length / distribution.length : 0;
  const datasetDetails = {
    drifted_features: drifted.map((entry) => entry.result.labels!.feature),
    tested_features: distribution.length,
    insufficient_features: insufficient
      .filter((result) => result.metric.startsWith('feature.'))
      .map((result) => result.labels!.feature),
    drift_share: settings.datasetDriftShare,
    fdr: settings.fdr,
    rule: 'drift when drifted features / tested features >= drift_share',
    features_over_cap: overCap,
    max_features: settings.maxFeatures,
    only_in_reference: onlyReference.slice(0, 100),
    only_in_current: onlyCurrent.slice(0, 100),
    dropped_by_reservoir: [...new Set([...(reference.dropped ?? []), ...(current.dropped ?? [])])].slice(
      0,
      100,
    ),
  };
  return distribution.length === 0
    ? {
        metric: DATASET_SHARE_METRIC,
        detector: 'share-of-features',
        statistic: null,
        p_value: null,
        effect_size: null,
        sample_size: current.events,
        reference_size: reference.events,
        verdict: 'insufficient-data',
        details: {
          ...datasetDetails,
          // maxFeatures is at least 1, so no feature tested means no feature shared.
          reason:
            shared.length === 0
              ? 'no feature is present in both the reference and the current window'
              : `no feature has ${settings.minSamples} values in both windows`,
        },
      }
    : {
        metric: DATASET_SHARE_METRIC,
        detector: 'share-of-features',
        statistic: share,
        p_value: null,
        effect_size: share,
        sample_size: current.events,
        reference_size: reference.events,
        verdict: share >= settings.datasetDriftShare ? 'drift' : 'ok',
        details: datasetDetails,
      };
}
