import { benjaminiHochberg, binomialTest } from '@tripline/drift';
import { ContextModel, corpusSupport, type CorpusSupport } from './context-model';
import { mixtureThreshold, randomRowMixtureLogLikelihoodRatio } from './context-test';
import type { ScanFeatures } from './features';
import { countTerms, type TermCounts } from './term-counts';
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
  const settings: TokenSettings = {
    minRows: options.minRows ?? 5,
    maxRowShare: options.maxRowShare ?? 0.1,
    minPurity: options.minPurity ?? 0.9,
    alpha: options.alpha ?? 0.001,
    contextAlpha: options.contextAlpha ?? 1e-4,
    folds: Math.max(2, options.folds ?? 5),
  };
  const counts = countTerms(features, settings.folds, clusters);
  const purity = purityTest(features, counts, settings);
  const judge = new ContextJudge(features, counts, purity, settings.contextAlpha);
  const found = judge.findings();
  found.sort(byStrength);
  judge.review(found, settings);
  found.sort(byStrength);
  return flagRows(features, found, purity, settings);
}

type TokenSettings = Required<TokenAssociationOptions>;

/** The purity test's family: every tested term, its majority label and p-value, and the pure ones. */
interface PurityTest {
  tested: number[];
  majority: number[];
  pValues: number[];
  qValues: number[];
  /** Pure terms (q ≤ alpha and purity ≥ minPurity): term id → its index in `tested`. */
  candidates: Map<number, number>;
}

/** A pure term with the verdict of its context test. */
interface Candidate {
  id: number;
  label: number;
  supports: Map<number, number>;
  finding: TokenFinding;
}

const byStrength = ({ finding: a }: Candidate, { finding: b }: Candidate) =>
  Number(b.flagged) - Number(a.flagged) ||
  b.contextLogLikelihoodRatio - a.contextLogLikelihoodRatio ||
  a.qValue - b.qValue;

/** Per rare term: is its label purer than the label's base rate? (exact binomial, Benjamini–Hochberg). */
function purityTest(features: ScanFeatures, counts: TermCounts, settings: TokenSettings): PurityTest {
  const { minRows, maxRowShare, minPurity, alpha } = settings;
  const { termRows, effectiveRows, labelRows } = counts;
  const L = features.labels.length;
  const V = features.vocabulary.length;
  const tested: number[] = [];
  const majority: number[] = [];
  const pValues: number[] = [];
  if (L >= 2) {
    for (let t = 0; t < V; t++) {
      const n = Math.round(termRows[t]);
      if (n < minRows || termRows[t] > maxRowShare * effectiveRows) continue;
      let best = 0;
      for (let c = 1; c < L; c++) if (counts.counts[t * L + c] > counts.counts[t * L + best]) best = c;
      tested.push(t);
      majority.push(best);
      const k = Math.min(n, Math.round(counts.counts[t * L + best]));
      pValues.push(binomialTest(k, n, labelRows[best] / effectiveRows, 'greater').pValue);
    }
  }
  const qValues = benjaminiHochberg(pValues);
  const candidates = new Map<number, number>();
  tested.forEach((t, k) => {
    const purity = counts.counts[t * L + majority[k]] / termRows[t];
    if (qValues[k] <= alpha && purity >= minPurity) candidates.set(t, k);
  });
  return { tested, majority, pValues, qValues, candidates };
}

/**
 * The context test of the pure terms: does the rest of a term's rows read like its label, or like
 * random rows of the corpus? Holds the corpus's support distributions, re-measured without the
 * rows of triggers already accepted, and the support each term's rows give to its label.
 */
class ContextJudge {
  private readonly model: ContextModel;
  private readonly neededLabels: Set<number>;
  private corpus: CorpusSupport;
  private readonly rowsOf = new Map<number, number[]>();
  private readonly wordId = new Map<string, number>();
  private readonly threshold: number;
  private readonly support: Float64Array;

  constructor(
    private readonly features: ScanFeatures,
    private readonly counts: TermCounts,
    private readonly purity: PurityTest,
    contextAlpha: number,
  ) {
    const { candidates, majority } = purity;
    this.model = new ContextModel(features, counts);
    this.neededLabels = new Set([...candidates.values()].map((k) => majority[k]));
    this.corpus = corpusSupport(this.model, features, counts, this.neededLabels);
    const { rows, tokenStart, tokenIds, phraseStart, phraseIds, vocabulary } = features;
    for (let t = 0; t < vocabulary.length; t++) if (counts.isWord[t]) this.wordId.set(vocabulary[t], t);
    // Each candidate's rows, and the support their context gives to its label once the term is removed.
    const rowsOf = this.rowsOf;
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
    this.threshold = mixtureThreshold(candidates.size, contextAlpha);
    this.support = new Float64Array(rows);
  }

  /** The words a term's context is read without: the word itself, or both words of a pair. */
  private removedWords(t: number): number[] {
    const { vocabulary } = this.features;
    return this.counts.isWord[t]
      ? [t]
      : vocabulary[t].split(' ').flatMap((word) => this.wordId.get(word) ?? []);
  }

  /** The likelihood ratio of "random rows relabelled" for the given rows of a term that carry label y. */
  private testContext(y: number, termRowsHere: readonly number[]): { llr: number; contradiction: number } {
    const { labelOf } = this.features;
    const { weight, labelRows, effectiveRows } = this.counts;
    const support = this.support;
    const labelled = termRowsHere.filter((i) => labelOf[i] === y);
    const values = labelled.map((i) => support[i]);
    const weights = labelled.map((i) => weight[i]);
    const labelShare = labelRows[y] / effectiveRows;
    const llr = randomRowMixtureLogLikelihoodRatio(
      values,
      this.corpus.labelled.get(y)!,
      this.corpus.other.get(y)!,
      labelShare,
      weights,
    );
    const weighted = weights.reduce((sum, w) => sum + w, 0) || 1;
    const contradiction = values.reduce((sum, value, j) => sum + weights[j] * (1 - value), 0) / weighted;
    return { llr, contradiction };
  }

  /** Every pure term with its context tested on all its rows, the term's rows held out of the model. */
  findings(): Candidate[] {
    const { vocabulary, labels, labelOf } = this.features;
    const { rawRows, termRows, counts, labelRows, effectiveRows } = this.counts;
    const { candidates, majority, pValues, qValues } = this.purity;
    const L = labels.length;
    const { support, threshold } = this;
    return [...candidates].map(([t, k]) => {
      const y = majority[k];
      const termRowList = this.rowsOf.get(t)!;
      const heldOut = this.model.rowsHeldOut(termRowList);
      const removed = this.removedWords(t);
      for (const i of termRowList)
        if (labelOf[i] === y) support[i] = this.model.posterior(i, removed, heldOut)[y];
      const { llr, contradiction } = this.testContext(y, termRowList);
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
  }

  /**
   * A trigger drags its parts and neighbours along: the words of a flagged pair ("actually" of
   * "well actually"), or a pair overlapping a three-word trigger ("by the" of "by the way"), are
   * pure only through the trigger's rows. So, strongest first, each further flagged term is
   * tested again on its rows that hold no term already accepted, and stays flagged only if those
   * rows are still pure and still read like random rows; a term whose rows all hold an accepted
   * term adds no row and stays flagged as part of it.
   */
  review(found: readonly Candidate[], settings: TokenSettings): void {
    const { minRows, minPurity, alpha } = settings;
    const { rows, labelOf, vocabulary } = this.features;
    const { weight, labelRows, effectiveRows } = this.counts;
    const { rowsOf, support, threshold } = this;
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
        this.corpus = corpusSupport(this.model, this.features, this.counts, this.neededLabels, accepted);
        const heldOut = this.model.rowsHeldOut([...new Set([...rowsOf.get(entry.id)!, ...accepted])]);
        const removed = this.removedWords(entry.id);
        for (const i of own) if (labelOf[i] === y) support[i] = this.model.posterior(i, removed, heldOut)[y];
        if (!pure || this.testContext(y, own).llr < threshold) {
          entry.finding.flagged = false;
          const by = rowsOf.get(entry.id)!.find((i) => coveredBy[i] >= 0);
          if (by !== undefined) entry.finding.explainedBy = vocabulary[coveredBy[by]];
          continue;
        }
      }
      for (const i of rowsOf.get(entry.id)!) if (coveredBy[i] < 0) coveredBy[i] = entry.id;
    }
  }
}

/** Rows holding a flagged term and carrying its label, scored by the strongest such term's ratio. */
function flagRows(
  features: ScanFeatures,
  found: readonly Candidate[],
  purity: PurityTest,
  settings: TokenSettings,
): DetectorOutcome {
  const { rows, labels, labelOf, tokenStart, tokenIds, phraseStart, phraseIds } = features;
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
      tested: purity.tested.length,
      pure: purity.candidates.size,
      options: { ...settings },
      tokens: findings.slice(0, 100),
      flaggedTokens: findings.filter((finding) => finding.flagged).map((finding) => finding.token),
    },
  };
}
