/** What a feature is: numeric or categorical, read from its reference values. */
import type { FeatureValue } from './feature-sample';

export type FeatureType = 'numeric' | 'categorical';

/** Integer columns with at most this many distinct values are categories (a count of doors, a rating). */
export const DEFAULT_MAX_INTEGER_CATEGORIES = 10;

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
