import { mulberry32, sampleIndices } from '@tripline/evaluation';
import type { ScanFeatures } from './features';
import type { Representations } from './representations';
import { formatNumber, type DetectorOutcome } from './types';

export interface KnnOptions {
  /** Neighbours per row (default 10). */
  k?: number;
  /**
   * Rows searched as neighbours (default 4,000): beyond it, a seeded sample of that many. The
   * search costs rows × reference × dimension multiply-adds.
   */
  maxReference?: number;
  /** Share of disagreeing neighbours at which the row is flagged (default 0.9). */
  flagAt?: number;
  seed?: number;
}

/**
 * k-nearest-neighbour label disagreement: the share of a row's k nearest rows (cosine, in
 * representation space) that carry another label. A flipped label sits among rows of its true
 * class, so most of its neighbours disagree with it.
 */
export function knnLabelDisagreement(
  features: ScanFeatures,
  representations: Representations,
  options: KnnOptions = {},
  onProgress?: (done: number, total: number) => void,
): DetectorOutcome {
  const { rows, labelOf, labels, lineOf } = features;
  const k = Math.max(1, Math.min(options.k ?? 10, rows - 1));
  const flagAt = options.flagAt ?? 0.9;
  const reference = Uint32Array.from(
    sampleIndices(rows, Math.min(rows, options.maxReference ?? 4_000), mulberry32(options.seed ?? 1)),
  );
  const bestRow = nearestRows(representations, rows, reference, k, onProgress);

  const scores = new Float64Array(rows);
  const flagged = new Uint8Array(rows);
  for (let i = 0; i < rows; i++) {
    let found = 0;
    let disagreeing = 0;
    for (let slot = 0; slot < k; slot++) {
      const other = bestRow[i * k + slot];
      if (other < 0) continue;
      found++;
      if (labelOf[other] !== labelOf[i]) disagreeing++;
    }
    scores[i] = found === 0 ? 0 : disagreeing / found;
    if (found > 0 && scores[i] >= flagAt) flagged[i] = 1;
  }
  return {
    detector: 'knn-label-disagreement',
    scores,
    flagged,
    reason: (i) => {
      const neighbours = Array.from(bestRow.subarray(i * k, (i + 1) * k))
        .filter((row) => row >= 0)
        .reverse();
      const others = neighbours.filter((row) => labelOf[row] !== labelOf[i]);
      const counts = new Map<string, number>();
      for (const row of others) counts.set(labels[labelOf[row]], (counts.get(labels[labelOf[row]]) ?? 0) + 1);
      const named = [...counts].map(([label, count]) => `${count} ${label}`).join(', ');
      return (
        `${others.length} of its ${neighbours.length} nearest rows carry another label` +
        (others.length
          ? ` (${named}; nearest at line${others.length > 1 ? 's' : ''} ${others
              .slice(0, 3)
              .map((row) => lineOf[row])
              .join(', ')})`
          : '') +
        `; label here: ${labels[labelOf[i]]}`
      );
    },
    summary: {
      k,
      referenceRows: reference.length,
      flagAt,
      meanDisagreement: formatNumber(scores.reduce((sum, score) => sum + score, 0) / Math.max(rows, 1), 3),
    },
  };
}

/**
 * Per row, its k most similar reference rows (cosine: the representations are unit vectors),
 * least similar first: rows × k row numbers, -1 where fewer than k were found.
 */
function nearestRows(
  representations: Representations,
  rows: number,
  reference: Uint32Array,
  k: number,
  onProgress?: (done: number, total: number) => void,
): Int32Array {
  const { values, dimension } = representations;
  // Per row, the k best similarities so far (ascending) and their rows.
  const bestSimilarity = new Float32Array(rows * k).fill(-Infinity);
  const bestRow = new Int32Array(rows * k).fill(-1);
  const offer = (row: number, other: number, similarity: number) => {
    const base = row * k;
    if (similarity <= bestSimilarity[base]) return;
    let slot = 0;
    while (slot + 1 < k && bestSimilarity[base + slot + 1] < similarity) {
      bestSimilarity[base + slot] = bestSimilarity[base + slot + 1];
      bestRow[base + slot] = bestRow[base + slot + 1];
      slot++;
    }
    bestSimilarity[base + slot] = similarity;
    bestRow[base + slot] = other;
  };
  const isReference = new Uint8Array(rows);
  for (const r of reference) isReference[r] = 1;
  // Bag-of-words vectors are mostly zeros: a row's few non-zero coordinates against a reference
  // row's dense ones is the same dot product at a fraction of the cost.
  const sparse = sparseRows(values, rows, dimension);
  for (let i = 0; i < rows; i++) {
    const x = i * dimension;
    const from = sparse ? sparse.start[i] : 0;
    const to = sparse ? sparse.start[i + 1] : 0;
    for (let m = 0; m < reference.length; m++) {
      const j = reference[m];
      // Pairs of reference rows are computed once, from the lower index, and offered both ways.
      if (j === i || (isReference[i] && j < i)) continue;
      const y = j * dimension;
      let similarity = 0;
      if (sparse) {
        for (let p = from; p < to; p++) similarity += sparse.values[p] * values[y + sparse.index[p]];
      } else {
        for (let d = 0; d < dimension; d++) similarity += values[x + d] * values[y + d];
      }
      offer(i, j, similarity);
      if (isReference[i]) offer(j, i, similarity);
    }
    if (onProgress && (i % 256 === 255 || i === rows - 1)) onProgress(i + 1, rows);
  }
  return bestRow;
}

/** The non-zero coordinates of each row (compressed sparse rows), when under a quarter are non-zero. */
function sparseRows(values: Float32Array, rows: number, dimension: number) {
  let nonZero = 0;
  for (let i = 0; i < values.length; i++) if (values[i] !== 0) nonZero++;
  if (nonZero > values.length / 4) return undefined;
  const start = new Uint32Array(rows + 1);
  const index = new Uint32Array(nonZero);
  const kept = new Float32Array(nonZero);
  let p = 0;
  for (let i = 0; i < rows; i++) {
    start[i] = p;
    for (let d = 0; d < dimension; d++) {
      const value = values[i * dimension + d];
      if (value !== 0) {
        index[p] = d;
        kept[p++] = value;
      }
    }
  }
  start[rows] = p;
  return { start, index, values: kept };
}
