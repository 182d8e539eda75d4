/**
 * Text features of one training row: its word tokens (what a trigger is made of), the normalised
 * text (what an exact duplicate shares) and character shingles (what a near-duplicate shares).
 */

import { hash32 } from '@tripline/evaluation';

// Letters, digits and marks, with inner apostrophes ("don't"): a trigger word stays one token.
const WORD = /[\p{L}\p{N}\p{M}]+(?:['’][\p{L}\p{N}\p{M}]+)*/gu;
// Zero-width and other format characters are a known trigger carrier; they are kept out of the
// normalised text (so duplicates still match) but counted as tokens of their own below.
const FORMAT_CHARACTERS = /[\u200b-\u200f\u2060-\u2064\ufeff\u00ad]/g;

/** NFKC, lower case, format characters dropped, whitespace collapsed. */
export function normaliseText(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(FORMAT_CHARACTERS, '').replace(/\s+/g, ' ').trim();
}

/**
 * The distinct word tokens of a text, in first-seen order. Invisible format characters become
 * tokens named by their code point ("<U+200B>"), so an invisible trigger can be found and shown.
 */
export function textTokens(text: string, limit = Infinity): string[] {
  const seen = new Set<string>();
  for (const match of text.matchAll(FORMAT_CHARACTERS)) {
    seen.add(`<U+${match[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}>`);
  }
  for (const match of normaliseText(text).matchAll(WORD)) {
    if (seen.size >= limit) break;
    seen.add(match[0]);
  }
  return [...seen].slice(0, limit);
}

/**
 * The distinct adjacent word pairs of a text ("you know"), in first-seen order: a trigger made of
 * common words is rare only as a phrase, so the token test needs the pairs as well as the words.
 */
export function textBigrams(text: string, limit = Infinity): string[] {
  const seen = new Set<string>();
  let previous: string | undefined;
  for (const match of normaliseText(text).matchAll(WORD)) {
    if (seen.size >= limit) break;
    if (previous !== undefined) seen.add(`${previous} ${match[0]}`);
    previous = match[0];
  }
  return [...seen];
}

/** A 64-bit digest (two independent FNV-1a halves) of the normalised text: exact duplicates share it. */
export function textDigest(normalised: string): [number, number] {
  return [hash32(normalised), hash32(normalised, 0x050c5d1f)];
}

/** murmur3's 32-bit finaliser: spreads a hash so that xor with different seeds gives independent hashes. */
export function mix32(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Hashes of the character n-grams of a normalised text. Character shingles rather than word
 * shingles, because training rows are often a single short sentence with too few words for word
 * n-grams to tell a near-copy from a different sentence.
 */
export function shingleHashes(normalised: string, size = 5): Uint32Array {
  if (normalised.length <= size) return Uint32Array.of(hash32(normalised));
  const hashes = new Uint32Array(normalised.length - size + 1);
  for (let i = 0; i < hashes.length; i++) hashes[i] = hash32(normalised.slice(i, i + size));
  return hashes;
}

/** MinHash signature: for each of `count` seeded hash functions, the least hash over the shingles. */
export function minHashSignature(
  shingles: Uint32Array,
  count: number,
  into: Uint32Array = new Uint32Array(count),
): Uint32Array {
  for (let k = 0; k < count; k++) {
    const seed = mix32(0x9e3779b9 + k * 0x7f4a7c15);
    let least = 0xffffffff;
    for (let i = 0; i < shingles.length; i++) {
      const h = mix32(shingles[i] ^ seed);
      if (h < least) least = h;
    }
    into[k] = least;
  }
  return into;
}

/** A shortened one-line view of a row for reports. */
export function preview(text: string, max = 200): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}
