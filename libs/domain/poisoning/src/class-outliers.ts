import type { ScanFeatures } from './features';
import type { Representations } from './representations';
import { formatNumber, robustZ, rowsByLabel, type DetectorOutcome } from './types';

export interface ClassOutlierOptions {
  /** Robust z at which a row is flagged (default 3.5, Iglewicz and Hoaglin's cut-off). */
  flagAt?: number;
}

/**
 * Per-class outliers: each row's cosine distance to its class centroid, as a robust z-score within
 * the class (median and MAD, so the outliers cannot widen the scale that measures them). A row
 * whose text does not look like the rest of its class scores high; the score is max(0, z).
 */
export function classOutliers(
  features: ScanFeatures,
  representations: Representations,
  options: ClassOutlierOptions = {},
): DetectorOutcome {
  const { rows, labels, labelOf } = features;
  const { values, dimension } = representations;
  const flagAt = options.flagAt ?? 3.5;
  const scores = new Float64Array(rows);
  const flagged = new Uint8Array(rows);
  const distance = new Float64Array(rows);
  const perClass: Record<string, { rows: number; medianDistance: number; flagged: number }> = {};
  rowsByLabel(labelOf, labels.length).forEach((members, label) => {
    if (members.length === 0) return;
    const centroid = new Float64Array(dimension);
    for (const i of members) for (let d = 0; d < dimension; d++) centroid[d] += values[i * dimension + d];
    let norm = 0;
    for (let d = 0; d < dimension; d++) norm += centroid[d] * centroid[d];
    norm = Math.sqrt(norm) || 1;
    const distances = members.map((i) => {
      let cosine = 0;
      for (let d = 0; d < dimension; d++) cosine += values[i * dimension + d] * centroid[d];
      return 1 - cosine / norm;
    });
    const z = members.length >= 5 ? robustZ(distances) : new Float64Array(members.length);
    let count = 0;
    members.forEach((i, m) => {
      distance[i] = distances[m];
      scores[i] = Math.max(0, z[m]);
      if (z[m] >= flagAt) {
        flagged[i] = 1;
        count++;
      }
    });
    const sorted = [...distances].sort((a, b) => a - b);
    perClass[labels[label]] = {
      rows: members.length,
      medianDistance: sorted[sorted.length >> 1],
      flagged: count,
    };
  });
  return {
    detector: 'class-outlier',
    scores,
    flagged,
    reason: (i) =>
      `cosine distance ${formatNumber(distance[i], 3)} from the centroid of class ${labels[labelOf[i]]} ` +
      `(robust z ${formatNumber(scores[i], 1)}; median of the class ${formatNumber(perClass[labels[labelOf[i]]].medianDistance, 3)})`,
    summary: { flagAt, classes: perClass },
  };
}
