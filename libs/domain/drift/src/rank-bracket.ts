import { selectRanks } from './numeric';

/**
 * Exact order statistics of many values without sorting or partitioning them all: the quantiles
 * of a sample bracket the wanted ranks, one pass counts the values below the bracket and keeps
 * those inside it (a few per cent), and the ranks are selected among the kept ones. The pass has
 * no branch on the comparisons with the bracket (a quickselect partition mispredicts about half of
 * its branches on values in no order), and the values may be produced during the pass rather than
 * stored (mmdTest's N²/2 pairwise distances). Should the bracket miss a rank (the sample was far
 * off), a four times wider one is tried; the last one is unbounded, so the answer is always exact.
 */

/** Samples smaller than this give brackets too wide to be worth a pass: keep every value instead. */
const MIN_SAMPLE = 256;
/** Largest sample worth drawing: its median's rank is within 0.3 % (one standard deviation). */
export const MAX_BRACKET_SAMPLE = 1 << 15;

/** The sample size for `count` values: about count/16, a power of two, or 0 for keeping them all. */
export function bracketSampleSize(count: number): number {
  const size = Math.min(MAX_BRACKET_SAMPLE, 2 ** Math.floor(Math.log2(Math.max(1, count / 16))));
  return size >= MIN_SAMPLE ? size : 0;
}

/** Counts the values fed to it below [lo, hi] and keeps those inside. */
export class BracketCounter {
  below = 0;
  inside = 0;
  kept: Float64Array;

  constructor(
    readonly lo: number,
    readonly hi: number,
    capacity: number,
  ) {
    this.kept = new Float64Array(Math.max(16, Math.ceil(capacity)));
  }

  /** Feeds values[from..to). */
  add(values: Float64Array, from: number, to: number): void {
    const { lo, hi } = this;
    let below = 0;
    for (let j = from; j < to; j++) {
      const value = values[j];
      below += +(value < lo);
      if ((+(value >= lo) & +(value <= hi)) !== 0) this.keep(value);
    }
    this.below += below;
  }

  private keep(value: number): void {
    if (this.inside === this.kept.length) {
      const grown = new Float64Array(2 * this.kept.length);
      grown.set(this.kept);
      this.kept = grown;
    }
    this.kept[this.inside++] = value;
  }
}

/**
 * The values of `ranks` (ascending, from 0) among `count` values, exactly. `sample` is a sorted
 * sample of the values (empty: keep them all); `pass` feeds every value to the counter once.
 */
export function selectByBracket(
  count: number,
  ranks: number[],
  sample: Float64Array,
  pass: (counter: BracketCounter) => void,
): number[] {
  const size = sample.length;
  const position = (quantile: number) => Math.round(quantile * size);
  // Six standard deviations of the sample quantile's rank (at most 0.5/√size) on each side.
  for (let spread = 3 / Math.sqrt(size); ; spread *= 4) {
    const low = position(ranks[0] / count - spread);
    const high = position(ranks[ranks.length - 1] / count + spread);
    const lo = size > 0 && low > 0 ? sample[low] : -Infinity;
    const hi = size > 0 && high < size ? sample[high] : Infinity;
    const capacity = size > 0 ? Math.min(count, 1.25 * (high - low) * (count / size)) : count;
    const counter = new BracketCounter(lo, hi, capacity);
    pass(counter);
    const { below, inside, kept } = counter;
    if (ranks[0] < below || ranks[ranks.length - 1] >= below + inside) continue;
    const local = ranks.map((rank) => rank - below);
    const values = kept.subarray(0, inside);
    selectRanks(values, local);
    return local.map((rank) => values[rank]);
  }
}
