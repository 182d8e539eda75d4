import { Growable } from './growable';
import {
  minHashSignature,
  normaliseText,
  preview,
  shingleHashes,
  textBigrams,
  textDigest,
  textTokens,
} from './text';

/** One training or fine-tuning example. */
export interface ScanRow {
  text: string;
  label: string;
  /** Where the row came from (a vendor, a crawl, a team): the per-source breakdown groups by it. */
  source?: string;
}

export interface FeatureOptions {
  /** Distinct tokens kept per row (default 256); a longer text's later tokens are not scanned. */
  maxTokensPerRow?: number;
  /** MinHash functions per row (default 64). */
  minHashSize?: number;
  /** Characters of each row kept for the report (default 200). */
  previewLength?: number;
}

/** Source name of rows that carry none. */
export const NO_SOURCE = '(none)';

/**
 * The compact per-row features a scan keeps, in flat typed arrays. Per row that is 4 bytes per
 * distinct token (at most maxTokensPerRow), 4·minHashSize bytes of MinHash, 8 bytes of digest,
 * 10 bytes of label, source and line, a preview of at most previewLength characters, and 4 bytes
 * per representation dimension when representations are given. Nothing else of a row is kept.
 */
export interface ScanFeatures {
  rows: number;
  labels: string[];
  sources: string[];
  labelOf: Uint16Array;
  sourceOf: Uint32Array;
  lineOf: Uint32Array;
  /** Row i's token ids are tokenIds[tokenStart[i] .. tokenStart[i + 1]). */
  tokenStart: Uint32Array;
  tokenIds: Uint32Array;
  /** Row i's word pairs ("you know"), as ids into the same vocabulary: phraseIds[phraseStart[i] .. phraseStart[i + 1]). */
  phraseStart: Uint32Array;
  phraseIds: Uint32Array;
  vocabulary: string[];
  /** Two 32-bit halves per row: exact duplicates (after normalisation) share them. */
  digests: Uint32Array;
  minHashSize: number;
  minHashes: Uint32Array;
  previews: string[];
  /** rows × dimension, when the caller gave one representation per row (e.g. a model's hidden state). */
  representations?: { values: Float32Array; dimension: number };
}

/** Accumulates features row by row, so the rows themselves never need to be held. */
export class FeatureAccumulator {
  private readonly maxTokens: number;
  private readonly minHashSize: number;
  private readonly previewLength: number;
  private readonly labelIds = new Map<string, number>();
  private readonly sourceIds = new Map<string, number>();
  private readonly tokenIdsByText = new Map<string, number>();
  private readonly vocabulary: string[] = [];
  private readonly labelOf = new Growable(Uint16Array);
  private readonly sourceOf = new Growable(Uint32Array);
  private readonly lineOf = new Growable(Uint32Array);
  private readonly tokenStart = new Growable(Uint32Array);
  private readonly tokenIds = new Growable(Uint32Array, 16_384);
  private readonly phraseStart = new Growable(Uint32Array);
  private readonly phraseIds = new Growable(Uint32Array, 16_384);
  private readonly digests = new Growable(Uint32Array);
  private readonly minHashes = new Growable(Uint32Array, 65_536);
  private readonly representations = new Growable(Float32Array, 16_384);
  private readonly previews: string[] = [];
  private readonly signature: Uint32Array;
  private dimension: number | undefined;
  rows = 0;

  constructor(options: FeatureOptions = {}) {
    this.maxTokens = options.maxTokensPerRow ?? 256;
    this.minHashSize = options.minHashSize ?? 64;
    this.previewLength = options.previewLength ?? 200;
    this.signature = new Uint32Array(this.minHashSize);
    this.tokenStart.push(0);
    this.phraseStart.push(0);
  }

  /** Adds one row; `line` is where it sits in its file, for the report. */
  add(row: ScanRow, line: number, representation?: ArrayLike<number>): number {
    if (this.rows > 0 && (representation === undefined) !== (this.dimension === undefined))
      throw new Error(
        `row at line ${line}: every row needs a representation, or none does (the scan mixes them)`,
      );
    if (representation !== undefined) {
      this.dimension ??= representation.length;
      if (representation.length !== this.dimension)
        throw new Error(
          `row at line ${line}: representation has ${representation.length} dimensions, earlier rows ${this.dimension}`,
        );
      this.representations.pushAll(representation);
    }
    const label = idOf(this.labelIds, row.label);
    if (label > 0xffff) throw new Error(`row at line ${line}: more than 65,536 distinct labels`);
    this.labelOf.push(label);
    this.sourceOf.push(idOf(this.sourceIds, row.source?.trim() || NO_SOURCE));
    this.lineOf.push(line);
    for (const token of textTokens(row.text, this.maxTokens)) this.tokenIds.push(this.termId(token));
    this.tokenStart.push(this.tokenIds.length);
    for (const phrase of textBigrams(row.text, this.maxTokens)) this.phraseIds.push(this.termId(phrase));
    this.phraseStart.push(this.phraseIds.length);
    const normalised = normaliseText(row.text);
    this.digests.pushAll(textDigest(normalised));
    this.minHashes.pushAll(minHashSignature(shingleHashes(normalised), this.minHashSize, this.signature));
    this.previews.push(preview(row.text, this.previewLength));
    return this.rows++;
  }

  private termId(term: string): number {
    let id = this.tokenIdsByText.get(term);
    if (id === undefined) {
      id = this.vocabulary.push(term) - 1;
      this.tokenIdsByText.set(term, id);
    }
    return id;
  }

  finish(): ScanFeatures {
    const names = (ids: Map<string, number>) => [...ids.keys()];
    return {
      rows: this.rows,
      labels: names(this.labelIds),
      sources: names(this.sourceIds),
      labelOf: this.labelOf.view(),
      sourceOf: this.sourceOf.view(),
      lineOf: this.lineOf.view(),
      tokenStart: this.tokenStart.view(),
      tokenIds: this.tokenIds.view(),
      phraseStart: this.phraseStart.view(),
      phraseIds: this.phraseIds.view(),
      vocabulary: this.vocabulary,
      digests: this.digests.view(),
      minHashSize: this.minHashSize,
      minHashes: this.minHashes.view(),
      previews: this.previews,
      representations:
        this.dimension === undefined
          ? undefined
          : { values: this.representations.view(), dimension: this.dimension },
    };
  }
}

function idOf(ids: Map<string, number>, name: string): number {
  let id = ids.get(name);
  if (id === undefined) ids.set(name, (id = ids.size));
  return id;
}

/** Rows that hold each token (document frequency), by token id; word pairs count 0 here. */
export function documentFrequencies(features: ScanFeatures): Uint32Array {
  const frequencies = new Uint32Array(features.vocabulary.length);
  for (let i = 0; i < features.tokenIds.length; i++) frequencies[features.tokenIds[i]]++;
  return frequencies;
}
