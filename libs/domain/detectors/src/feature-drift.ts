import {
  benjaminiHochberg,
  chiSquareContingency,
  jensenShannon,
  ksTest,
  psi,
  wasserstein,
} from '@tripline/drift';
import type { FeatureColumn, FeatureValue, FeatureWindow } from './feature-sample';
import { DEFAULT_MAX_FEATURES } from './feature-sample';
import { finite, rounded } from './result';
import type { DetectorResult } from './types';

export type FeatureType = 'numeric' | 'categorical';

/** Integer columns with at most this many distinct values are categories (a count of doors, a rating). */
export const DEFAULT_MAX_INTEGER_CATEGORIES = 10;
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

// A decimal number as text. A leading zero before another digit ("02139", "007") marks a code, not a quantity.
const NUMERIC_TEXT = /^[+-]?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$|^[+-]?\.\d+(?:[eE][+-]?\d+)?$/;

/** The number a value stands for, or undefined when it is not a quantity. */
export function numericValue(value: Exclude<FeatureValue, null>): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string') {
    const text = value.trim();
    if (!NUMERIC_TEXT.test(text)) return undefined;
    const parsed = Number(text);
    return Number.isFinite(parsed) ? parsed : undefined;
  }
  return undefined;
}

/** The category a value falls in: its text, so that 1, "1" and true stay apart from "true" only by type. */
export function categoryOf(value: Exclude<FeatureValue, null>): string {
  return typeof value === 'string' ? value : String(value);
}

/**
 * The type of a feature from its reference values, unless overridden:
 * - numeric: every value is a finite number or a decimal number as text ("12.5", "-3e2"), and the
 *   values are not all integers with at most `maxIntegerCategories` distinct values;
 * - categorical: anything else — strings, booleans, codes with leading zeros ("02139"), mixed
 *   columns (a number among words makes the number one more word), and low-cardinality integers.
 * A column with no values at all is categorical (nothing to measure a spread on).
 */
export function inferFeatureType(
  values: readonly Exclude<FeatureValue, null>[],
  maxIntegerCategories = DEFAULT_MAX_INTEGER_CATEGORIES,
): FeatureType {
  if (values.length === 0) return 'categorical';
  const distinctIntegers = new Set<number>();
  let allIntegers = true;
  for (const value of values) {
    const number = numericValue(value);
    if (number === undefined) return 'categorical';
    if (allIntegers) {
      if (Number.isInteger(number)) {
        if (distinctIntegers.size <= maxIntegerCategories) distinctIntegers.add(number);
      } else {
        allIntegers = false;
      }
    }
  }
  return allIntegers && distinctIntegers.size <= maxIntegerCategories ? 'categorical' : 'numeric';
}

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

interface Resolved {
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

function resolve(options: FeatureDriftOptions): Resolved {
  const resolved: Resolved = {
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

/** The metric name of a feature's distribution test, its missing-rate test, and the dataset verdict. */
export const featureMetric = (name: string) => `feature.${name}`;
export const missingMetric = (name: string) => `feature_missing.${name}`;
export const DATASET_SHARE_METRIC = 'dataset_share';

interface Tested {
  result: DetectorResult;
  pValue: number;
  effect: number;
  minEffect: number;
}

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
  const overCap = shared.slice(settings.maxFeatures);
  const onlyReference = [...reference.features.keys()].filter((name) => !current.features.has(name)).sort();
  const onlyCurrent = [...current.features.keys()].filter((name) => !reference.features.has(name)).sort();

  const distribution: Tested[] = [];
  const missing: Tested[] = [];
  const insufficient: DetectorResult[] = [];
  for (const name of tested) {
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

  const judge = (family: Tested[]) => {
    const adjusted = benjaminiHochberg(family.map((entry) => entry.pValue));
    family.forEach((entry, i) => {
      entry.result.p_value = adjusted[i];
      entry.result.verdict = adjusted[i] <= settings.fdr && entry.effect >= entry.minEffect ? 'drift' : 'ok';
      entry.result.details = {
        ...entry.result.details,
        raw_p_value: entry.pValue,
        fdr: settings.fdr,
        features_in_family: family.length,
        min_effect: entry.minEffect,
      };
    });
  };
  judge(distribution);
  judge(missing);

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
  const dataset: DetectorResult =
    distribution.length === 0
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
            reason:
              tested.length === 0
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
  return [
    ...distribution.map((entry) => entry.result),
    ...insufficient,
    ...missing.map((entry) => entry.result),
    dataset,
  ];
}

type Outcome = (
  | { tested: Tested; insufficient?: undefined }
  | { insufficient: DetectorResult; tested?: undefined }
) & { usable?: number; usableCurrent?: number };

function tooFew(
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

function numericFeature(
  name: string,
  reference: FeatureColumn,
  current: FeatureColumn,
  settings: Resolved,
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

function categoricalFeature(
  name: string,
  reference: FeatureColumn,
  current: FeatureColumn,
  settings: Resolved,
): Outcome {
  const metric = featureMetric(name);
  if (reference.values.length < settings.minSamples || current.values.length < settings.minSamples) {
    return {
      insufficient: tooFew(
        metric,
        'chi-square',
        reference.values.length,
        current.values.length,
        settings.minSamples,
      ),
    };
  }
  const count = (column: FeatureColumn) => {
    const counts = new Map<string, number>();
    for (const value of column.values) {
      const category = categoryOf(value);
      counts.set(category, (counts.get(category) ?? 0) + 1);
    }
    return counts;
  };
  const refCounts = count(reference);
  const curCounts = count(current);
  // The reference's most frequent categories are compared one by one; the long tail and every
  // category the reference never had share one column, so 10^5 distinct ids cost 51 columns.
  const kept = [...refCounts.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, settings.maxCategories)
    .map(([category]) => category);
  const keptSet = new Set(kept);
  const refRow = kept.map((category) => refCounts.get(category)!);
  const curRow = kept.map((category) => curCounts.get(category) ?? 0);
  let refOther = 0;
  for (const [category, n] of refCounts) if (!keptSet.has(category)) refOther += n;
  let curOther = 0;
  let unseen = 0;
  const unseenExamples: string[] = [];
  for (const [category, n] of curCounts) {
    if (keptSet.has(category)) continue;
    curOther += n;
    if (!refCounts.has(category)) {
      unseen += n;
      if (unseenExamples.length < 10) unseenExamples.push(category);
    }
  }
  if (refOther + curOther > 0) {
    refRow.push(refOther);
    curRow.push(curOther);
  }
  const test = chiSquareContingency([refRow, curRow]);
  const distance = refRow.length > 1 ? jensenShannon(refRow, curRow, 2).statistic : 0;
  return {
    tested: {
      pValue: test.pValue,
      effect: distance,
      minEffect: settings.minCategoricalEffect,
      result: {
        metric,
        detector: 'chi-square',
        statistic: test.statistic,
        p_value: test.pValue,
        effect_size: distance,
        sample_size: current.values.length,
        reference_size: reference.values.length,
        verdict: 'ok',
        details: {
          effect: 'Jensen-Shannon distance (base 2) between the category distributions',
          degrees_of_freedom: test.degreesOfFreedom,
          categories: refCounts.size,
          categories_compared: kept.length,
          other_column: refOther + curOther > 0,
          unseen_share: rounded(unseen / current.values.length),
          unseen_examples: unseenExamples.sort(),
          cramers_v: finite(test.effectSize),
          reference_values: reference.present,
          current_values: current.present,
        },
      },
    },
  };
}

function missingRate(
  name: string,
  referencePresent: number,
  referenceEvents: number,
  currentPresent: number,
  currentEvents: number,
  settings: Resolved,
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
