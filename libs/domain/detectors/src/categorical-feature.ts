/**
 * The distribution test of a categorical feature: chi-square on the table of category counts for
 * the p-value, Jensen–Shannon distance for the effect.
 */
import { chiSquareContingency, jensenShannon } from '@tripline/drift';
import type { FeatureColumn } from './feature-sample';
import { featureMetric, tooFew, type FeatureDriftSettings, type Outcome } from './feature-tests';
import { categoryOf } from './feature-types';
import { finite, rounded } from './result';

export function categoricalFeature(
  name: string,
  reference: FeatureColumn,
  current: FeatureColumn,
  settings: FeatureDriftSettings,
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
  const table = categoryTable(reference, current, settings.maxCategories);
  const { refRow, curRow } = table;
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
          categories: table.categories,
          categories_compared: table.compared,
          other_column: table.otherColumn,
          unseen_share: rounded(table.unseen / current.values.length),
          unseen_examples: table.unseenExamples.sort(),
          cramers_v: finite(test.effectSize),
          reference_values: reference.present,
          current_values: current.present,
        },
      },
    },
  };
}

/** The 2×K table of category counts (reference row, current row) and what it left out. */
interface CategoryTable {
  refRow: number[];
  curRow: number[];
  /** Distinct categories in the reference. */
  categories: number;
  /** Categories with a column of their own. */
  compared: number;
  /** Whether the table ends in the shared "(other)" column. */
  otherColumn: boolean;
  /** Current values in categories the reference never had, and the first ten of those categories. */
  unseen: number;
  unseenExamples: string[];
}

function countCategories(column: FeatureColumn): Map<string, number> {
  const counts = new Map<string, number>();
  for (const value of column.values) {
    const category = categoryOf(value);
    counts.set(category, (counts.get(category) ?? 0) + 1);
  }
  return counts;
}

/**
 * The reference's most frequent categories are compared one by one; the long tail and every
 * category the reference never had share one column, so 10^5 distinct ids cost 51 columns.
 */
function categoryTable(
  reference: FeatureColumn,
  current: FeatureColumn,
  maxCategories: number,
): CategoryTable {
  const refCounts = countCategories(reference);
  const curCounts = countCategories(current);
  const kept = [...refCounts.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, maxCategories)
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
  return {
    refRow,
    curRow,
    categories: refCounts.size,
    compared: kept.length,
    otherColumn: refOther + curOther > 0,
    unseen,
    unseenExamples,
  };
}
