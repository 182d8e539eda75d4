import { median } from '@tripline/drift';

/**
 * Bag-of-words TF-IDF retrieval over the knowledge base: a stand-in for the production retriever
 * that needs no model, so the scan runs offline and gives the same answer everywhere. It finds the
 * documents an attacker stuffed with the words of the questions they target (the PoisonedRAG
 * recipe: a document written to be retrieved for many queries); it does not see documents that
 * are close only in a dense embedding space.
 */

const STOP_WORDS = new Set(
  (
    'a an and are as at be been but by can could did do does for from had has have how i if in into is it its ' +
    'me my no not of on or our so such than that the their them then there these they this those to too us ' +
    'was we were what when where which who whom why will with would you your yours'
  ).split(' '),
);

/** Lower-case words of letters and digits (NFKC, so full-width letters fold), without stop words. */
export function tokenize(text: string): string[] {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((token) => token.length >= 2 && !STOP_WORDS.has(token));
}

type SparseVector = { terms: Int32Array; weights: Float64Array };

/**
 * Sublinear TF (1 + ln tf) times smoothed IDF (ln((1 + N) / (1 + df)) + 1), L2-normalised, over the
 * documents; queries are weighted with the documents' IDF and their unknown words dropped.
 */
export class TfIdfIndex {
  private readonly vocabulary = new Map<string, number>();
  private readonly idf: Float64Array;
  /** Per term, the documents holding it and their normalised weights. */
  private readonly postings: { documents: number[]; weights: number[] }[] = [];
  readonly size: number;

  constructor(texts: readonly string[]) {
    this.size = texts.length;
    const counted = texts.map((text) => {
      const counts = new Map<number, number>();
      for (const token of tokenize(text)) {
        let term = this.vocabulary.get(token);
        if (term === undefined) {
          term = this.vocabulary.size;
          this.vocabulary.set(token, term);
          this.postings.push({ documents: [], weights: [] });
        }
        counts.set(term, (counts.get(term) ?? 0) + 1);
      }
      return counts;
    });
    const documentFrequency = new Float64Array(this.vocabulary.size);
    for (const counts of counted) for (const term of counts.keys()) documentFrequency[term]++;
    this.idf = Float64Array.from(documentFrequency, (df) => Math.log((1 + this.size) / (1 + df)) + 1);
    counted.forEach((counts, document) => {
      const vector = this.weigh(counts);
      for (let i = 0; i < vector.terms.length; i++) {
        this.postings[vector.terms[i]].documents.push(document);
        this.postings[vector.terms[i]].weights.push(vector.weights[i]);
      }
    });
  }

  private weigh(counts: Map<number, number>): SparseVector {
    const terms = Int32Array.from(counts.keys());
    const weights = Float64Array.from(terms, (term) => (1 + Math.log(counts.get(term)!)) * this.idf[term]);
    let squares = 0;
    for (const weight of weights) squares += weight * weight;
    const norm = Math.sqrt(squares);
    if (norm > 0) for (let i = 0; i < weights.length; i++) weights[i] /= norm;
    return { terms, weights };
  }

  /** Cosine similarity of the query with every document (0 for documents sharing no word). */
  similarities(query: string): Float64Array {
    const counts = new Map<number, number>();
    for (const token of tokenize(query)) {
      const term = this.vocabulary.get(token);
      if (term !== undefined) counts.set(term, (counts.get(term) ?? 0) + 1);
    }
    const scores = new Float64Array(this.size);
    const vector = this.weigh(counts);
    for (let i = 0; i < vector.terms.length; i++) {
      const posting = this.postings[vector.terms[i]];
      for (let j = 0; j < posting.documents.length; j++)
        scores[posting.documents[j]] += vector.weights[i] * posting.weights[j];
    }
    return scores;
  }

  /** The k most similar documents with a similarity above zero, best first (ties: earlier document first). */
  topK(query: string, k: number): { document: number; similarity: number }[] {
    const scores = this.similarities(query);
    const ranked: { document: number; similarity: number }[] = [];
    for (let document = 0; document < scores.length; document++) {
      if (scores[document] > 0) ranked.push({ document, similarity: scores[document] });
    }
    ranked.sort((a, b) => b.similarity - a.similarity || a.document - b.document);
    return ranked.slice(0, k);
  }
}

export { median };

export interface RobustScale {
  median: number;
  /** 1.4826 × MAD, or 1.2533 × the mean absolute deviation where the MAD is zero; 0 when all values are equal. */
  scale: number;
  /** Which estimate the scale is. */
  estimator: 'mad' | 'mean-absolute-deviation' | 'none';
}

/**
 * The centre and spread a robust z-score uses: a few extreme documents cannot inflate the scale
 * they are measured against. When over half the documents share one value (most documents are in
 * no query's top-k, so the MAD is 0), the mean absolute deviation takes its place.
 */
export function robustScale(values: ArrayLike<number>): RobustScale {
  const centre = median(values);
  const deviations = Float64Array.from(values, (value) => Math.abs(value - centre));
  const mad = 1.4826 * median(deviations);
  if (mad > 0) return { median: centre, scale: mad, estimator: 'mad' };
  const mean = deviations.length ? deviations.reduce((sum, value) => sum + value, 0) / deviations.length : 0;
  const fallback = 1.2533 * mean;
  return fallback > 0
    ? { median: centre, scale: fallback, estimator: 'mean-absolute-deviation' }
    : { median: centre, scale: 0, estimator: 'none' };
}
