import type { ScanFeatures } from './features';
import { formatNumber, type DetectorOutcome } from './types';

export interface NearDuplicateOptions {
  /** Estimated Jaccard similarity of character 5-gram sets at which two rows are near-duplicates (default 0.8). */
  threshold?: number;
  /** LSH bands (default 16); minHashSize / bands rows per band. */
  bands?: number;
  /** Buckets larger than this are compared with their first row only, not pairwise (default 64). */
  maxPairwiseBucket?: number;
}

export interface DuplicateCluster {
  lines: number[];
  labels: Record<string, number>;
  exact: boolean;
}

/**
 * The duplicate cluster of every row, as the least row index in it: rows with the same normalised
 * text, or whose MinHash signatures estimate a Jaccard similarity of at least `threshold` (banded
 * locality-sensitive hashing, joined by union–find). A row without copies is its own cluster.
 */
export function duplicateClusters(features: ScanFeatures, options: NearDuplicateOptions = {}): Int32Array {
  const { rows, digests, minHashes, minHashSize } = features;
  const threshold = options.threshold ?? 0.8;
  const bands = Math.max(1, Math.min(options.bands ?? 16, minHashSize));
  const perBand = Math.floor(minHashSize / bands);
  const maxPairwise = options.maxPairwiseBucket ?? 64;
  const parent = Int32Array.from({ length: rows }, (_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i]];
    return i;
  };
  const union = (a: number, b: number) => {
    const [x, y] = [find(a), find(b)];
    if (x !== y) parent[Math.max(x, y)] = Math.min(x, y);
  };
  const similarity = (a: number, b: number) => {
    let same = 0;
    for (let h = 0; h < minHashSize; h++)
      if (minHashes[a * minHashSize + h] === minHashes[b * minHashSize + h]) same++;
    return same / minHashSize;
  };

  const exactGroups = new Map<string, number>();
  for (let i = 0; i < rows; i++) {
    const key = `${digests[2 * i]}:${digests[2 * i + 1]}`;
    const first = exactGroups.get(key);
    if (first === undefined) exactGroups.set(key, i);
    else union(first, i);
  }
  for (let band = 0; band < bands; band++) {
    const buckets = new Map<string, number[]>();
    for (let i = 0; i < rows; i++) {
      const start = i * minHashSize + band * perBand;
      const key = Array.prototype.join.call(minHashes.subarray(start, start + perBand), ',');
      const bucket = buckets.get(key);
      if (bucket) bucket.push(i);
      else buckets.set(key, [i]);
    }
    for (const bucket of buckets.values()) {
      if (bucket.length < 2) continue;
      if (bucket.length <= maxPairwise) {
        for (let x = 0; x < bucket.length; x++)
          for (let y = x + 1; y < bucket.length; y++)
            if (find(bucket[x]) !== find(bucket[y]) && similarity(bucket[x], bucket[y]) >= threshold)
              union(bucket[x], bucket[y]);
      } else {
        for (let x = 1; x < bucket.length; x++)
          if (similarity(bucket[0], bucket[x]) >= threshold) union(bucket[0], bucket[x]);
      }
    }
  }

  return Int32Array.from({ length: rows }, (_, i) => find(i));
}

/**
 * Near-duplicate clusters (see duplicateClusters). Copies are how a small poison is amplified, and a copy
 * labelled differently from its twin is a flipped label. A row in a cluster of size s scores
 * 0.5 × (1 − 1/s) + 0.5 × (share of the others labelled differently); conflicting labels flag it.
 */
export function nearDuplicates(
  features: ScanFeatures,
  options: NearDuplicateOptions = {},
  roots: Int32Array = duplicateClusters(features, options),
): DetectorOutcome {
  const { rows, labels, labelOf, lineOf, digests } = features;
  const threshold = options.threshold ?? 0.8;
  const bands = Math.max(1, Math.min(options.bands ?? 16, features.minHashSize));
  const exactPair = (a: number, b: number) =>
    digests[2 * a] === digests[2 * b] && digests[2 * a + 1] === digests[2 * b + 1];

  const members = new Map<number, number[]>();
  for (let i = 0; i < rows; i++) {
    const root = roots[i];
    const group = members.get(root);
    if (group) group.push(i);
    else members.set(root, [i]);
  }
  const scores = new Float64Array(rows);
  const flagged = new Uint8Array(rows);
  const clusterOf = new Map<number, number[]>();
  const clusters: DuplicateCluster[] = [];
  for (const group of members.values()) {
    if (group.length < 2) continue;
    const labelCounts = new Map<number, number>();
    for (const i of group) labelCounts.set(labelOf[i], (labelCounts.get(labelOf[i]) ?? 0) + 1);
    for (const i of group) {
      clusterOf.set(i, group);
      const differing = (group.length - labelCounts.get(labelOf[i])!) / (group.length - 1);
      scores[i] = 0.5 * (1 - 1 / group.length) + 0.5 * differing;
      if (differing > 0) flagged[i] = 1;
    }
    clusters.push({
      lines: group.slice(0, 20).map((i) => lineOf[i]),
      labels: Object.fromEntries([...labelCounts].map(([label, count]) => [labels[label], count])),
      exact: group.every((i) => exactPair(group[0], i)),
    });
  }
  clusters.sort(
    (a, b) => Object.keys(b.labels).length - Object.keys(a.labels).length || b.lines.length - a.lines.length,
  );
  return {
    detector: 'near-duplicate',
    scores,
    flagged,
    reason: (i) => {
      const group = clusterOf.get(i);
      if (!group) return 'no near-duplicate';
      const others = group.filter((j) => j !== i);
      const differing = others.filter((j) => labelOf[j] !== labelOf[i]);
      const kind = others.every((j) => exactPair(i, j)) ? 'exact' : 'near';
      return (
        `${kind} duplicate of ${others.length} other row${others.length > 1 ? 's' : ''} (line${others.length > 1 ? 's' : ''} ` +
        `${others
          .slice(0, 5)
          .map((j) => lineOf[j])
          .join(', ')}${others.length > 5 ? ', …' : ''})` +
        (differing.length
          ? `; ${differing.length} labelled ${[...new Set(differing.map((j) => labels[labelOf[j]]))].join('/')} instead of ${labels[labelOf[i]]}`
          : '; same label')
      );
    },
    summary: {
      threshold,
      bands,
      clusters: clusters.length,
      rowsInClusters: [...members.values()].filter((g) => g.length > 1).reduce((sum, g) => sum + g.length, 0),
      conflictingClusters: clusters.filter((c) => Object.keys(c.labels).length > 1).length,
      largest: clusters.slice(0, 20),
      meanScore: formatNumber(scores.reduce((sum, s) => sum + s, 0) / Math.max(rows, 1), 3),
    },
  };
}
