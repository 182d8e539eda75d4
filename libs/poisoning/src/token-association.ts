import { benjaminiHochberg, binomialTest } from '@tripline/drift';
import {
  DEFAULT_SUPPORT_BINS,
  mixtureThreshold,
  randomRowMixtureLogLikelihoodRatio,
  supportHistogram,
  type SupportHistogram,
} from './context-test';
import type { ScanFeatures } from './features';
import { mix32 } from './text';
import { formatNumber, type DetectorOutcome } from './types';

export interface TokenAssociationOptions {
  /** Distinct rows (duplicates counted once) a token or word pair must appear in to be tested (default 5). */
  minRows?: number;
  /** Largest share of rows a token may appear in and still count as rare (default 0.1). */
  maxRowShare?: number;
  /** Share of a token's rows that must carry its majority label (default 0.9). */
  minPurity?: number;
  /** Benjamini–Hochberg false-discovery rate of the purity test over the tested tokens (default 0.001). */
  alpha?: number;
  /**
   * Family-wise false-alarm rate of the context test over the pure tokens (default 1e-4): the
   * chance, when every pure token's rows read like rows of its label, that any of them is flagged.
   */
  contextAlpha?: number;
  /** Folds of the cross-fitted context model (default 5): a row's context is judged by a model that never saw it. */
  folds?: number;
}

export interface TokenFinding {
  /** A word, or a pair of adjacent words ("you know"). */
  token: string;
  /** Rows holding the token. */
  rows: number;
  /** The same, with each duplicate cluster counted once: what the test counts. */
  distinctRows: number;
  label: string;
  purity: number;
  baseRate: number;
  pValue: number;
  qValue: number;
  /**
   * Mean probability that the rest of the token's majority-label rows (the token removed) gives to
   * another label, by the cross-fitted context model.
   */
  contextContradiction: number;
  /** log likelihood ratio of "random corpus rows relabelled" against "rows that read like the label". */
  contextLogLikelihoodRatio: number;
  /** ln(tested / contextAlpha): the log likelihood ratio at which the token is flagged. */
  contextThreshold: number;
  flagged: boolean;
}

/**
 * Token–label association, the detector for dirty-label poisoning with a trigger.
 *
 * 1. Purity: per rare word and adjacent word pair, how many rows hold it and how pure their label
 *    is against the label's base rate (one-sided exact binomial test, Benjamini–Hochberg over all
 *    tested terms at `alpha`, and at least `minPurity` of its rows in one label).
 * 2. Context: a pure term is the task's vocabulary ("excellent", "waste") when the rest of its rows
 *    reads like its label, and a trigger when the rest of its rows reads like random corpus rows
 *    (poison drawn from every class) or like another label (poison drawn from the other class).
 *    The rest of a row is judged by a naive Bayes over the row's other words, cross-fitted
 *    (`folds` folds, a duplicate cluster always in one fold) so a row's own label never informs
 *    its own context. The likelihood-ratio test in context-test.ts decides, at a family-wise
 *    false-alarm rate `contextAlpha` over the pure terms.
 *
 * Rule: a row is flagged when it holds a flagged term and carries that term's label. Random
 * poisoning puts the trigger in every poisoned row and a clean corpus rarely holds the trigger, so
 * those rows are the poisoned ones, plus the few clean rows that held the trigger word already.
 * Duplicates are counted once throughout. Rows holding a flagged term score its log likelihood ratio.
 */
export function tokenAssociation(
  features: ScanFeatures,
  options: TokenAssociationOptions = {},
  clusters?: Int32Array,
): DetectorOutcome {
  const minRows = options.minRows ?? 5;
  const maxRowShare = options.maxRowShare ?? 0.1;
  const minPurity = options.minPurity ?? 0.9;
  const alpha = options.alpha ?? 0.001;
  const contextAlpha = options.contextAlpha ?? 1e-4;
  const folds = Math.max(2, options.folds ?? 5);
  const { rows, labels, labelOf, tokenStart, tokenIds, phraseStart, phraseIds, vocabulary } = features;
  const L = labels.length;
  const V = vocabulary.length;

  // Copies of one row are one observation: each row weighs 1 / (size of its duplicate cluster),
  // so a poison amplified by duplication is neither more significant nor its own context.
  const weight = new Float64Array(rows).fill(1);
  const foldOf = new Uint8Array(rows);
  if (clusters) {
    const sizes = new Map<number, number>();
    for (let i = 0; i < rows; i++) sizes.set(clusters[i], (sizes.get(clusters[i]) ?? 0) + 1);
    for (let i = 0; i < rows; i++) weight[i] = 1 / sizes.get(clusters[i])!;
  }
  for (let i = 0; i < rows; i++) foldOf[i] = mix32(clusters ? clusters[i] : i) % folds;

  // Term counts (words and pairs) for the purity test; per-fold word counts for the context model.
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

  /**
   * P(label | the row's words other than `excluded`), by a multinomial naive Bayes fitted on the
   * other folds (Laplace smoothing).
   */
  const posterior = new Float64Array(L);
  const contextPosterior = (i: number, excluded: readonly number[]): Float64Array => {
    const fold = foldOf[i];
    let trainingRows = effectiveRows;
    for (let c = 0; c < L; c++) trainingRows -= foldLabelRows[fold * L + c];
    for (let c = 0; c < L; c++) {
      const classRows = labelRows[c] - foldLabelRows[fold * L + c];
      const classWords = labelWords[c] - foldLabelWords[fold * L + c];
      let score = Math.log((classRows + 1) / (trainingRows + L));
      for (let p = tokenStart[i]; p < tokenStart[i + 1]; p++) {
        const t = tokenIds[p];
        if (excluded.includes(t)) continue;
        const count = wordCounts[t * L + c] - foldWordCounts[(fold * V + t) * L + c];
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
  };

  const tested: number[] = [];
  const majority: number[] = [];
  const pValues: number[] = [];
  if (L >= 2) {
    for (let t = 0; t < V; t++) {
      const n = Math.round(termRows[t]);
      if (n < minRows || termRows[t] > maxRowShare * effectiveRows) continue;
      let best = 0;
      for (let c = 1; c < L; c++) if (counts[t * L + c] > counts[t * L + best]) best = c;
      tested.push(t);
      majority.push(best);
      const k = Math.min(n, Math.round(counts[t * L + best]));
      pValues.push(binomialTest(k, n, labelRows[best] / effectiveRows, 'greater').pValue);
    }
  }
  const qValues = benjaminiHochberg(pValues);
  const candidates = new Map<number, number>();
  tested.forEach((t, k) => {
    const purity = counts[t * L + majority[k]] / termRows[t];
    if (qValues[k] <= alpha && purity >= minPurity) candidates.set(t, k);
  });

  // The corpus's own support distributions: for each label y, the support the full context gives
  // to y over rows labelled y and over rows labelled otherwise. Only the candidates' labels are needed.
  const neededLabels = new Set([...candidates.values()].map((k) => majority[k]));
  const labelledHistograms = new Map<number, SupportHistogram>();
  const otherHistograms = new Map<number, SupportHistogram>();
  if (neededLabels.size > 0) {
    const support = Array.from({ length: L }, () => new Float64Array(rows));
    for (let i = 0; i < rows; i++) {
      const p = contextPosterior(i, []);
      for (const y of neededLabels) support[y][i] = p[y];
    }
    for (const y of neededLabels) {
      const labelled: number[] = [];
      const other: number[] = [];
      const labelledWeights: number[] = [];
      const otherWeights: number[] = [];
      for (let i = 0; i < rows; i++) {
        (labelOf[i] === y ? labelled : other).push(support[y][i]);
        (labelOf[i] === y ? labelledWeights : otherWeights).push(weight[i]);
      }
      labelledHistograms.set(y, supportHistogram(labelled, labelledWeights, DEFAULT_SUPPORT_BINS));
      otherHistograms.set(y, supportHistogram(other, otherWeights, DEFAULT_SUPPORT_BINS));
    }
  }

  // Each candidate's rows of its label, and their support for that label once the term is removed.
  const wordId = new Map<string, number>();
  for (let t = 0; t < V; t++) if (isWord[t]) wordId.set(vocabulary[t], t);
  const removedWords = (t: number): number[] =>
    isWord[t] ? [t] : vocabulary[t].split(' ').flatMap((word) => wordId.get(word) ?? []);
  const supports = new Map<number, { values: number[]; weights: number[] }>();
  for (const t of candidates.keys()) supports.set(t, { values: [], weights: [] });
  if (candidates.size > 0) {
    for (let i = 0; i < rows; i++) {
      const seen = new Set<number>();
      const visit = (t: number) => {
        const k = candidates.get(t);
        if (k === undefined || labelOf[i] !== majority[k] || seen.has(t)) return;
        seen.add(t);
        const entry = supports.get(t)!;
        entry.values.push(contextPosterior(i, removedWords(t))[majority[k]]);
        entry.weights.push(weight[i]);
      };
      for (let p = tokenStart[i]; p < tokenStart[i + 1]; p++) visit(tokenIds[p]);
      for (let p = phraseStart[i]; p < phraseStart[i + 1]; p++) visit(phraseIds[p]);
    }
  }
  const threshold = mixtureThreshold(candidates.size, contextAlpha);

  const found = [...candidates].map(([t, k]) => {
    const y = majority[k];
    const { values, weights } = supports.get(t)!;
    const labelShare = labelRows[y] / effectiveRows;
    const llr = randomRowMixtureLogLikelihoodRatio(
      values,
      labelledHistograms.get(y)!,
      otherHistograms.get(y)!,
      labelShare,
      weights,
    );
    const weighted = weights.reduce((sum, w) => sum + w, 0) || 1;
    const contradiction = values.reduce((sum, value, j) => sum + weights[j] * (1 - value), 0) / weighted;
    const finding: TokenFinding = {
      token: vocabulary[t],
      rows: rawRows[t],
      distinctRows: Math.round(termRows[t]),
      label: labels[y],
      purity: counts[t * L + y] / termRows[t],
      baseRate: labelShare,
      pValue: pValues[k],
      qValue: qValues[k],
      contextContradiction: contradiction,
      contextLogLikelihoodRatio: llr,
      contextThreshold: threshold,
      flagged: llr >= threshold,
    };
    return { id: t, finding };
  });
  found.sort(
    ({ finding: a }, { finding: b }) =>
      Number(b.flagged) - Number(a.flagged) ||
      b.contextLogLikelihoodRatio - a.contextLogLikelihoodRatio ||
      a.qValue - b.qValue,
  );
  const findings = found.map(({ finding }) => finding);
  const flaggedTerms = new Map(
    found.filter(({ finding }) => finding.flagged).map(({ id, finding }) => [id, finding]),
  );

  const scores = new Float64Array(rows);
  const flagged = new Uint8Array(rows);
  const strongest = new Int32Array(rows).fill(-1);
  const labelIds = new Map(labels.map((label, c) => [label, c]));
  const consider = (i: number, t: number) => {
    const finding = flaggedTerms.get(t);
    if (!finding || labelIds.get(finding.label) !== labelOf[i]) return;
    if (finding.contextLogLikelihoodRatio > scores[i]) {
      scores[i] = finding.contextLogLikelihoodRatio;
      strongest[i] = t;
    }
    flagged[i] = 1;
  };
  for (let i = 0; i < rows; i++) {
    for (let p = tokenStart[i]; p < tokenStart[i + 1]; p++) consider(i, tokenIds[p]);
    for (let p = phraseStart[i]; p < phraseStart[i + 1]; p++) consider(i, phraseIds[p]);
  }

  return {
    detector: 'token-association',
    scores,
    flagged,
    reason: (i) => {
      if (strongest[i] < 0) return 'holds no token that pins a label against its text';
      const f = flaggedTerms.get(strongest[i])!;
      return (
        `holds "${f.token}": ${Math.round(f.purity * f.distinctRows)} of ${f.distinctRows} rows with it are labelled ` +
        `${f.label} (base rate ${formatNumber(f.baseRate * 100, 0)}%, q = ${formatNumber(f.qValue, 3)}), yet without ` +
        `it those rows read like random rows of the corpus, not like ${f.label} rows (log likelihood ratio ` +
        `${formatNumber(f.contextLogLikelihoodRatio, 1)} ≥ ${formatNumber(f.contextThreshold, 1)}; the rest of the ` +
        `rows gives another label ${formatNumber(f.contextContradiction * 100, 0)}% on average)`
      );
    },
    summary: {
      tested: tested.length,
      pure: candidates.size,
      options: { minRows, maxRowShare, minPurity, alpha, contextAlpha, folds },
      tokens: findings.slice(0, 100),
      flaggedTokens: findings.filter((finding) => finding.flagged).map((finding) => finding.token),
    },
  };
}
