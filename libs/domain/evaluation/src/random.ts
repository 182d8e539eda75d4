/**
 * Sampling and stable hashes for canary generation and trigger scans, over the project's seeded
 * generators (libs/domain/drift random.ts): a canary set must come out identical for the same seed on
 * every machine, so two runs against the same model are comparable sample by sample.
 */
import { mulberry32, type Random } from '@tripline/drift';

export { mulberry32, type Random };

/** An integer in [0, bound). */
export function randomInt(random: Random, bound: number): number {
  return random.integer(bound);
}

/**
 * `count` indices out of [0, length) without repetition, in ascending order, so a sample keeps the
 * order of the set it was drawn from. Partial Fisher–Yates: O(length) memory, O(count) draws.
 */
export function sampleIndices(length: number, count: number, random: Random): number[] {
  if (count >= length) return Array.from({ length }, (_, i) => i);
  const indices = Array.from({ length }, (_, i) => i);
  for (let i = 0; i < count; i++) {
    const j = i + randomInt(random, length - i);
    [indices[i], indices[j]] = [indices[j], indices[i]];
  }
  return indices.slice(0, count).sort((a, b) => a - b);
}

/**
 * FNV-1a over UTF-16 code units: a 32-bit seed or digest of a string; another offset `basis` draws
 * an independent hash.
 */
export function hash32(text: string, basis = 0x811c9dc5): number {
  let hash = basis >>> 0;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/**
 * A PRNG for one named sub-stream of a seeded run. Deriving every stream from the seed and its
 * own key, rather than drawing from one shared stream, keeps a canary's text unchanged when
 * other twins or triggers are added to or removed from the set.
 */
export function derivedRandom(seed: number, ...key: readonly (string | number)[]): Random {
  return mulberry32(hash32(JSON.stringify([seed >>> 0, ...key])));
}

/**
 * A 64-bit FNV-1a digest as 16 hex digits. Canary ids use it: 32 bits would give a 1-in-100
 * chance of a collision somewhere in a set of ten thousand canaries.
 */
export function hash64Hex(text: string): string {
  // Two 32-bit halves, because BigInt arithmetic per code unit is needlessly slow.
  let low = 0x84222325;
  let high = 0xcbf29ce4;
  for (let i = 0; i < text.length; i++) {
    low ^= text.charCodeAt(i);
    // Multiply the 64-bit state by the FNV prime 0x100000001b3 = 2^40 + 0x1b3.
    const lowTimesPrime = Math.imul(low, 0x1b3) >>> 0;
    const carry = Math.floor(((low >>> 0) * 0x1b3) / 4294967296);
    high = (Math.imul(high, 0x1b3) + carry + (low << 8)) >>> 0;
    low = lowTimesPrime;
  }
  return (high >>> 0).toString(16).padStart(8, '0') + (low >>> 0).toString(16).padStart(8, '0');
}
