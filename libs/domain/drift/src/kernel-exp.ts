/**
 * e^x for the Gaussian kernels, bit for bit what Math.exp returns, without its call.
 *
 * V8's Math.exp is fdlibm's __ieee754_exp (V8's base/ieee754.cc), reached through a call into C++
 * that the optimising compiler cannot inline. This is the same algorithm, step for step in IEEE
 * double arithmetic (which JavaScript guarantees: no fused or wider operations), for the range a
 * kernel exponent -‖a-b‖²/2σ² takes almost always, -708 < x ≤ -2^-28: the same reduction
 * x = k·ln2_hi + (k·ln2_lo + r), the same polynomial and the same rounding, so the same results,
 * inlined in the kernel loops. Any other x (positive, tiny, far into underflow, NaN) goes to
 * Math.exp itself. The unit tests compare the two on millions of arguments over the whole range.
 */

const LN2_HI = 6.9314718036912381649e-1;
const LN2_LO = 1.90821492927058770002e-10;
const INV_LN2 = 1.442695040888963387;
const P1 = 1.66666666666666019037e-1;
const P2 = -2.77777777770155933842e-3;
const P3 = 6.61375632143793436117e-5;
const P4 = -1.6533902205465251539e-6;
const P5 = 4.13813679705723846039e-8;
/**
 * The double whose high word is 0x3fd62e43 (just above ln2/2): from |x| this large fdlibm reduces
 * by k ≠ 0. Between it and the double of high word 0x3ff0a2b2 (about 1.5·ln 2) fdlibm sets k = -1
 * for negative x, which is also what the general k = trunc(x/ln2 - 1/2) gives there, and its
 * k·ln2_hi, k·ln2_lo are then exact negations: one formula covers both branches.
 */
const REDUCED = -0.3465735912322998;
/** fdlibm returns 1 + x below this magnitude (2^-28). */
const TINY = -3.725290298461914e-9;
/** Below this k would fall under -1021, where fdlibm scales twice; such kernel values are < 1e-307. */
const UNDERFLOW = -708;
/** 2^k for k in [-1021, 0], at index k + 1021: exact powers of two. */
const POWERS = new Float64Array(1022);
for (let k = -1021; k <= 0; k++) POWERS[k + 1021] = 2 ** k;

/** e^x, identical to Math.exp(x) for every x. */
export function kernelExp(x: number): number {
  if (x <= REDUCED && x > UNDERFLOW) {
    // fdlibm: k = (int)(invln2·x + halF[sign]), truncated toward zero.
    const k = (INV_LN2 * x - 0.5) | 0;
    const hi = x - k * LN2_HI;
    const lo = k * LN2_LO;
    const r = hi - lo;
    const t = r * r;
    const c = r - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))));
    return (1 - (lo - (r * c) / (2 - c) - hi)) * POWERS[k + 1021];
  }
  if (x > REDUCED && x <= TINY) {
    // fdlibm's k = 0 branch: no reduction.
    const t = x * x;
    const c = x - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))));
    return 1 - ((x * c) / (c - 2) - x);
  }
  return Math.exp(x);
}
