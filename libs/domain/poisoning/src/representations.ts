import { documentFrequencies, type ScanFeatures } from './features';
import { hash32 } from '@tripline/evaluation';

/** Unit-length row vectors, rows × dimension, row-major. */
export interface Representations {
  kind: 'hashing' | 'given';
  dimension: number;
  values: Float32Array;
}

export const DEFAULT_HASHING_DIMENSION = 256;

/**
 * A deterministic bag-of-words embedding for when no model is given: each token is hashed to one
 * of `dimension` coordinates with a hashed sign (feature hashing, Weinberger et al. 2009) and
 * weighted by its inverse document frequency, then the row is scaled to unit length. It needs no
 * weights and no download, and a rare token (what a trigger usually is) carries a large weight.
 * Sentence encoders (e.g. `@energetic-ai/embeddings`, Universal Sentence Encoder on TensorFlow.js)
 * would give semantic neighbours instead; they are an option, not a dependency, and a caller can
 * pass their vectors as representations.
 */
export function hashingEmbedding(
  features: ScanFeatures,
  dimension = DEFAULT_HASHING_DIMENSION,
): Representations {
  const { rows, tokenStart, tokenIds, vocabulary } = features;
  const df = documentFrequencies(features);
  const bucket = new Uint32Array(vocabulary.length);
  const weight = new Float32Array(vocabulary.length);
  for (let t = 0; t < vocabulary.length; t++) {
    const hash = hash32(vocabulary[t]);
    bucket[t] = hash % dimension;
    // The top bit picks the sign, so colliding tokens tend to cancel rather than add up.
    weight[t] = (hash & 0x80000000 ? -1 : 1) * (Math.log((rows + 1) / (df[t] + 1)) + 1);
  }
  const values = new Float32Array(rows * dimension);
  for (let i = 0; i < rows; i++) {
    const offset = i * dimension;
    for (let p = tokenStart[i]; p < tokenStart[i + 1]; p++)
      values[offset + bucket[tokenIds[p]]] += weight[tokenIds[p]];
  }
  normaliseRows(values, dimension);
  return { kind: 'hashing', dimension, values };
}

/** The caller's representations (e.g. a model's mean-pooled last_hidden_state), scaled to unit length. */
export function givenRepresentations(features: ScanFeatures): Representations | undefined {
  const given = features.representations;
  if (!given) return undefined;
  const values = Float32Array.from(given.values);
  normaliseRows(values, given.dimension);
  return { kind: 'given', dimension: given.dimension, values };
}

/** Scales every row to unit length; an all-zero row stays zero. */
export function normaliseRows(values: Float32Array, dimension: number): void {
  for (let offset = 0; offset < values.length; offset += dimension) {
    let norm = 0;
    for (let d = 0; d < dimension; d++) norm += values[offset + d] * values[offset + d];
    if (norm === 0) continue;
    const scale = 1 / Math.sqrt(norm);
    for (let d = 0; d < dimension; d++) values[offset + d] *= scale;
  }
}

export function dot(values: Float32Array, a: number, b: number, dimension: number): number {
  const x = a * dimension;
  const y = b * dimension;
  let sum = 0;
  for (let d = 0; d < dimension; d++) sum += values[x + d] * values[y + d];
  return sum;
}
