/**
 * The finite-n Kolmogorov distribution after Simard & L'Ecuyer (2011), choosing exactly as SciPy's
 * `scipy.stats.kstwo` does between Durbin's matrix, Pomeranz's recursion, Pelz–Good and Smirnov's
 * one-sided sum, so the asymptotic KS p-value matches SciPy's.
 */
import { ldexp } from '../numeric';
import { DBL_EPSILON, LN_2PI, MIN_LOG, SQRT_2PI } from './constants';
import { logBinomialPmfRaw } from './gamma';

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
