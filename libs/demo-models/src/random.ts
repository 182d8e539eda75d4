/**
 * A seeded PRNG, so that the demo models (and the split and the poisoned rows behind them) come
 * out byte-identical on every machine. Math.random cannot be seeded.
 */
import { mulberry32, randomInt, type Random } from '@tripline/evaluation';

// The one seeded generator of the project (libs/evaluation); the helpers below are training's own.
export { mulberry32, randomInt, type Random };

/** Fisher–Yates on a copy. */
export function shuffled<T>(items: readonly T[], random: Random): T[] {
  const copy = items.slice();
  for (let i = copy.length - 1; i > 0; i--) {
    const j = randomInt(random, i + 1);
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}

/** Standard normal sample (Box–Muller); 1 - u keeps log away from zero. */
export function gaussian(random: Random): number {
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** FNV-1a over UTF-16 code units: a stable 32-bit seed derived from a string. */
export function hashString(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
