import { blockMmdTest, mmdTest } from '@tripline/drift';
import { insufficientData, resolveOptions, rounded, verdictOf } from './result';
import type { DetectorOptions, DetectorResult } from './types';

/** Rows of each window in the quadratic estimate (bandwidth and effect size): 2 × 500 rows, 125,000 kernel pairs × d. */
export const DEFAULT_EMBEDDING_QUADRATIC_ROWS = 500;
const BLOCK_SIZE = 50;
const METRIC = 'input_embedding';
const DETECTOR = 'mmd';

/** Relabellings of the permutation p-value: its floor 1 / 2001 lies below the stream's alpha of 0.001. */
export const DEFAULT_EMBEDDING_PERMUTATIONS = 2_000;

export interface EmbeddingDriftOptions extends DetectorOptions {
  /** Rows per window for the quadratic MMD that gives the bandwidth and the effect size (default 500). */
  quadraticRows?: number;
  /**
   * Where the p-value comes from: 'block' (default; the B-test over every row, for windows of up to
   * thousands of rows) or 'permutation' (the quadratic MMD over at most `quadraticRows` rows of
   * each window with `permutations` seeded relabellings): more power on the small samples an
   * encoder embeds per window, where 2 × 50-row blocks leave the block test too few blocks.
   */
  pValue?: 'block' | 'permutation';
  /** Relabellings for the permutation p-value (default 2,000). */
  permutations?: number;
  /** Where the vectors came from, for the report: the events' input.embedding, or an encoder. */
  source?: { kind: 'event' } | { kind: 'encoder'; encoder: string; texts?: number };
}

/**
 * Embedding drift: has the distribution of the inputs' embedding vectors (`input.embedding`)
 * changed? A kernel two-sample test with a Gaussian RBF kernel whose bandwidth is the median
 * pairwise distance (the median heuristic):
 * - the p-value comes from the block MMD (B-test, blocks of 50 rows) over every row read: time
 *   O(n·50·d), no kernel matrix, and a p-value that can reach the stream's small alpha, which a
 *   permutation p-value from a few hundred relabellings cannot (its floor is 1 / (permutations + 1));
 * - the effect size is √MMD² from the unbiased quadratic estimate on the first `quadraticRows`
 *   rows of each window (O(rows²·d)), which also fixes the bandwidth.
 * Rows whose dimension differs from the reference's first row are left out and counted: a model
 * that changes its encoder mid-stream shows up there, not as a crash.
 */
export function embeddingDrift(
  reference: readonly ArrayLike<number>[],
  current: readonly ArrayLike<number>[],
  options: EmbeddingDriftOptions = {},
): DetectorResult {
  const { minSamples, alpha } = resolveOptions(options);
  const dimension = reference[0]?.length ?? current[0]?.length ?? 0;
  const ref = reference.filter((row) => row.length === dimension);
  const cur = current.filter((row) => row.length === dimension);
  const mismatched = reference.length - ref.length + (current.length - cur.length);
  const sizes = { sample: cur.length, reference: ref.length };
  const permutation = options.pValue === 'permutation';
  const needed = permutation
    ? Math.max(Math.min(minSamples, options.quadraticRows ?? DEFAULT_EMBEDDING_QUADRATIC_ROWS), 20)
    : Math.max(minSamples, 2 * BLOCK_SIZE);
  const source = options.source ?? { kind: 'event' as const };
  const sourceDetails = embeddingSourceDetails(source);
  if (cur.length < needed || ref.length < needed) {
    return insufficientData(
      METRIC,
      DETECTOR,
      sizes,
      needed,
      source.kind === 'encoder' ? 'events with an input text' : 'events with an embedding',
      { dimension, other_dimension_rows: mismatched, ...sourceDetails },
    );
  }
  const windows: EmbeddingWindows = {
    ref,
    cur,
    alpha,
    dimension,
    mismatched,
    sourceDetails,
    quadraticRows: options.quadraticRows ?? DEFAULT_EMBEDDING_QUADRATIC_ROWS,
  };
  if (permutation)
    return permutationEmbeddingDrift(windows, options.permutations ?? DEFAULT_EMBEDDING_PERMUTATIONS);
  return blockEmbeddingDrift(windows);
}

/** The two windows with rows of another dimension set aside, and what every report of them carries. */
interface EmbeddingWindows {
  ref: readonly ArrayLike<number>[];
  cur: readonly ArrayLike<number>[];
  alpha: number;
  dimension: number;
  /** Rows left out of either window for a dimension other than the reference's first row's. */
  mismatched: number;
  sourceDetails: Record<string, unknown>;
  quadraticRows: number;
}

/** Where the vectors came from, as the report's details name it. */
function embeddingSourceDetails(
  source: NonNullable<EmbeddingDriftOptions['source']>,
): Record<string, unknown> {
  return source.kind === 'encoder'
    ? {
        embedded_by: 'encoder',
        encoder: source.encoder,
        ...(source.texts !== undefined ? { texts_embedded: source.texts } : {}),
      }
    : { embedded_by: 'event' };
}

/** The p-value from seeded relabellings of the quadratic MMD² over the first `quadraticRows` rows. */
function permutationEmbeddingDrift(windows: EmbeddingWindows, permutations: number): DetectorResult {
  const { ref, cur, alpha, dimension, mismatched, sourceDetails, quadraticRows } = windows;
  const test = mmdTest(ref.slice(0, quadraticRows), cur.slice(0, quadraticRows), { permutations });
  return {
    metric: METRIC,
    detector: DETECTOR,
    statistic: test.statistic,
    p_value: test.pValue,
    effect_size: test.effectSize,
    sample_size: Math.min(cur.length, quadraticRows),
    reference_size: Math.min(ref.length, quadraticRows),
    verdict: verdictOf(test.pValue, alpha),
    details: {
      alpha,
      effect: 'MMD (square root of the unbiased quadratic MMD²), RBF kernel, on [0, √2]',
      p_value_from: `quadratic MMD², ${test.permutations} seeded permutations (floor ${rounded(1 / (test.permutations + 1))})`,
      dimension,
      bandwidth: rounded(test.bandwidth),
      quadratic_rows: [Math.min(ref.length, quadraticRows), Math.min(cur.length, quadraticRows)],
      other_dimension_rows: mismatched,
      ...sourceDetails,
    },
  };
}

/**
 * The p-value from the block MMD over every row, with the bandwidth and the effect size from the
 * quadratic estimate on the first `quadraticRows` rows.
 */
function blockEmbeddingDrift(windows: EmbeddingWindows): DetectorResult {
  const { ref, cur, alpha, dimension, mismatched, sourceDetails, quadraticRows } = windows;
  const quadratic = mmdTest(ref.slice(0, quadraticRows), cur.slice(0, quadraticRows), { permutations: 0 });
  // Identical rows everywhere give a zero bandwidth; any positive one then yields MMD² = 0.
  const bandwidth = quadratic.bandwidth > 0 ? quadratic.bandwidth : 1;
  const block = blockMmdTest(ref, cur, { bandwidth, blockSize: BLOCK_SIZE });
  return {
    metric: METRIC,
    detector: DETECTOR,
    statistic: block.statistic,
    p_value: block.pValue,
    effect_size: quadratic.effectSize,
    sample_size: cur.length,
    reference_size: ref.length,
    verdict: verdictOf(block.pValue, alpha),
    details: {
      alpha,
      effect: 'MMD (square root of the unbiased quadratic MMD²), RBF kernel, on [0, √2]',
      p_value_from: 'block MMD² (B-test), normal approximation',
      dimension,
      bandwidth: rounded(bandwidth),
      blocks: block.blocks,
      block_size: block.blockSize,
      block_standard_error: rounded(block.standardError),
      quadratic_rows: [Math.min(ref.length, quadraticRows), Math.min(cur.length, quadraticRows)],
      quadratic_mmd2: rounded(quadratic.statistic),
      other_dimension_rows: mismatched,
      ...sourceDetails,
    },
  };
}
