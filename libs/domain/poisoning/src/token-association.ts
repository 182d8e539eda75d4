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
  /** Set when the term was pure only through the rows of a stronger flagged term (its trigger). */
  explainedBy?: string;
}

function combinedHeldOut(a: HeldOut, b: HeldOut): HeldOut {
  return {
    rows: (c) => a.rows(c) + b.rows(c),
    words: (c) => a.words(c) + b.words(c),
    count: (t, c) => a.count(t, c) + b.count(t, c),
  };
}

/** What a context model leaves out of its training counts (disjoint sets of rows when combined). */
interface HeldOut {
  rows(label: number): number;
  words(label: number): number;
  count(word: number, label: number): number;
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
  // The fold follows the text of the cluster's first row, so copies share a fold and the folds do
  // not depend on where in the file a row stands.
  for (let i = 0; i < rows; i++)
    foldOf[i] = mix32(features.digests[2 * (clusters ? clusters[i] : i)]) % folds;

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
   * P(label | the row's words other than `removed`), by a multinomial naive Bayes (Laplace
   * smoothing) fitted on every row except the held-out ones: the row's own fold, or all the rows
   * holding the term under test, so that neither the row's label nor the term's other rows (its
   * other poisoned rows, with the trigger's companion words) inform the verdict on its context.
   */
  const posterior = new Float64Array(L);
  const contextPosterior = (i: number, removed: readonly number[], heldOut: HeldOut): Float64Array => {
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
  };
  const foldHeldOut = (fold: number): HeldOut => ({
    rows: (c) => foldLabelRows[fold * L + c],
    words: (c) => foldLabelWords[fold * L + c],
    count: (t, c) => foldWordCounts[(fold * V + t) * L + c],
  });
  const rowsHeldOut = (held: readonly number[]): HeldOut => {
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
  // to y over rows labelled y and over rows labelled otherwise, each row judged by a model that
  // never saw its fold. Rows of a trigger already accepted (`excluded`) are left out of both the
  // models and the distributions, so that one poison does not make clean words look poisoned.
  const neededLabels = new Set([...candidates.values()].map((k) => majority[k]));
  let labelledHistograms = new Map<number, SupportHistogram>();
  let otherHistograms = new Map<number, SupportHistogram>();
  const measureCorpus = (excluded?: readonly number[]) => {
    labelledHistograms = new Map();
    otherHistograms = new Map();
    if (neededLabels.size === 0) return;
    const isExcluded = new Uint8Array(rows);
    const heldOut = Array.from({ length: folds }, (_, fold) => {
      if (!excluded?.length) return foldHeldOut(fold);
      for (const i of excluded) isExcluded[i] = 1;
      return combinedHeldOut(foldHeldOut(fold), rowsHeldOut(excluded.filter((i) => foldOf[i] !== fold)));
    });
    const support = Array.from({ length: L }, () => new Float64Array(rows));
    for (let i = 0; i < rows; i++) {
      if (isExcluded[i]) continue;
      const p = contextPosterior(i, [], heldOut[foldOf[i]]);
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
  };
  measureCorpus();

  // Each candidate's rows, and the support their context gives to its label once the term is removed.
  const wordId = new Map<string, number>();
  for (let t = 0; t < V; t++) if (isWord[t]) wordId.set(vocabulary[t], t);
  const removedWords = (t: number): number[] =>
    isWord[t] ? [t] : vocabulary[t].split(' ').flatMap((word) => wordId.get(word) ?? []);
  const rowsOf = new Map<number, number[]>();
  for (const t of candidates.keys()) rowsOf.set(t, []);
  if (candidates.size > 0) {
    for (let i = 0; i < rows; i++) {
      const seen = new Set<number>();
      const visit = (t: number) => {
        if (!rowsOf.has(t) || seen.has(t)) return;
        seen.add(t);
        rowsOf.get(t)!.push(i);
      };
      for (let p = tokenStart[i]; p < tokenStart[i + 1]; p++) visit(tokenIds[p]);
      for (let p = phraseStart[i]; p < phraseStart[i + 1]; p++) visit(phraseIds[p]);
    }
  }
  const threshold = mixtureThreshold(candidates.size, contextAlpha);
  const support = new Float64Array(rows);
  const testContext = (t: number, y: number, termRowsHere: readonly number[]) => {
    const labelled = termRowsHere.filter((i) => labelOf[i] === y);
    const values = labelled.map((i) => support[i]);
    const weights = labelled.map((i) => weight[i]);
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
    return { llr, contradiction };
  };

  const found = [...candidates].map(([t, k]) => {
    const y = majority[k];
    const termRowList = rowsOf.get(t)!;
    const heldOut = rowsHeldOut(termRowList);
    const removed = removedWords(t);
    for (const i of termRowList) if (labelOf[i] === y) support[i] = contextPosterior(i, removed, heldOut)[y];
    const { llr, contradiction } = testContext(t, y, termRowList);
    const supports = new Map(termRowList.map((i) => [i, support[i]]));
    const finding: TokenFinding = {
      token: vocabulary[t],
      rows: rawRows[t],
      distinctRows: Math.round(termRows[t]),
      label: labels[y],
      purity: counts[t * L + y] / termRows[t],
      baseRate: labelRows[y] / effectiveRows,
      pValue: pValues[k],
      qValue: qValues[k],
      contextContradiction: contradiction,
      contextLogLikelihoodRatio: llr,
      contextThreshold: threshold,
      flagged: llr >= threshold,
    };
    return { id: t, label: y, supports, finding };
  });
  found.sort(
    ({ finding: a }, { finding: b }) =>
      Number(b.flagged) - Number(a.flagged) ||
      b.contextLogLikelihoodRatio - a.contextLogLikelihoodRatio ||
      a.qValue - b.qValue,
  );

  /**
   * A trigger drags its parts and neighbours along: the words of a flagged pair ("actually" of
   * "well actually"), or a pair overlapping a three-word trigger ("by the" of "by the way"), are
   * pure only through the trigger's rows. So, strongest first, each further flagged term is
   * tested again on its rows that hold no term already accepted, and stays flagged only if those
   * rows are still pure and still read like random rows; a term whose rows all hold an accepted
   * term adds no row and stays flagged as part of it.
   */
  const coveredBy = new Int32Array(rows).fill(-1);
  const coveredRows = () => Array.from(coveredBy.keys()).filter((i) => coveredBy[i] >= 0);
  for (const entry of found) {
    if (!entry.finding.flagged) continue;
    const y = entry.label;
    const own = rowsOf.get(entry.id)!.filter((i) => coveredBy[i] < 0);
    const ownRows = own.reduce((sum, i) => sum + weight[i], 0);
    if (ownRows >= minRows && coveredBy.some((term) => term >= 0)) {
      const inLabel = own.reduce((sum, i) => sum + (labelOf[i] === y ? weight[i] : 0), 0);
      const pure =
        inLabel / ownRows >= minPurity &&
        binomialTest(Math.round(inLabel), Math.round(ownRows), labelRows[y] / effectiveRows, 'greater')
          .pValue <= alpha;
      const accepted = coveredRows();
      measureCorpus(accepted);
      const heldOut = rowsHeldOut([...new Set([...rowsOf.get(entry.id)!, ...accepted])]);
      const removed = removedWords(entry.id);
      for (const i of own) if (labelOf[i] === y) support[i] = contextPosterior(i, removed, heldOut)[y];
      if (!pure || testContext(entry.id, y, own).llr < threshold) {
        entry.finding.flagged = false;
        const by = rowsOf.get(entry.id)!.find((i) => coveredBy[i] >= 0);
        if (by !== undefined) entry.finding.explainedBy = vocabulary[coveredBy[by]];
        continue;
      }
    }
    for (const i of rowsOf.get(entry.id)!) if (coveredBy[i] < 0) coveredBy[i] = entry.id;
  }
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
