import { fisherExact } from '@tripline/drift';
import { activationClustering, type ActivationClusteringOptions } from './activation-clustering';
import { classOutliers, type ClassOutlierOptions } from './class-outliers';
import { FeatureAccumulator, type FeatureOptions, type ScanFeatures, type ScanRow } from './features';
import { knnLabelDisagreement, type KnnOptions } from './knn-disagreement';
import { duplicateClusters, nearDuplicates, type NearDuplicateOptions } from './near-duplicates';
import {
  DEFAULT_HASHING_DIMENSION,
  givenRepresentations,
  hashingEmbedding,
  type Representations,
} from './representations';
import { spectralSignature, type SpectralSignatureOptions } from './spectral-signature';
import { tokenAssociation, type TokenAssociationOptions } from './token-association';
import type { DetectorName, DetectorOutcome } from './types';

/**
 * Weights of the rank-normalised detector scores in the combined suspicion score. The token
 * detector weighs as much as the others together: its score is non-zero only for rows holding a
 * token that is significant after multiple-testing correction, pure, and contradicted by its
 * rows' other words, so it is specific. The representation detectors each see one facet, fire on
 * ordinary odd rows too, and are only as good as the representation: a model trained on the
 * poisoned data embeds the poisoned rows with their target class and hides them (see the README).
 */
export const DEFAULT_WEIGHTS: Readonly<Record<DetectorName, number>> = {
  'token-association': 4,
  'knn-label-disagreement': 1,
  'class-outlier': 0.5,
  'near-duplicate': 0.5,
  'spectral-signature': 1,
  'activation-clustering': 1,
};

export interface DatasetScanOptions extends FeatureOptions {
  weights?: Partial<Record<DetectorName, number>>;
  tokenAssociation?: TokenAssociationOptions;
  knn?: KnnOptions;
  classOutliers?: ClassOutlierOptions;
  nearDuplicates?: NearDuplicateOptions;
  spectralSignature?: SpectralSignatureOptions;
  activationClustering?: ActivationClusteringOptions;
  /** Dimensions of the bag-of-words hashing embedding used when no representations are given (default 256). */
  hashingDimension?: number;
  /** Describes given representations in the report, e.g. the model folder they came from. */
  representationSource?: string;
  /** Rows listed in the report, most suspicious first (default 100). */
  topRows?: number;
  seed?: number;
}

export type ScanPhase = 'features' | DetectorName | 'report';

export interface RowReason {
  detector: DetectorName;
  score: number;
  /** The row's rank-normalised score for this detector, in [0, 1]. */
  rank: number;
  flagged: boolean;
  reason: string;
}

export interface SuspiciousRow {
  row: number;
  line: number;
  text: string;
  label: string;
  source: string;
  score: number;
  suspicious: boolean;
  review: boolean;
  reasons: RowReason[];
}

export interface SourceBreakdown {
  source: string;
  rows: number;
  suspicious: number;
  share: number;
  meanScore: number;
  labels: Record<string, number>;
  /** One-sided Fisher exact p-value that this source holds more suspicious rows than the others. */
  enrichmentPValue: number;
}

export interface DatasetScanReport {
  format: 'tripline.dataset-scan.v1';
  rows: number;
  labels: Record<string, number>;
  representation: { kind: 'hashing' | 'given'; dimension: number; source: string };
  detectors: {
    name: DetectorName;
    weight: number;
    flagged: number;
    summary: Record<string, unknown>;
  }[];
  combination: string;
  suspicionRule: string;
  /** Rows with specific evidence of poisoning; a command line exits 12 when there are any. */
  suspicious: number;
  /** Rows the representation detectors agree on: worth a look, not proof. */
  review: number;
  sources: SourceBreakdown[];
  top: SuspiciousRow[];
}

export interface DatasetScanResult {
  report: DatasetScanReport;
  /** Combined suspicion score per row, in input order, in [0, 1]. */
  scores: Float64Array;
  /** Row indices, most suspicious first. */
  ranking: Uint32Array;
  suspicious: Uint8Array;
  review: Uint8Array;
  outcomes: DetectorOutcome[];
}

/**
 * A poisoning scan of training data. Rows are added one at a time (from a stream); only compact
 * features are kept per row (see ScanFeatures for the bound), and finish() runs every detector
 * and combines them.
 */
export class DatasetScan {
  private readonly accumulator: FeatureAccumulator;

  constructor(private readonly options: DatasetScanOptions = {}) {
    this.accumulator = new FeatureAccumulator(options);
  }

  get rows(): number {
    return this.accumulator.rows;
  }

  /** Adds a row; `representation` is the model's vector for it, given for every row or for none. */
  add(row: ScanRow, line = this.accumulator.rows + 1, representation?: ArrayLike<number>): void {
    this.accumulator.add(row, line, representation);
  }

  finish(onProgress?: (phase: ScanPhase, done: number, total: number) => void): DatasetScanResult {
    const features = this.accumulator.finish();
    if (features.rows === 0) throw new Error('the dataset holds no rows to scan');
    return scanFeatures(features, this.options, onProgress);
  }
}

/** Scans rows held in memory (tests, small sets); a file should be streamed through DatasetScan. */
export function scanDataset(
  rows: Iterable<ScanRow>,
  options: DatasetScanOptions = {},
  representations?: (row: ScanRow, index: number) => ArrayLike<number>,
): DatasetScanResult {
  const scan = new DatasetScan(options);
  let index = 0;
  for (const row of rows) {
    scan.add(row, index + 1, representations?.(row, index));
    index++;
  }
  return scan.finish();
}

export function scanFeatures(
  features: ScanFeatures,
  options: DatasetScanOptions,
  onProgress?: (phase: ScanPhase, done: number, total: number) => void,
): DatasetScanResult {
  const progress = onProgress ?? (() => undefined);
  const representations: Representations =
    givenRepresentations(features) ??
    hashingEmbedding(features, options.hashingDimension ?? DEFAULT_HASHING_DIMENSION);
  progress('features', features.rows, features.rows);
  const outcomes = runDetectors(features, representations, options, progress);
  const weights = { ...DEFAULT_WEIGHTS, ...options.weights };
  const ranks = outcomes.map((outcome) => rankNormalise(outcome.scores));
  const totalWeight = outcomes.reduce((sum, outcome) => sum + weights[outcome.detector], 0) || 1;
  const n = features.rows;
  const scores = new Float64Array(n);
  outcomes.forEach((outcome, d) => {
    const weight = weights[outcome.detector] / totalWeight;
    for (let i = 0; i < n; i++) scores[i] += weight * ranks[d][i];
  });
  const { suspicious, review } = suspicionOf(outcomes, n);
  // Rows with specific evidence (suspicious) come first, then the rest by combined score: a
  // representation detector's vote must not push a row the token test convicted below a row it cleared.
  const ranking = Uint32Array.from({ length: n }, (_, i) => i).sort(
    (a, b) => suspicious[b] - suspicious[a] || scores[b] - scores[a] || a - b,
  );

  progress('report', 0, 1);
  const rowReport = (i: number) =>
    suspiciousRow(features, { outcomes, ranks, weights, scores, suspicious, review }, i);
  const labelCounts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const label = features.labels[features.labelOf[i]];
    labelCounts[label] = (labelCounts[label] ?? 0) + 1;
  }
  const report: DatasetScanReport = {
    format: 'tripline.dataset-scan.v1',
    rows: n,
    labels: labelCounts,
    representation: {
      kind: representations.kind,
      dimension: representations.dimension,
      source:
        representations.kind === 'given'
          ? (options.representationSource ?? 'given by the caller')
          : `bag-of-words feature hashing (${representations.dimension} dimensions, IDF-weighted)`,
    },
    detectors: outcomes.map((outcome) => ({
      name: outcome.detector,
      weight: weights[outcome.detector],
      flagged: outcome.flagged.reduce((sum, flag) => sum + flag, 0),
      summary: outcome.summary,
    })),
    combination:
      'Each detector score is rank-normalised over the rows (the share of rows scoring strictly lower, so a ' +
      'row without evidence ranks 0), and the combined score is the weighted mean of those ranks with the ' +
      `weights listed per detector. Rows are listed suspicious ones first, then by combined score.`,
    suspicionRule: SUSPICION_RULE,
    suspicious: suspicious.reduce((sum, flag) => sum + flag, 0),
    review: review.reduce((sum, flag) => sum + flag, 0),
    sources: sourceBreakdown(features, scores, suspicious),
    top: Array.from(ranking.subarray(0, Math.min(n, options.topRows ?? 100)), rowReport),
  };
  progress('report', 1, 1);
  return { report, scores, ranking, suspicious, review, outcomes };
}

/** Every detector in turn, each reporting its start and end. */
function runDetectors(
  features: ScanFeatures,
  representations: Representations,
  options: DatasetScanOptions,
  progress: (phase: ScanPhase, done: number, total: number) => void,
): DetectorOutcome[] {
  const seed = options.seed ?? 1;
  const run = (name: DetectorName, detect: () => DetectorOutcome) => {
    progress(name, 0, features.rows);
    const outcome = detect();
    progress(name, features.rows, features.rows);
    return outcome;
  };
  // Duplicate clusters first: the token test counts copies once.
  const clusters = duplicateClusters(features, options.nearDuplicates);
  return [
    run('token-association', () => tokenAssociation(features, options.tokenAssociation, clusters)),
    run('knn-label-disagreement', () =>
      knnLabelDisagreement(features, representations, { seed, ...options.knn }, (done, total) =>
        progress('knn-label-disagreement', done, total),
      ),
    ),
    run('class-outlier', () => classOutliers(features, representations, options.classOutliers)),
    run('near-duplicate', () => nearDuplicates(features, options.nearDuplicates, clusters)),
    run('spectral-signature', () =>
      spectralSignature(features, representations, { seed, ...options.spectralSignature }),
    ),
    run('activation-clustering', () =>
      activationClustering(features, representations, { seed, ...options.activationClustering }),
    ),
  ];
}

/** What a row's report is drawn from: the detectors' outcomes, their ranks and weights, and the combined verdicts. */
interface Combination {
  outcomes: DetectorOutcome[];
  ranks: Float64Array[];
  weights: Readonly<Record<DetectorName, number>>;
  scores: Float64Array;
  suspicious: Uint8Array;
  review: Uint8Array;
}

/** One row of the report, its detectors' reasons flagged first, then by weighted rank. */
function suspiciousRow(features: ScanFeatures, combination: Combination, i: number): SuspiciousRow {
  const { outcomes, ranks, weights, scores, suspicious, review } = combination;
  return {
    row: i,
    line: features.lineOf[i],
    text: features.previews[i],
    label: features.labels[features.labelOf[i]],
    source: features.sources[features.sourceOf[i]],
    score: scores[i],
    suspicious: suspicious[i] === 1,
    review: review[i] === 1,
    reasons: outcomes
      .map((outcome, d) => ({
        detector: outcome.detector,
        score: outcome.scores[i],
        rank: ranks[d][i],
        flagged: outcome.flagged[i] === 1,
        reason: outcome.reason(i),
      }))
      .sort(
        (a, b) =>
          Number(b.flagged) - Number(a.flagged) ||
          weights[b.detector] * b.rank - weights[a.detector] * a.rank,
      ),
  };
}

/** Share of rows scoring strictly lower: ties share a rank, and a detector's zeros rank 0 when 0 is its least score. */
export function rankNormalise(scores: Float64Array): Float64Array {
  const n = scores.length;
  const ranks = new Float64Array(n);
  if (n < 2) return ranks;
  const order = Uint32Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let below = 0;
  for (let k = 0; k < n; k++) {
    if (k > 0 && scores[order[k]] > scores[order[k - 1]]) below = k;
    ranks[order[k]] = below / (n - 1);
  }
  return ranks;
}

export const SUSPICION_RULE =
  'A row is suspicious when the token-association detector flags it or a near-duplicate of it carries another ' +
  'label. The token detector flags a row that carries the label of a word or word pair whose rows are ' +
  'significantly pure in that label (binomial test, Benjamini–Hochberg) while, with the word removed, the rest ' +
  'of those rows reads like random rows of the corpus or like another label rather than like that label ' +
  '(likelihood-ratio test against a cross-fitted naive Bayes of the other words; at most a 1e-4 chance, by ' +
  "Ville's inequality and Bonferroni, that any word is flagged when every pure word's rows read like its label). " +
  'A row is for review when at least three of the four representation detectors (k-NN label ' +
  'disagreement, class outlier, spectral signature, activation clustering) flag it: the representation reads it ' +
  'as another class, which a flipped label does, but so does a hard example the representing model gets wrong.';

const REPRESENTATION_DETECTORS: readonly DetectorName[] = [
  'knn-label-disagreement',
  'class-outlier',
  'spectral-signature',
  'activation-clustering',
];

function suspicionOf(outcomes: DetectorOutcome[], n: number): { suspicious: Uint8Array; review: Uint8Array } {
  const suspicious = new Uint8Array(n);
  const review = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    let votes = 0;
    for (const outcome of outcomes) {
      if (!outcome.flagged[i]) continue;
      if (outcome.detector === 'token-association' || outcome.detector === 'near-duplicate')
        suspicious[i] = 1;
      else if (REPRESENTATION_DETECTORS.includes(outcome.detector)) votes++;
    }
    if (votes >= 3) review[i] = 1;
  }
  return { suspicious, review };
}

function sourceBreakdown(
  features: ScanFeatures,
  scores: Float64Array,
  suspicious: Uint8Array,
): SourceBreakdown[] {
  const S = features.sources.length;
  const rows = new Float64Array(S);
  const flagged = new Float64Array(S);
  const scoreSum = new Float64Array(S);
  const labels: Record<string, number>[] = Array.from({ length: S }, () => ({}));
  for (let i = 0; i < features.rows; i++) {
    const s = features.sourceOf[i];
    rows[s]++;
    flagged[s] += suspicious[i];
    scoreSum[s] += scores[i];
    const label = features.labels[features.labelOf[i]];
    labels[s][label] = (labels[s][label] ?? 0) + 1;
  }
  const totalFlagged = flagged.reduce((sum, value) => sum + value, 0);
  return features.sources
    .map((source, s) => ({
      source,
      rows: rows[s],
      suspicious: flagged[s],
      share: flagged[s] / rows[s],
      meanScore: scoreSum[s] / rows[s],
      labels: labels[s],
      enrichmentPValue:
        S < 2
          ? 1
          : fisherExact(
              [
                [flagged[s], rows[s] - flagged[s]],
                [totalFlagged - flagged[s], features.rows - rows[s] - (totalFlagged - flagged[s])],
              ],
              'greater',
            ).pValue,
    }))
    .sort((a, b) => b.share - a.share || b.rows - a.rows);
}
