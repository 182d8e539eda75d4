/**
 * ln Γ and Loader's saddle-point pieces (Stirling's error, the deviance term): the building blocks
 * of the binomial, hypergeometric and Poisson probabilities elsewhere in special/, which stay
 * accurate to a few ulps where `exp(lgamma(n+1) - ...)` loses digits to cancellation between huge logs.
 */
import { DBL_MIN, LN_2PI, LN_SQRT_2PI } from './constants';

/** ln Γ(x) for x > 0: shifted up to x ≥ 15 and evaluated with seven Stirling terms (|error| < 1e-14). */
export function logGamma(x: number): number {
  if (Number.isNaN(x) || x < 0) return NaN;
  if (x === 0) return Infinity;
  if (x >= 15) return logGammaStirling(x);
  let product = 1;
  let z = x;
  while (z < 15) {
    product *= z;
    z += 1;
  }
  return logGammaStirling(z) - Math.log(product);
}

function logGammaStirling(z: number): number {
  const r = 1 / z;
  const r2 = r * r;
  const series =
    r *
    (1 / 12 -
      r2 * (1 / 360 - r2 * (1 / 1260 - r2 * (1 / 1680 - r2 * (1 / 1188 - r2 * (691 / 360360 - r2 / 156))))));
  return (z - 0.5) * Math.log(z) - z + LN_SQRT_2PI + series;
}

/** stirlerr(n) = ln(n!) - ln(√(2πn) (n/e)^n) at n = 0, ½, 1, ..., 15 (mpmath at 40 digits, rounded). */
const STIRLING_ERROR_HALVES = [
  0, 0.15342640972002736, 0.08106146679532726, 0.05481412105191765, 0.0413406959554093, 0.03316287351993629,
  0.02767792568499834, 0.023746163656297496, 0.020790672103765093, 0.018488450532673187, 0.016644691189821193,
  0.015134973221917378, 0.013876128823070748, 0.012810465242920227, 0.01189670994589177, 0.011104559758206917,
  0.010411265261972096, 0.009799416126158804, 0.009255462182712733, 0.008768700134139386, 0.00833056343336287,
  0.00793411456431402, 0.007573675487951841, 0.007244554301320383, 0.00694284010720953, 0.006665247032707682,
  0.006408994188004207, 0.006171712263039458, 0.0059513701127588475, 0.0057462165130101155,
  0.005554733551962801,
];

/** The error of Stirling's formula, ln Γ(n+1) - (n+½) ln n + n - ln √(2π), without cancellation. */
export function stirlingError(n: number): number {
  if (n <= 15) {
    const twice = n + n;
    if (twice === Math.floor(twice)) return STIRLING_ERROR_HALVES[twice];
    return logGamma(n + 1) - (n + 0.5) * Math.log(n) + n - LN_SQRT_2PI;
  }
  const nn = n * n;
  const s0 = 1 / 12;
  const s1 = 1 / 360;
  const s2 = 1 / 1260;
  const s3 = 1 / 1680;
  const s4 = 1 / 1188;
  if (n > 500) return (s0 - s1 / nn) / n;
  if (n > 80) return (s0 - (s1 - s2 / nn) / nn) / n;
  if (n > 35) return (s0 - (s1 - (s2 - s3 / nn) / nn) / nn) / n;
  return (s0 - (s1 - (s2 - (s3 - s4 / nn) / nn) / nn) / nn) / n;
}

/**
 * Loader's deviance term x ln(x/np) + np - x (≥ 0). Near x = np the closed form cancels to
 * nothing, so it is summed as a series in v = (x-np)/(x+np) there. It is also the summand of a
 * Kullback–Leibler divergence between distributions that both sum to 1.
 */
export function devianceTerm(x: number, np: number): number {
  if (Math.abs(x - np) < 0.1 * (x + np)) {
    let v = (x - np) / (x + np);
    let s = (x - np) * v;
    if (Math.abs(s) < DBL_MIN) return s;
    let ej = 2 * x * v;
    v *= v;
    for (let j = 1; j < 1000; j++) {
      ej *= v;
      const next = s + ej / (2 * j + 1);
      if (next === s) return next;
      s = next;
    }
  }
  return x * Math.log(x / np) + np - x;
}

/** ln of the binomial probability C(n,x) p^x q^(n-x) with q = 1-p passed separately (Loader). */
export function logBinomialPmfRaw(x: number, n: number, p: number, q: number): number {
  if (p === 0) return x === 0 ? 0 : -Infinity;
  if (q === 0) return x === n ? 0 : -Infinity;
  if (x === 0) {
    if (n === 0) return 0;
    return p < 0.1 ? -devianceTerm(n, n * q) - n * p : n * Math.log(q);
  }
  if (x === n) return q < 0.1 ? -devianceTerm(n, n * p) - n * q : n * Math.log(p);
  if (x < 0 || x > n) return -Infinity;
  const lc =
    stirlingError(n) -
    stirlingError(x) -
    stirlingError(n - x) -
    devianceTerm(x, n * p) -
    devianceTerm(n - x, n * q);
  const lf = LN_2PI + Math.log(x) + Math.log1p(-x / n);
  return lc - 0.5 * lf;
}

/** λ^x e^-λ / Γ(x+1) for real x ≥ 0 (Loader's dpois_raw). */
export function poissonPmfRaw(x: number, lambda: number): number {
  if (lambda === 0) return x === 0 ? 1 : 0;
  if (x === 0) return Math.exp(-lambda);
  return Math.exp(-stirlingError(x) - devianceTerm(x, lambda)) / Math.sqrt(2 * Math.PI * x);
}
