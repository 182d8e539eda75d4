import type { Sample } from './types';

/** Copies a sample into a Float64Array, rejecting empty input and non-finite values. */
export function toFloat64(sample: Sample, name: string): Float64Array {
  const length = sample.length;
  if (length === 0) throw new RangeError(`${name} must not be empty`);
  const copy = new Float64Array(length);
  for (let i = 0; i < length; i++) {
    const value = sample[i];
    if (!Number.isFinite(value)) throw new RangeError(`${name}[${i}] is not a finite number: ${value}`);
    copy[i] = value;
  }
  return copy;
}

/** A sorted Float64Array copy of the sample (TypedArray#sort without a comparator sorts numerically). */
export function toSortedFloat64(sample: Sample, name: string): Float64Array {
  return toFloat64(sample, name).sort();
}

const PAIRWISE_BLOCK = 128;

/**
 * NumPy's pairwise summation (`np.sum` on a contiguous float64 array), reproduced operation for
 * operation so that sums of mixed-sign terms round exactly as the SciPy reference does.
 */
export function pairwiseSum(values: Float64Array, start = 0, length = values.length - start): number {
  if (length < 8) {
    let sum = 0;
    for (let i = 0; i < length; i++) sum += values[start + i];
    return sum;
  }
  if (length <= PAIRWISE_BLOCK) {
    let r0 = values[start];
    let r1 = values[start + 1];
    let r2 = values[start + 2];
    let r3 = values[start + 3];
    let r4 = values[start + 4];
    let r5 = values[start + 5];
    let r6 = values[start + 6];
    let r7 = values[start + 7];
    const blocked = length - (length % 8);
    let i = 8;
    for (; i < blocked; i += 8) {
      r0 += values[start + i];
      r1 += values[start + i + 1];
      r2 += values[start + i + 2];
      r3 += values[start + i + 3];
      r4 += values[start + i + 4];
      r5 += values[start + i + 5];
      r6 += values[start + i + 6];
      r7 += values[start + i + 7];
    }
    let sum = r0 + r1 + (r2 + r3) + (r4 + r5 + (r6 + r7));
    for (; i < length; i++) sum += values[start + i];
    return sum;
  }
  let half = Math.floor(length / 2);
  half -= half % 8;
  return pairwiseSum(values, start, half) + pairwiseSum(values, start + half, length - half);
}

/** Round half to even, as `np.round` does. */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const fraction = x - floor;
  if (fraction < 0.5) return floor;
  if (fraction > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

export function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Validates a vector of non-negative finite weights or frequencies with a positive total. */
export function nonNegativeVector(values: Sample, name: string): Float64Array {
  const copy = toFloat64(values, name);
  for (let i = 0; i < copy.length; i++) {
    if (copy[i] < 0) throw new RangeError(`${name}[${i}] must not be negative`);
  }
  return copy;
}

/** Divides a non-negative vector by its (pairwise) sum in place, as `p / np.sum(p)`. */
export function normalise(values: Float64Array, name: string): Float64Array {
  const total = pairwiseSum(values);
  if (!(total > 0)) throw new RangeError(`${name} must have a positive sum`);
  for (let i = 0; i < values.length; i++) values[i] /= total;
  return values;
}

/** x · 2^exponent without the intermediate overflow or underflow of `x * 2 ** exponent`. */
export function ldexp(x: number, exponent: number): number {
  while (exponent > 1000) {
    x *= 2 ** 1000;
    exponent -= 1000;
  }
  while (exponent < -1000) {
    x *= 2 ** -1000;
    exponent += 1000;
  }
  return x * 2 ** exponent;
}

/**
 * SciPy's search for the first index where a monotone sequence crosses a threshold; `compare(x)`
 * is the sign of a(x) - d. Returns i with a(i) ≤ d < a(i+1).
 */
export function binarySearch(compare: (x: number) => number, lo: number, hi: number): number {
  while (lo < hi) {
    const mid = lo + Math.floor((hi - lo) / 2);
    const sign = compare(mid);
    if (sign < 0) lo = mid + 1;
    else if (sign > 0) hi = mid - 1;
    else return mid;
  }
  return compare(lo) <= 0 ? lo : lo - 1;
}

/**
 * Partially orders `values` in place so that values[k] is the k-th smallest for every k in `ranks`
 * (quickselect on all ranks at once: O(n log r) expected instead of a full O(n log n) sort). A
 * range that keeps partitioning badly is sorted outright, which bounds the worst case.
 */
export function selectRanks(values: Float64Array, ranks: ArrayLike<number>): void {
  const wanted = Float64Array.from(ranks).sort();
  const depthLimit = 2 * Math.ceil(Math.log2(values.length + 1)) + 8;
  const stack: [number, number, number, number, number][] = [[0, values.length - 1, 0, wanted.length, 0]];
  while (stack.length > 0) {
    const [lo, hi, first, end, depth] = stack.pop()!;
    if (first >= end || lo >= hi) continue;
    if (depth > depthLimit) {
      values.subarray(lo, hi + 1).sort();
      continue;
    }
    const pivot = medianOfThree(values[lo], values[(lo + hi) >>> 1], values[hi]);
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (values[i] < pivot) i++;
      while (values[j] > pivot) j--;
      if (i <= j) {
        const swap = values[i];
        values[i] = values[j];
        values[j] = swap;
        i++;
        j--;
      }
    }
    // Now values[lo..j] ≤ pivot, values[j+1..i-1] = pivot, values[i..hi] ≥ pivot.
    let split = first;
    while (split < end && wanted[split] <= j) split++;
    let right = split;
    while (right < end && wanted[right] < i) right++;
    stack.push([lo, j, first, split, depth + 1], [i, hi, right, end, depth + 1]);
  }
}

function medianOfThree(a: number, b: number, c: number): number {
  return a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
}
