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

/** The sample itself when it is a Float64Array (validated, not copied), else a validated copy. */
export function asFloat64(sample: Sample, name: string): Float64Array {
  if (!(sample instanceof Float64Array)) return toFloat64(sample, name);
  if (sample.length === 0) throw new RangeError(`${name} must not be empty`);
  for (let i = 0; i < sample.length; i++) {
    if (!Number.isFinite(sample[i]))
      throw new RangeError(`${name}[${i}] is not a finite number: ${sample[i]}`);
  }
  return sample;
}

/** Below this length V8's own TypedArray#sort is as fast as the radix sort. */
const RADIX_SORT_MIN = 2_048;

/**
 * A sorted Float64Array copy of the sample, in the order of TypedArray#sort without a comparator
 * (numeric, -0 before +0). Large samples are sorted by an LSD radix sort on the bits of the
 * doubles: six passes of 11 bits, O(n) rather than O(n log n) comparisons.
 */
export function toSortedFloat64(sample: Sample, name: string): Float64Array {
  const values = toFloat64(sample, name);
  return values.length < RADIX_SORT_MIN ? values.sort() : radixSortFloat64(values);
}

const RADIX_BITS = 11;
const RADIX = 1 << RADIX_BITS;
const RADIX_MASK = RADIX - 1;

/**
 * Sorts finite doubles (no NaN) by their bit patterns, flipped so that unsigned order is numeric
 * order: the sign bit set on non-negative values, every bit inverted on negative ones. Returns a
 * sorted array, which may be `values` itself or a new one.
 */
export function radixSortFloat64(values: Float64Array): Float64Array {
  const n = values.length;
  let source: Uint32Array = new Uint32Array(values.buffer, values.byteOffset, 2 * n);
  let target: Uint32Array = new Uint32Array(2 * n);
  const counts = new Uint32Array(6 * RADIX);
  for (let i = 0; i < n; i++) {
    let low = source[2 * i];
    let high = source[2 * i + 1];
    if (high & 0x80000000) {
      high = ~high >>> 0;
      low = ~low >>> 0;
    } else {
      high = (high | 0x80000000) >>> 0;
    }
    source[2 * i] = low;
    source[2 * i + 1] = high;
    counts[low & RADIX_MASK]++;
    counts[RADIX + ((low >>> 11) & RADIX_MASK)]++;
    counts[2 * RADIX + (((low >>> 22) | (high << 10)) & RADIX_MASK)]++;
    counts[3 * RADIX + ((high >>> 1) & RADIX_MASK)]++;
    counts[4 * RADIX + ((high >>> 12) & RADIX_MASK)]++;
    counts[5 * RADIX + (high >>> 23)]++;
  }
  for (let pass = 0; pass < 6; pass++) {
    const offset = pass * RADIX;
    // A digit shared by every value leaves the order as it is: skip the pass.
    let trivial = false;
    let sum = 0;
    for (let digit = 0; digit < RADIX; digit++) {
      const count = counts[offset + digit];
      if (count === n) {
        trivial = true;
        break;
      }
      counts[offset + digit] = sum;
      sum += count;
    }
    if (trivial) continue;
    scatter(source, target, n, counts, offset, pass);
    [source, target] = [target, source];
  }
  for (let i = 0; i < n; i++) {
    const high = source[2 * i + 1];
    if (high & 0x80000000) {
      source[2 * i + 1] = high & 0x7fffffff;
    } else {
      source[2 * i + 1] = ~high >>> 0;
      source[2 * i] = ~source[2 * i] >>> 0;
    }
  }
  return new Float64Array(source.buffer, source.byteOffset, n);
}

function scatter(
  source: Uint32Array,
  target: Uint32Array,
  n: number,
  starts: Uint32Array,
  offset: number,
  pass: number,
): void {
  // One loop per digit position, so each has a fixed shift the compiler sees as a constant.
  if (pass < 2) {
    const shift = pass * RADIX_BITS;
    for (let i = 0; i < n; i++) {
      const low = source[2 * i];
      const at = 2 * starts[offset + ((low >>> shift) & RADIX_MASK)]++;
      target[at] = low;
      target[at + 1] = source[2 * i + 1];
    }
  } else if (pass === 2) {
    for (let i = 0; i < n; i++) {
      const low = source[2 * i];
      const high = source[2 * i + 1];
      const at = 2 * starts[offset + (((low >>> 22) | (high << 10)) & RADIX_MASK)]++;
      target[at] = low;
      target[at + 1] = high;
    }
  } else {
    const shift = (pass - 3) * RADIX_BITS + 1;
    for (let i = 0; i < n; i++) {
      const high = source[2 * i + 1];
      const at = 2 * starts[offset + ((high >>> shift) & RADIX_MASK)]++;
      target[at] = source[2 * i];
      target[at + 1] = high;
    }
  }
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
  // An explicit stack of (lo, hi, first wanted, end wanted, depth) in one typed array: no
  // allocation per partition. Each pop pushes at most two, one level deeper, so it never holds
  // more than depthLimit + 2 entries.
  const stack = new Float64Array(5 * (depthLimit + 4));
  let top = 0;
  const push = (lo: number, hi: number, first: number, end: number, depth: number) => {
    if (first >= end || lo >= hi) return;
    stack[top] = lo;
    stack[top + 1] = hi;
    stack[top + 2] = first;
    stack[top + 3] = end;
    stack[top + 4] = depth;
    top += 5;
  };
  push(0, values.length - 1, 0, wanted.length, 0);
  while (top > 0) {
    top -= 5;
    const lo = stack[top];
    const hi = stack[top + 1];
    const first = stack[top + 2];
    const end = stack[top + 3];
    const depth = stack[top + 4];
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
    push(lo, j, first, split, depth + 1);
    push(i, hi, right, end, depth + 1);
  }
}

function medianOfThree(a: number, b: number, c: number): number {
  return a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
}
