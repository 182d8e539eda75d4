/**
 * Binomial and hypergeometric probabilities by Loader's expansion ("Fast and accurate computation
 * of binomial probabilities", 2000), their tails each summed away from the mode.
 */
import { logBinomialPmfRaw } from './gamma';

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
