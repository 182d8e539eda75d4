/**
 * A seeded PRNG, so that the demo models (and the split and the poisoned rows behind them) come
 * out byte-identical on every machine. Math.random cannot be seeded.
 */
import { mulberry32, randomInt, type Random } from '@tripline/evaluation';

// The project's seeded generators (libs/domain/drift random.ts, through libs/domain/evaluation); shuffling is training's own.
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
