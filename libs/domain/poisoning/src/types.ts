import { median } from '@tripline/drift';

export const DETECTORS = [
  'token-association',
  'knn-label-disagreement',
  'class-outlier',
  'near-duplicate',
  'spectral-signature',
  'activation-clustering',
] as const;

export type DetectorName = (typeof DETECTORS)[number];

/** What one detector says about every row. */
export interface DetectorOutcome {
  detector: DetectorName;
  /** One score per row, higher is more suspicious, 0 is no evidence; scales differ per detector. */
  scores: Float64Array;
  /** 1 where the detector's own decision rule calls the row suspicious. */
  flagged: Uint8Array;
  /** Why row i scored what it did, in words (asked only for the rows a report shows). */
  reason(row: number): string;
  /** Detector-level findings for the report (flagged tokens, clusters, per-class statistics). */
  summary: Record<string, unknown>;
}

/** Rows of one class, by index. */
export function rowsByLabel(labelOf: Uint16Array, labels: number): number[][] {
  const groups: number[][] = Array.from({ length: labels }, () => []);
  for (let i = 0; i < labelOf.length; i++) groups[labelOf[i]].push(i);
  return groups;
}

export { median };

/**
 * (x − median) / (1.4826 · MAD): a z-score that a few extreme rows (the poisoned ones) cannot
 * inflate their own scale with. Where the MAD is zero (over half the values equal) the mean absolute
 * deviation takes its place (× 1.2533, its normal consistency factor); where that is zero too,
 * every z is 0.
 */
export function robustZ(values: ArrayLike<number>): Float64Array {
  const centre = median(values);
  const deviations = Float64Array.from(values, (value) => Math.abs(value - centre));
  let scale = 1.4826 * median(deviations);
  if (!(scale > 0)) scale = (1.2533 * deviations.reduce((sum, value) => sum + value, 0)) / deviations.length;
  return Float64Array.from(values, (value) => (scale > 0 ? (value - centre) / scale : 0));
}

export function formatNumber(value: number, digits = 2): string {
  if (!Number.isFinite(value)) return String(value);
  if (value !== 0 && Math.abs(value) < 10 ** -digits) return value.toExponential(1);
  return value.toFixed(digits);
}
