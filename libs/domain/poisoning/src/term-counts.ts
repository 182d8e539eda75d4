import type { ScanFeatures } from './features';
import { mix32 } from './text';

/**
 * The corpus counted once for the token-association detector: term counts (words and adjacent
 * pairs) per label for the purity test, and word counts per fold and label for the context model.
 * Copies of one row are one observation: each row weighs 1 / (size of its duplicate cluster), so
 * a poison amplified by duplication is neither more significant nor its own context.
 */
export interface TermCounts {
  folds: number;
  /** Per row: 1 / the size of its duplicate cluster. */
  weight: Float64Array;
  foldOf: Uint8Array;
  /** Per term: weighted rows holding it, and rows holding it with every copy counted. */
  termRows: Float64Array;
  rawRows: Uint32Array;
  /** Per term and label (term * labels + label): weighted rows. */
  counts: Float64Array;
  labelRows: Float64Array;
  /** Per fold, word and label ((fold * V + word) * labels + label), and per fold and label. */
  foldWordCounts: Float64Array;
  foldLabelWords: Float64Array;
  foldLabelRows: Float64Array;
  /** 1 for a single word, 0 for a pair. */
  isWord: Uint8Array;
  effectiveRows: number;
  /** Distinct single words in the corpus (the naive Bayes vocabulary size). */
  words: number;
  /** The fold counts summed over folds. */
  wordCounts: Float64Array;
  labelWords: Float64Array;
}

export function countTerms(features: ScanFeatures, folds: number, clusters?: Int32Array): TermCounts {
  const { rows, labels, labelOf, tokenStart, tokenIds, phraseStart, phraseIds, vocabulary } = features;
  const L = labels.length;
  const V = vocabulary.length;

  const weight = new Float64Array(rows).fill(1);
  const foldOf = new Uint8Array(rows);
  if (clusters) {
    const sizes = new Map<number, number>();
    for (let i = 0; i < rows; i++) sizes.set(clusters[i], (sizes.get(clusters[i]) ?? 0) + 1);
    for (let i = 0; i < rows; i++) weight[i] = 1 / sizes.get(clusters[i])!;
  }
  // The fold follows the text of the cluster's first row, so copies share a fold and the folds do
  // not depend on where in the file a row stands.
  for (let i = 0; i < rows; i++)
    foldOf[i] = mix32(features.digests[2 * (clusters ? clusters[i] : i)]) % folds;

  const termRows = new Float64Array(V);
  const rawRows = new Uint32Array(V);
  const counts = new Float64Array(V * L);
  const labelRows = new Float64Array(L);
  const foldWordCounts = new Float64Array(folds * V * L);
  const foldLabelWords = new Float64Array(folds * L);
  const foldLabelRows = new Float64Array(folds * L);
  const isWord = new Uint8Array(V);
  let effectiveRows = 0;
  for (let i = 0; i < rows; i++) {
    const label = labelOf[i];
    const w = weight[i];
    const fold = foldOf[i];
    effectiveRows += w;
    labelRows[label] += w;
    foldLabelRows[fold * L + label] += w;
    foldLabelWords[fold * L + label] += w * (tokenStart[i + 1] - tokenStart[i]);
    for (let p = tokenStart[i]; p < tokenStart[i + 1]; p++) {
      const t = tokenIds[p];
      isWord[t] = 1;
      counts[t * L + label] += w;
      termRows[t] += w;
      rawRows[t]++;
      foldWordCounts[(fold * V + t) * L + label] += w;
    }
    for (let p = phraseStart[i]; p < phraseStart[i + 1]; p++) {
      counts[phraseIds[p] * L + label] += w;
      termRows[phraseIds[p]] += w;
      rawRows[phraseIds[p]]++;
    }
  }
  const words = isWord.reduce((sum, flag) => sum + flag, 0);
  const wordCounts = new Float64Array(V * L);
  const labelWords = new Float64Array(L);
  for (let f = 0; f < folds; f++) {
    for (let c = 0; c < L; c++) labelWords[c] += foldLabelWords[f * L + c];
    for (let x = 0; x < V * L; x++) wordCounts[x] += foldWordCounts[f * V * L + x];
  }
  return {
    folds,
    weight,
    foldOf,
    termRows,
    rawRows,
    counts,
    labelRows,
    foldWordCounts,
    foldLabelWords,
    foldLabelRows,
    isWord,
    effectiveRows,
    words,
    wordCounts,
    labelWords,
  };
}
