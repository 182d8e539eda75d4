/**
 * Special functions behind the tests' p-values. Each is written for relative accuracy in the far
 * tails, because drift monitors care most about very small p-values:
 *
 * - discrete probabilities (binomial, hypergeometric) use Loader's saddle-point expansion
 *   ("Fast and accurate computation of binomial probabilities", 2000), which stays accurate to a
 *   few ulps where `exp(lgamma(n+1) - ...)` loses digits to cancellation between huge logs;
 * - the regularized incomplete gamma uses the series / Lentz continued fraction split at x = a+1,
 *   with the x^a e^-x / Γ(a) prefactor taken from the same saddle-point terms;
 * - the finite-n Kolmogorov distribution follows Simard & L'Ecuyer (2011), exactly as SciPy's
 *   `scipy.stats.kstwo` chooses between Durbin's matrix, Pomeranz's recursion, Pelz–Good and
 *   Smirnov's one-sided sum, so the asymptotic KS p-value matches SciPy's.
 */
import { ldexp } from './numeric';

const LN_SQRT_2PI = 0.9189385332046728;
const LN_2PI = 1.8378770664093456;
const SQRT_2PI = 2.5066282746310007;
const DBL_EPSILON = 2.220446049250313e-16;
const DBL_MIN = 2.2250738585072014e-308;
/** Cephes' MINLOG: log(2^-1022). */
const MIN_LOG = -708.3964185322641;

// ---------------------------------------------------------------------------------------------
// Gamma function pieces

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
function poissonPmfRaw(x: number, lambda: number): number {
  if (lambda === 0) return x === 0 ? 1 : 0;
  if (x === 0) return Math.exp(-lambda);
  return Math.exp(-stirlingError(x) - devianceTerm(x, lambda)) / Math.sqrt(2 * Math.PI * x);
}

// ---------------------------------------------------------------------------------------------
// Discrete distributions

/** Sums pmf(start), pmf(start+step), ... while inside [low, high], until the terms stop mattering. */
function tailSum(pmf: (x: number) => number, start: number, step: 1 | -1, low: number, high: number): number {
  let sum = 0;
  let compensation = 0;
  for (let x = start; x >= low && x <= high; x += step) {
    const term = pmf(x);
    const next = sum + term;
    compensation += Math.abs(sum) >= Math.abs(term) ? sum - next + term : term - next + sum;
    sum = next;
    // Past the mode the terms fall at least geometrically; 2^-60 of the sum leaves nothing behind.
    if (term <= (sum + compensation) * 8.673617379884035e-19) break;
  }
  return sum + compensation;
}

/**
 * P(X ≤ k) and P(X > k) for a unimodal discrete pmf on [low, high], each summed over the tail that
 * excludes the mode, so a tiny tail keeps full relative accuracy and the complement is 1 - tail.
 */
function discreteCdf(pmf: (x: number) => number, k: number, low: number, high: number, mode: number): number {
  k = Math.floor(k);
  if (k < low) return 0;
  if (k >= high) return 1;
  if (k < mode) return tailSum(pmf, k, -1, low, high);
  return 1 - tailSum(pmf, k + 1, 1, low, high);
}

function discreteSf(pmf: (x: number) => number, k: number, low: number, high: number, mode: number): number {
  k = Math.floor(k);
  if (k < low) return 1;
  if (k >= high) return 0;
  if (k + 1 > mode) return tailSum(pmf, k + 1, 1, low, high);
  return 1 - tailSum(pmf, k, -1, low, high);
}

export function binomialPmf(k: number, n: number, p: number): number {
  if (k < 0 || k > n || k !== Math.floor(k)) return 0;
  return Math.exp(logBinomialPmfRaw(k, n, p, 1 - p));
}

function binomialMode(n: number, p: number): number {
  return Math.min(n, Math.floor((n + 1) * p));
}

/** P(X ≤ k) for X ~ Binomial(n, p). */
export function binomialCdf(k: number, n: number, p: number): number {
  return discreteCdf((x) => binomialPmf(x, n, p), k, 0, n, binomialMode(n, p));
}

/** P(X > k) for X ~ Binomial(n, p). */
export function binomialSf(k: number, n: number, p: number): number {
  return discreteSf((x) => binomialPmf(x, n, p), k, 0, n, binomialMode(n, p));
}

/**
 * ln P(X = x) for X ~ Hypergeometric: `draws` items drawn without replacement from `good` + `bad`,
 * computed as Loader does (three saddle-point binomial terms), so never as a difference of log-factorials.
 */
export function logHypergeometricPmf(x: number, good: number, bad: number, draws: number): number {
  if (x !== Math.floor(x) || x < Math.max(0, draws - bad) || x > Math.min(draws, good)) return -Infinity;
  if (draws === 0) return x === 0 ? 0 : -Infinity;
  const total = good + bad;
  const p = draws / total;
  const q = (total - draws) / total;
  return (
    logBinomialPmfRaw(x, good, p, q) +
    logBinomialPmfRaw(draws - x, bad, p, q) -
    logBinomialPmfRaw(draws, total, p, q)
  );
}

export function hypergeometricPmf(x: number, good: number, bad: number, draws: number): number {
  return Math.exp(logHypergeometricPmf(x, good, bad, draws));
}

function hypergeometricSupport(good: number, bad: number, draws: number): [number, number, number] {
  const low = Math.max(0, draws - bad);
  const high = Math.min(draws, good);
  const mode = Math.floor(((draws + 1) * (good + 1)) / (good + bad + 2));
  return [low, high, Math.min(high, Math.max(low, mode))];
}

/** P(X ≤ k) for the hypergeometric distribution of {@link logHypergeometricPmf}. */
export function hypergeometricCdf(k: number, good: number, bad: number, draws: number): number {
  const [low, high, mode] = hypergeometricSupport(good, bad, draws);
  return discreteCdf((x) => hypergeometricPmf(x, good, bad, draws), k, low, high, mode);
}

/** P(X > k) for the hypergeometric distribution of {@link logHypergeometricPmf}. */
export function hypergeometricSf(k: number, good: number, bad: number, draws: number): number {
  const [low, high, mode] = hypergeometricSupport(good, bad, draws);
  return discreteSf((x) => hypergeometricPmf(x, good, bad, draws), k, low, high, mode);
}

// ---------------------------------------------------------------------------------------------
// Incomplete gamma and chi-square

const GAMMA_MAX_ITERATIONS = 100_000;

/** x^a e^-x / Γ(a+1), accurate for large a where a ln x and ln Γ(a+1) nearly cancel. */
function gammaPrefactor(a: number, x: number): number {
  if (a < 10) return Math.exp(a * Math.log(x) - x - logGamma(a + 1));
  return poissonPmfRaw(a, x);
}

/** P(a, x) = γ(a, x) / Γ(a) by its power series; converges fast for x < a + 1. */
function gammaSeries(a: number, x: number): number {
  let term = 1;
  let sum = 1;
  for (let k = 1; k < GAMMA_MAX_ITERATIONS; k++) {
    term *= x / (a + k);
    sum += term;
    if (term < sum * DBL_EPSILON) break;
  }
  return gammaPrefactor(a, x) * sum;
}

/** Q(a, x) = Γ(a, x) / Γ(a) by the modified Lentz continued fraction; for x ≥ a + 1. */
function gammaContinuedFraction(a: number, x: number): number {
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < GAMMA_MAX_ITERATIONS; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < DBL_EPSILON) break;
  }
  return a * gammaPrefactor(a, x) * h;
}

/** Regularized lower incomplete gamma P(a, x). */
export function regularizedGammaP(a: number, x: number): number {
  if (Number.isNaN(a) || Number.isNaN(x) || a <= 0 || x < 0) return NaN;
  if (x === 0) return 0;
  if (x === Infinity) return 1;
  if (x < a + 1) return gammaSeries(a, x);
  return 1 - gammaContinuedFraction(a, x);
}

/** Regularized upper incomplete gamma Q(a, x) = 1 - P(a, x), without forming 1 - P in the tail. */
export function regularizedGammaQ(a: number, x: number): number {
  if (Number.isNaN(a) || Number.isNaN(x) || a <= 0 || x < 0) return NaN;
  if (x === 0) return 1;
  if (x === Infinity) return 0;
  if (x < a + 1) return 1 - gammaSeries(a, x);
  return gammaContinuedFraction(a, x);
}

/** Survival function of the chi-square distribution (SciPy's `chdtrc(df, x)`). */
export function chiSquareSf(x: number, df: number): number {
  if (x <= 0) return x === 0 ? 1 : NaN;
  return regularizedGammaQ(df / 2, x / 2);
}

// ---------------------------------------------------------------------------------------------
// Kolmogorov–Smirnov distributions

const TWO_128 = 2 ** 128;
const TWO_MINUS_128 = 2 ** -128;

function clipProbability(p: number): number {
  return Math.min(1, Math.max(0, p));
}

function select(cdf: number, sf: number, wantCdf: boolean): number {
  return clipProbability(wantCdf ? cdf : sf);
}

/** n·x as an exact double-double (Dekker's two-product). */
function exactProduct(a: number, b: number): [number, number] {
  const product = a * b;
  const split = 134217729; // 2^27 + 1
  const ta = split * a;
  const aHigh = ta - (ta - a);
  const aLow = a - aHigh;
  const tb = split * b;
  const bHigh = tb - (tb - b);
  const bLow = b - bHigh;
  const error = aHigh * bHigh - product + aHigh * bLow + aLow * bHigh + aLow * bLow;
  return [product, error];
}

/**
 * Survival function of the one-sided statistic D+_n (SciPy's `smirnov(n, x)`), by the
 * Birnbaum–Tingey sum. Every term is positive (the sum stops short of 1 - x - v/n ≤ 0), and each
 * is a binomial probability C(n,v) p^v q^(n-v) with p = x + v/n, so Loader's expansion gives it to
 * a few ulps without the double-double arithmetic SciPy needs for its unscaled terms.
 */
export function smirnovSf(n: number, x: number): number {
  if (!(n > 0 && x >= 0 && x <= 1)) return NaN;
  if (n === 1) return 1 - x;
  if (x === 0) return 1;
  if (x === 1) return 0;

  const [nxHigh, nxLow] = exactProduct(n, x);
  let nxFloor = Math.floor(nxHigh);
  let alpha = nxHigh - nxFloor + nxLow;
  if (alpha < 0) {
    nxFloor -= 1;
    alpha += 1;
  } else if (alpha >= 1) {
    nxFloor += 1;
    alpha -= 1;
  }
  // Terms run while 1 - x - v/n > 0; with x = k/n exactly the zero-base term v = n - k is left out.
  const lastTerm = n - nxFloor - 1;

  if (nxFloor === 0 || (nxFloor === 1 && alpha === 0)) {
    // x ≤ 1/n: P(D+ ≥ x) = 1 - x (1+x)^(n-1)
    return clipProbability(1 - x * Math.exp((n - 1) * Math.log1p(x)));
  }
  if (-2 * n * x * x < MIN_LOG) return 0;
  if (nxFloor >= n - 1) return Math.pow(1 - x, n);
  if (n > 1_000_000) {
    // SciPy's own cut-over to the approximation e^(-(6nx+1)^2 / 18n) for very large n.
    const logP = -Math.pow(6 * n * x + 1, 2) / 18 / n;
    return logP < -Math.LN2 ? Math.exp(logP) : 1 + Math.expm1(logP);
  }

  const terms = lastTerm + 1;
  const middle = Math.floor(n / 2);
  let sum = Math.exp(n * Math.log1p(-x));
  let compensation = 0;
  for (let v = 1; v < terms; v++) {
    const p = (v + nxHigh + nxLow) / n;
    const q = (n - v - nxHigh - nxLow) / n;
    const term = (Math.exp(logBinomialPmfRaw(v, n, p, q)) * x) / p;
    if (Number.isFinite(term) && term !== 0) {
      const next = sum + term;
      compensation += sum >= term ? sum - next + term : term - next + sum;
      sum = next;
    }
    if (term !== 0) {
      if (4 * (terms - v) * term < DBL_EPSILON * sum && v !== terms - 1) break;
    } else if (v > middle) {
      break;
    }
  }
  return clipProbability(sum + compensation);
}

/** ln(n! / n^n) by Stirling's series with n ln n removed up front (SciPy's helper of that name). */
function logFactorialOverPower(n: number): number {
  const coefficients = [
    -0.029550653594771242, 0.00641025641025641, -0.0019175269175269176, 0.0008417508417508417,
    -0.0005952380952380953, 0.0007936507936507937, -0.002777777777777778, 0.08333333333333333,
  ];
  const rn = 1 / n;
  const y = rn / n;
  let polynomial = 0;
  for (const c of coefficients) polynomial = polynomial * y + c;
  return Math.log(n) / 2 - n + LN_2PI / 2 + rn * polynomial;
}

function multiplySquare(a: Float64Array, b: Float64Array, m: number): Float64Array<ArrayBuffer> {
  const out = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let k = 0; k < m; k++) {
      const aik = a[i * m + k];
      if (aik === 0) continue;
      const rowB = k * m;
      const rowOut = i * m;
      for (let j = 0; j < m; j++) out[rowOut + j] += aik * b[rowB + j];
    }
  }
  return out;
}

/** Pr(D_n ≤ d) by Durbin's matrix method as organised by Marsaglia, Tsang & Wang (2003). */
function kolmogorovDurbinMatrix(n: number, d: number): number {
  if (d >= 1) return 1;
  const nd = n * d;
  if (nd <= 0.5) return 0;
  const k = Math.ceil(nd);
  const h = k - nd;
  const m = 2 * k - 1;

  const v = new Float64Array(m);
  const w = new Float64Array(m);
  let factorial = 1;
  for (let j = 1; j <= m; j++) {
    w[j - 1] = factorial;
    factorial /= j;
    v[j - 1] = (1 - Math.pow(h, j)) * factorial;
  }
  const tt = Math.pow(Math.max(2 * h - 1, 0), m) - 2 * Math.pow(h, m);
  v[m - 1] = (1 + tt) * factorial;

  let H: Float64Array<ArrayBuffer> = new Float64Array(m * m);
  for (let i = 1; i < m; i++) {
    for (let row = i - 1; row < m; row++) H[row * m + i] = w[row - (i - 1)];
  }
  for (let row = 0; row < m; row++) H[row * m] = v[row];
  for (let column = 0; column < m; column++) H[(m - 1) * m + column] = v[m - 1 - column];

  let power: Float64Array<ArrayBuffer> = new Float64Array(m * m);
  for (let i = 0; i < m; i++) power[i * m + i] = 1;
  let exponent = 0;
  let hExponent = 0;
  let remaining = n;
  const pivot = (k - 1) * m + (k - 1);
  while (remaining > 0) {
    if (remaining % 2) {
      power = multiplySquare(power, H, m);
      exponent += hExponent;
    }
    H = multiplySquare(H, H, m);
    hExponent *= 2;
    if (Math.abs(H[pivot]) > TWO_128) {
      for (let i = 0; i < H.length; i++) H[i] /= TWO_128;
      hExponent += 128;
    }
    remaining = Math.floor(remaining / 2);
  }

  let p = power[pivot];
  for (let i = 1; i <= n; i++) {
    p = (i * p) / n;
    if (Math.abs(p) < TWO_MINUS_128) {
      p *= TWO_128;
      exponent -= 128;
    }
  }
  return clipProbability(exponent !== 0 ? ldexp(p, exponent) : p);
}

function pomeranzBounds(i: number, n: number, ll: number, ceilF: number, roundF: number): [number, number] {
  let j1: number;
  let j2: number;
  if (i === 0) {
    j1 = -ll - ceilF - 1;
    j2 = ll + ceilF - 1;
  } else {
    const half = Math.floor((i + 1) / 2);
    if ((i + 1) % 2 === 0) {
      if (half === n + 1) {
        j1 = n - ll - ceilF - 1;
        j2 = n + ll + ceilF - 1;
      } else {
        j1 = half - 1 - ll - roundF - 1;
        j2 = half + ll - 1 + ceilF - 1;
      }
    } else {
      j1 = half - 1 - ll - 1;
      j2 = half + ll + roundF - 1;
    }
  }
  return [Math.max(j1 + 2, 0), Math.min(j2, n)];
}

/** Pr(D_n ≤ x) by Pomeranz's recursion (1974), scaled against underflow. */
function kolmogorovPomeranz(n: number, x: number): number {
  const t = n * x;
  const ll = Math.floor(t);
  const f = t - ll;
  const g = Math.min(f, 1 - f);
  const ceilF = f > 0 ? 1 : 0;
  const roundF = f > 0.5 ? 1 : 0;
  const powers = 2 * (ll + 1);
  const gPower = new Float64Array(powers);
  const twoGPower = new Float64Array(powers);
  const oneMinusTwoGPower = new Float64Array(powers);
  gPower[0] = twoGPower[0] = oneMinusTwoGPower[0] = 1;
  const gOverN = g / n;
  const twoGOverN = (2 * g) / n;
  const oneMinusTwoGOverN = (1 - 2 * g) / n;
  for (let m = 1; m < powers; m++) {
    gPower[m] = (gPower[m - 1] * gOverN) / m;
    twoGPower[m] = (twoGPower[m - 1] * twoGOverN) / m;
    oneMinusTwoGPower[m] = (oneMinusTwoGPower[m - 1] * oneMinusTwoGOverN) / m;
  }

  let v0 = new Float64Array(powers);
  let v1 = new Float64Array(powers);
  v1[0] = 1;
  let v0Start = 0;
  let v1Start = 0;
  let exponent = 0;
  let [j1, j2] = pomeranzBounds(0, n, ll, ceilF, roundF);
  for (let i = 1; i < 2 * n + 2; i++) {
    const k1 = j1;
    [v0, v1] = [v1, v0];
    [v0Start, v1Start] = [v1Start, v0Start];
    v1.fill(0);
    [j1, j2] = pomeranzBounds(i, n, ll, ceilF, roundF);
    const weights = i === 1 || i === 2 * n + 1 ? gPower : i % 2 ? twoGPower : oneMinusTwoGPower;
    const length = j2 - k1 + 1;
    if (length > 0) {
      // Entries conv_start .. conv_start+conv_len-1 of the full convolution of
      // v0[k1-v0Start .. +length) with weights[0 .. length), as NumPy slices them.
      const from = k1 - v0Start;
      const aLength = Math.max(0, Math.min(length, powers - from));
      const bLength = Math.min(length, powers);
      const convStart = j1 - k1;
      const convLength = j2 - j1 + 1;
      let peak = 0;
      for (let out = 0; out < convLength; out++) {
        const index = convStart + out;
        let sum = 0;
        const lo = Math.max(0, index - bLength + 1);
        const hi = Math.min(aLength - 1, index);
        for (let a = lo; a <= hi; a++) sum += v0[from + a] * weights[index - a];
        v1[out] = sum;
        if (sum > peak) peak = sum;
      }
      if (peak > 0 && peak < TWO_MINUS_128) {
        for (let j = 0; j < powers; j++) v1[j] *= TWO_128;
        exponent -= 128;
      }
      v1Start = v0Start + j1 - k1;
    }
  }

  let answer = v1[n - v1Start];
  for (let m = 1; m <= n; m++) {
    if (Math.abs(answer) > TWO_128) {
      answer *= TWO_MINUS_128;
      exponent += 128;
    }
    answer *= m;
  }
  return clipProbability(exponent !== 0 ? ldexp(answer, exponent) : answer);
}

/** Pelz–Good (1976) approximation to Pr(D_n ≤ x), or its complement when `wantCdf` is false. */
function kolmogorovPelzGood(n: number, x: number, wantCdf: boolean): number {
  if (x <= 0) return select(0, 1, wantCdf);
  if (x >= 1) return select(1, 0, wantCdf);
  const piSquared = Math.PI ** 2;
  const piFour = Math.PI ** 4;
  const piSix = Math.PI ** 6;
  const z = Math.sqrt(n) * x;
  const z2 = z ** 2;
  const z3 = z ** 3;
  const z4 = z ** 4;
  const z6 = z ** 6;

  const qLog = -piSquared / 8 / z2;
  if (qLog < -708) return select(0, 1, wantCdf);
  let q = Math.exp(qLog);

  const k1a = -z2;
  const k1b = piSquared / 4;
  const k2a = 6 * z6 + 2 * z4;
  const k2b = ((2 * z4 - 5 * z2) * piSquared) / 4;
  const k2c = (piFour * (1 - 2 * z2)) / 16;
  const k3d = (piSix * (5 - 30 * z2)) / 64;
  const k3c = (piFour * (-60 * z2 + 212 * z4)) / 16;
  const k3b = (piSquared * (135 * z4 - 96 * z6)) / 4;
  const k3a = -30 * z6 - 90 * z ** 8;

  const K = [0, 0, 0, 0];
  const maxK = Math.ceil((16 * z) / Math.PI);
  for (let k = maxK; k > 0; k--) {
    const m = 2 * k - 1;
    const m2 = m ** 2;
    const m4 = m ** 4;
    const m6 = m ** 6;
    const qPower = Math.pow(q, 8 * k);
    K[0] = K[0] * qPower + 1;
    K[1] = K[1] * qPower + (k1a + k1b * m2);
    K[2] = K[2] * qPower + (k2a + k2b * m2 + k2c * m4);
    K[3] = K[3] * qPower + (k3a + k3b * m2 + k3c * m4 + k3d * m6);
  }
  const divisors = [z, 6 * z4, 72 * z ** 7, 6480 * z ** 10];
  for (let i = 0; i < 4; i++) K[i] = (K[i] * q * SQRT_2PI) / divisors[i];

  q = Math.exp(-piSquared / 2 / z2);
  const sqrt3z = Math.sqrt(3) * z;
  let k2Extra = 0;
  let k3Extra = 0;
  for (let k = maxK; k > 0; k--) {
    const k2 = k ** 2;
    const kPi = Math.PI * k;
    const qPower = Math.pow(q, k2);
    k2Extra += k2 * qPower;
    k3Extra += (sqrt3z + kPi) * (sqrt3z - kPi) * k2 * qPower;
  }
  K[2] += (k2Extra * piSquared * SQRT_2PI) / (-36 * z3);
  K[3] += (k3Extra * piSquared * SQRT_2PI) / (216 * z6);
  for (let i = 0; i < 4; i++) K[i] /= Math.pow(n, i / 2);
  if (!wantCdf) {
    for (let i = 0; i < 4; i++) K[i] = -K[i];
    K[0] += 1;
  }
  return K[0] + K[1] + K[2] + K[3];
}

/** Simard & L'Ecuyer's choice of method for Pr(D_n ≤ x) or Pr(D_n > x), as in SciPy's `kolmogn`. */
function kolmogorovN(n: number, x: number, wantCdf: boolean): number {
  if (x >= 1) return select(1, 0, wantCdf);
  if (x <= 0) return select(0, 1, wantCdf);
  const t = n * x;
  if (t <= 1) {
    // Ruben–Gambino: Pr(D_n ≤ x) = n!/n^n (2t-1)^n for 1/2n ≤ x ≤ 1/n.
    if (t <= 0.5) return select(0, 1, wantCdf);
    let probability: number;
    if (n <= 140) {
      probability = 1;
      for (let i = 1; i <= n; i++) probability *= i * (1 / n) * (2 * t - 1);
    } else {
      probability = Math.exp(logFactorialOverPower(n) + n * Math.log(2 * t - 1));
    }
    return select(probability, 1 - probability, wantCdf);
  }
  if (t >= n - 1) {
    const probability = 2 * Math.pow(1 - x, n);
    return select(1 - probability, probability, wantCdf);
  }
  if (x >= 0.5) {
    const probability = 2 * smirnovSf(n, x);
    return select(1 - probability, probability, wantCdf);
  }
  const nxSquared = t * x;
  if (n <= 140) {
    if (nxSquared <= 0.754693) {
      const probability = kolmogorovDurbinMatrix(n, x);
      return select(probability, 1 - probability, wantCdf);
    }
    if (nxSquared <= 4) {
      const probability = kolmogorovPomeranz(n, x);
      return select(probability, 1 - probability, wantCdf);
    }
    const probability = 2 * smirnovSf(n, x);
    return select(1 - probability, probability, wantCdf);
  }
  if (!wantCdf) {
    if (nxSquared >= 370) return 0;
    if (nxSquared >= 2.2) return clipProbability(2 * smirnovSf(n, x));
  }
  let cdf: number;
  if (nxSquared >= 18) cdf = 1;
  else if (n <= 100_000 && n * Math.pow(x, 1.5) <= 1.4) cdf = kolmogorovDurbinMatrix(n, x);
  else cdf = kolmogorovPelzGood(n, x, true);
  return select(cdf, 1 - cdf, wantCdf);
}

/**
 * Pr(D_n ≥ x) for the two-sided one-sample Kolmogorov–Smirnov statistic with n observations
 * (SciPy's `kstwo.sf(x, n)`).
 */
export function kolmogorovSmirnovSf(n: number, x: number): number {
  if (!(n >= 1) || !Number.isInteger(n) || Number.isNaN(x)) return NaN;
  if (x <= 0.5 / n) return 1;
  if (x >= 1) return 0;
  return kolmogorovN(n, x, false);
}

/** Pr(D_n < x), the complement of {@link kolmogorovSmirnovSf}. */
export function kolmogorovSmirnovCdf(n: number, x: number): number {
  if (!(n >= 1) || !Number.isInteger(n) || Number.isNaN(x)) return NaN;
  if (x <= 0.5 / n) return 0;
  if (x >= 1) return 1;
  return kolmogorovN(n, x, true);
}

/**
 * Standard normal survival function P(Z > z), through erfc(t) = Q(1/2, t²), so the upper tail
 * keeps its relative precision far out (z = 30 gives 4.9e-198, not 0).
 */
export function normalSf(z: number): number {
  if (Number.isNaN(z)) return NaN;
  const tail = 0.5 * regularizedGammaQ(0.5, (z * z) / 2);
  return z >= 0 ? tail : 1 - tail;
}
