import { derivedRandom, type Random } from '@tripline/evaluation';
import type { ScanFeatures } from './features';
import { principalDirections, project, rowMean, twoMeans } from './linear-algebra';
import type { Representations } from './representations';
import { formatNumber, rowsByLabel, type DetectorOutcome } from './types';

export interface ActivationClusteringOptions {
  /** Dimensions kept before clustering (default 10, as Chen et al. reduce to 10 with ICA). */
  components?: number;
  /** A class is suspicious when its smaller cluster holds at most this share of it (default 0.35). */
  maxSmallShare?: number;
  /**
   * ...and the clusters are this much better separated (mean silhouette) than 2-means manages on a
   * Gaussian with the same variances (default 0.1): any cloud splits in two, a planted cluster
   * splits cleaner.
   */
  minSilhouette?: number;
  minClassRows?: number;
  seed?: number;
}

interface ClassClusters {
  rows: number;
  smallShare: number;
  silhouette: number;
  /** The silhouette 2-means reaches on a Gaussian sample with the same component variances. */
  baseline: number;
  suspicious: boolean;
}

/**
 * Activation clustering (Chen et al., 2018): within each class, the representations are reduced to
 * their top principal components and split into two clusters by 2-means. Poisoned rows are
 * classified by the trigger, not by their content, so they form a small cluster of their own. A
 * row in the smaller cluster scores its silhouette (how much nearer its own centre is than the
 * other) times 1 − 2 × the cluster's share of the class; rows in the larger cluster score 0.
 */
export function activationClustering(
  features: ScanFeatures,
  representations: Representations,
  options: ActivationClusteringOptions = {},
): DetectorOutcome {
  const { rows, labels, labelOf } = features;
  const { values, dimension } = representations;
  const components = options.components ?? 10;
  const maxSmallShare = options.maxSmallShare ?? 0.35;
  const minSilhouette = options.minSilhouette ?? 0.1;
  const minClassRows = options.minClassRows ?? 10;
  const scores = new Float64Array(rows);
  const flagged = new Uint8Array(rows);
  const silhouetteOf = new Float64Array(rows);
  const inSmall = new Uint8Array(rows);
  const perClass: Record<string, ClassClusters> = {};
  rowsByLabel(labelOf, labels.length).forEach((members, label) => {
    if (members.length < minClassRows) return;
    const random = derivedRandom(options.seed ?? 1, 'activation-clustering', labels[label]);
    const mean = rowMean(values, members, dimension);
    const directions = principalDirections(values, members, dimension, mean, components, random);
    if (directions.length === 0) return;
    const points = project(values, members, dimension, mean, directions);
    const k = directions.length;
    const { assignment, centres } = twoMeans(points, k, random);
    let ones = 0;
    for (const side of assignment) ones += side;
    const small = ones <= members.length - ones ? 1 : 0;
    const smallShare = (small ? ones : members.length - ones) / members.length;
    // Simplified silhouette: distances to the two centres rather than to every other point.
    let silhouetteSum = 0;
    const rowSilhouettes = members.map((_, m) => {
      let own = 0;
      let other = 0;
      for (let d = 0; d < k; d++) {
        const x = points[m * k + d];
        own += (x - centres[assignment[m]][d]) ** 2;
        other += (x - centres[1 - assignment[m]][d]) ** 2;
      }
      const [a, b] = [Math.sqrt(own), Math.sqrt(other)];
      const s = Math.max(a, b) > 0 ? (b - a) / Math.max(a, b) : 0;
      silhouetteSum += s;
      return s;
    });
    const silhouette = silhouetteSum / members.length;
    const baseline = gaussianBaseline(points, k, Math.min(members.length, 2_000), random);
    const suspicious =
      smallShare > 0 && smallShare <= maxSmallShare && silhouette - baseline >= minSilhouette;
    members.forEach((i, m) => {
      silhouetteOf[i] = rowSilhouettes[m];
      if (assignment[m] !== small) return;
      inSmall[i] = 1;
      scores[i] = Math.max(0, rowSilhouettes[m]) * (1 - 2 * smallShare);
      if (suspicious && rowSilhouettes[m] > 0) flagged[i] = 1;
    });
    perClass[labels[label]] = { rows: members.length, smallShare, silhouette, baseline, suspicious };
  });
  return {
    detector: 'activation-clustering',
    scores,
    flagged,
    reason: (i) => {
      const stats = perClass[labels[labelOf[i]]];
      if (!stats) return `class ${labels[labelOf[i]]} has too few rows to cluster`;
      const where = inSmall[i]
        ? `in the smaller of the two clusters of class ${labels[labelOf[i]]} (${formatNumber(stats.smallShare * 100, 1)}% of the class)`
        : `in the larger of the two clusters of class ${labels[labelOf[i]]}`;
      return `${where}; silhouette ${formatNumber(silhouetteOf[i], 2)}, clustering silhouette ${formatNumber(stats.silhouette, 2)}`;
    },
    summary: { components, maxSmallShare, minSilhouette, classes: perClass },
  };
}

/** Mean simplified silhouette of 2-means on `n` Gaussian points with the per-coordinate variances of `points`. */
function gaussianBaseline(points: Float64Array, k: number, n: number, random: Random): number {
  const count = points.length / k;
  const std = new Float64Array(k);
  for (let d = 0; d < k; d++) {
    let sum = 0;
    for (let m = 0; m < count; m++) sum += points[m * k + d] ** 2;
    std[d] = Math.sqrt(sum / count);
  }
  const sample = new Float64Array(n * k);
  for (let i = 0; i < sample.length; i++) sample[i] = random.normal() * std[i % k];
  const { assignment, centres } = twoMeans(sample, k, random);
  let total = 0;
  for (let m = 0; m < n; m++) {
    let own = 0;
    let other = 0;
    for (let d = 0; d < k; d++) {
      own += (sample[m * k + d] - centres[assignment[m]][d]) ** 2;
      other += (sample[m * k + d] - centres[1 - assignment[m]][d]) ** 2;
    }
    const [a, b] = [Math.sqrt(own), Math.sqrt(other)];
    total += Math.max(a, b) > 0 ? (b - a) / Math.max(a, b) : 0;
  }
  return total / n;
}
