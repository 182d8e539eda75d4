import { DEFAULT_SUPPORT_BINS, supportHistogram, type SupportHistogram } from './context-test';
import type { ScanFeatures } from './features';
import type { TermCounts } from './term-counts';

/** What a context model leaves out of its training counts (disjoint sets of rows when combined). */
export interface HeldOut {
  rows(label: number): number;
  words(label: number): number;
  count(word: number, label: number): number;
}

export function combinedHeldOut(a: HeldOut, b: HeldOut): HeldOut {
  return {
    rows: (c) => a.rows(c) + b.rows(c),
    words: (c) => a.words(c) + b.words(c),
    count: (t, c) => a.count(t, c) + b.count(t, c),
  };
}

/**
 * P(label | the row's words other than `removed`), by a multinomial naive Bayes (Laplace
 * smoothing) fitted on every row except the held-out ones: the row's own fold, or all the rows
 * holding the term under test, so that neither the row's label nor the term's other rows (its
 * other poisoned rows, with the trigger's companion words) inform the verdict on its context.
 */
export class ContextModel {
  /** Reused by every call: read a posterior before asking for the next. */
  private readonly posteriorBuffer: Float64Array;

  constructor(
    private readonly features: ScanFeatures,
    private readonly counts: TermCounts,
  ) {
    this.posteriorBuffer = new Float64Array(features.labels.length);
  }

  posterior(i: number, removed: readonly number[], heldOut: HeldOut): Float64Array {
    const { tokenStart, tokenIds } = this.features;
    const { effectiveRows, labelWords, labelRows, wordCounts, words } = this.counts;
    const L = this.features.labels.length;
    const posterior = this.posteriorBuffer;
    let trainingRows = effectiveRows;
    for (let c = 0; c < L; c++) trainingRows -= heldOut.rows(c);
    for (let c = 0; c < L; c++) {
      const classWords = labelWords[c] - heldOut.words(c);
      let score = Math.log((labelRows[c] - heldOut.rows(c) + 1) / (trainingRows + L));
      for (let p = tokenStart[i]; p < tokenStart[i + 1]; p++) {
        const t = tokenIds[p];
        if (removed.includes(t)) continue;
        const count = wordCounts[t * L + c] - heldOut.count(t, c);
        score += Math.log((Math.max(0, count) + 1) / (classWords + words));
      }
      posterior[c] = score;
    }
    let top = -Infinity;
    for (let c = 0; c < L; c++) top = Math.max(top, posterior[c]);
    let total = 0;
    for (let c = 0; c < L; c++) total += posterior[c] = Math.exp(posterior[c] - top);
    for (let c = 0; c < L; c++) posterior[c] /= total;
    return posterior;
  }

  /** The rows of one cross-fitting fold. */
  foldHeldOut(fold: number): HeldOut {
    const { foldLabelRows, foldLabelWords, foldWordCounts } = this.counts;
    const L = this.features.labels.length;
    const V = this.features.vocabulary.length;
    return {
      rows: (c) => foldLabelRows[fold * L + c],
      words: (c) => foldLabelWords[fold * L + c],
      count: (t, c) => foldWordCounts[(fold * V + t) * L + c],
    };
  }

  /** The given rows (the rows holding a term under test, or of accepted triggers). */
  rowsHeldOut(held: readonly number[]): HeldOut {
    const { labelOf, tokenStart, tokenIds } = this.features;
    const { weight } = this.counts;
    const L = this.features.labels.length;
    const heldRows = new Float64Array(L);
    const heldWords = new Float64Array(L);
    const heldCounts = new Map<number, Float64Array>();
    for (const j of held) {
      const c = labelOf[j];
      heldRows[c] += weight[j];
      heldWords[c] += weight[j] * (tokenStart[j + 1] - tokenStart[j]);
      for (let p = tokenStart[j]; p < tokenStart[j + 1]; p++) {
        let perLabel = heldCounts.get(tokenIds[p]);
        if (!perLabel) heldCounts.set(tokenIds[p], (perLabel = new Float64Array(L)));
        perLabel[c] += weight[j];
      }
    }
    return {
      rows: (c) => heldRows[c],
      words: (c) => heldWords[c],
      count: (t, c) => heldCounts.get(t)?.[c] ?? 0,
    };
  }
}

/** Per label y, the support the full context gives to y over rows labelled y and over the others. */
export interface CorpusSupport {
  labelled: Map<number, SupportHistogram>;
  other: Map<number, SupportHistogram>;
}

/**
 * The corpus's own support distributions: for each label y, the support the full context gives
 * to y over rows labelled y and over rows labelled otherwise, each row judged by a model that
 * never saw its fold. Rows of a trigger already accepted (`excluded`) are left out of both the
 * models and the distributions, so that one poison does not make clean words look poisoned.
 */
export function corpusSupport(
  model: ContextModel,
  features: ScanFeatures,
  counts: TermCounts,
  neededLabels: ReadonlySet<number>,
  excluded?: readonly number[],
): CorpusSupport {
  const { rows, labelOf, labels } = features;
  const { folds, foldOf, weight } = counts;
  const L = labels.length;
  const labelledHistograms = new Map<number, SupportHistogram>();
  const otherHistograms = new Map<number, SupportHistogram>();
  if (neededLabels.size === 0) return { labelled: labelledHistograms, other: otherHistograms };
  const isExcluded = new Uint8Array(rows);
  const heldOut = Array.from({ length: folds }, (_, fold) => {
    if (!excluded?.length) return model.foldHeldOut(fold);
    for (const i of excluded) isExcluded[i] = 1;
    return combinedHeldOut(
      model.foldHeldOut(fold),
      model.rowsHeldOut(excluded.filter((i) => foldOf[i] !== fold)),
    );
  });
  const support = Array.from({ length: L }, () => new Float64Array(rows));
  for (let i = 0; i < rows; i++) {
    if (isExcluded[i]) continue;
    const p = model.posterior(i, [], heldOut[foldOf[i]]);
    for (const y of neededLabels) support[y][i] = p[y];
  }
  for (const y of neededLabels) {
    const labelled: number[] = [];
    const other: number[] = [];
    const labelledWeights: number[] = [];
    const otherWeights: number[] = [];
    for (let i = 0; i < rows; i++) {
      if (isExcluded[i]) continue;
      (labelOf[i] === y ? labelled : other).push(support[y][i]);
      (labelOf[i] === y ? labelledWeights : otherWeights).push(weight[i]);
    }
    labelledHistograms.set(y, supportHistogram(labelled, labelledWeights, DEFAULT_SUPPORT_BINS));
    otherHistograms.set(y, supportHistogram(other, otherWeights, DEFAULT_SUPPORT_BINS));
  }
  return { labelled: labelledHistograms, other: otherHistograms };
}
