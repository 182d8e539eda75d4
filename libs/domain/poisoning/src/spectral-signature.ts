import { derivedRandom } from '@tripline/evaluation';
import type { ScanFeatures } from './features';
import { principalDirections, rowMean } from './linear-algebra';
import type { Representations } from './representations';
import { formatNumber, rowsByLabel, type DetectorOutcome } from './types';

export interface SpectralSignatureOptions {
  /**
   * Score (squared projection over the class mean) at which a row is flagged (default 8). With
   * poison share ε of a class, well separated, poisoned rows score about (1 − ε)/ε: above 8 up to
   * ε ≈ 11%; a Gaussian clean class passes it with 0.5% of its rows.
   */
  flagAt?: number;
  /** Classes with fewer rows are not scored (default 10). */
  minClassRows?: number;
  seed?: number;
}

/**
 * Spectral signatures (Tran, Li and Madry, NeurIPS 2018): within each class, the poisoned rows
 * shift the representation mean along one direction, so the top singular vector of the centred
 * class matrix points at them. A row's score is its squared projection on that vector, divided by
 * the class's mean squared projection so that classes are comparable.
 */
export function spectralSignature(
  features: ScanFeatures,
  representations: Representations,
  options: SpectralSignatureOptions = {},
): DetectorOutcome {
  const { rows, labels, labelOf } = features;
  const { values, dimension } = representations;
  const flagAt = options.flagAt ?? 8;
  const minClassRows = options.minClassRows ?? 10;
  const scores = new Float64Array(rows);
  const flagged = new Uint8Array(rows);
  const perClass: Record<string, { rows: number; flagged: number; topShare: number; gap: number }> = {};
  rowsByLabel(labelOf, labels.length).forEach((members, label) => {
    if (members.length < minClassRows) return;
    const mean = rowMean(values, members, dimension);
    const [direction, second] = principalDirections(
      values,
      members,
      dimension,
      mean,
      2,
      derivedRandom(options.seed ?? 1, 'spectral', labels[label]),
    );
    if (!direction) return;
    const squared = members.map((i) => {
      let sum = 0;
      for (let d = 0; d < dimension; d++) sum += (values[i * dimension + d] - mean[d]) * direction[d];
      return sum * sum;
    });
    const average = squared.reduce((sum, value) => sum + value, 0) / members.length;
    let secondVariance = 0;
    if (second)
      for (const i of members) {
        let sum = 0;
        for (let d = 0; d < dimension; d++) sum += (values[i * dimension + d] - mean[d]) * second[d];
        secondVariance += (sum * sum) / members.length;
      }
    const gap = secondVariance > 0 ? average / secondVariance : Infinity;
    let count = 0;
    members.forEach((i, m) => {
      scores[i] = average > 0 ? squared[m] / average : 0;
      if (scores[i] >= flagAt) {
        flagged[i] = 1;
        count++;
      }
    });
    // How much of the class's spread the top direction explains: high when one cluster stands apart.
    let total = 0;
    for (const i of members)
      for (let d = 0; d < dimension; d++) total += (values[i * dimension + d] - mean[d]) ** 2;
    perClass[labels[label]] = {
      rows: members.length,
      flagged: count,
      topShare: total > 0 ? (average * members.length) / total : 0,
      gap,
    };
  });
  return {
    detector: 'spectral-signature',
    scores,
    flagged,
    reason: (i) => {
      const stats = perClass[labels[labelOf[i]]];
      if (!stats) return `class ${labels[labelOf[i]]} has too few rows for a spectral signature`;
      return (
        `its squared projection on the top singular direction of class ${labels[labelOf[i]]} is ` +
        `${formatNumber(scores[i], 1)}× the class mean (that direction explains ${formatNumber(stats.topShare * 100, 0)}% of the class's spread)`
      );
    },
    summary: { flagAt, classes: perClass },
  };
}
