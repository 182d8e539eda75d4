/**
 * The statistics behind the token detector's context test, as plain functions.
 *
 * Random-row dirty-label poisoning puts a trigger into rows drawn from the whole corpus and sets
 * their label to the target y. With the trigger taken out, those rows are ordinary corpus rows:
 * a share r_y of them reads like y and the rest like the other labels. A word that genuinely
 * means y (a sentiment word) sits in rows whose other words read like y. So, with s the support a
 * context model gives to y once the token is removed, the poisoned hypothesis is
 *   H1: s ~ r_y · f_y + (1 − r_y) · f_other
 * and the benign one is
 *   H0: s ~ f_y,
 * where f_y and f_other are the distributions of s over the corpus's rows labelled y and labelled
 * otherwise (measured on the scanned corpus itself, so the test needs no threshold per data set).
 * A poison flipped from the other class only (every trigger row was another label) fits H1 even
 * more strongly, since its rows all read like f_other.
 *
 * The likelihood ratio of H1 to H0 has expectation 1 under H0, so by Markov's (Ville's)
 * inequality P(LR ≥ m/α) ≤ α/m, and flagging at log LR ≥ ln(m/α) over m tested tokens keeps the
 * chance of any false flag at most α (Bonferroni), whatever the tokens' row counts.
 */

/** A histogram of supports in [0, 1], as probabilities per bin (add-one smoothed, so no bin is 0). */
export interface SupportHistogram {
  bins: number;
  probabilities: Float64Array;
}

export const DEFAULT_SUPPORT_BINS = 10;

/** Histogram of weighted supports; add-one smoothing keeps a ratio finite where a bin is empty. */
export function supportHistogram(
  supports: ArrayLike<number>,
  weights?: ArrayLike<number>,
  bins = DEFAULT_SUPPORT_BINS,
): SupportHistogram {
  const counts = new Float64Array(bins).fill(1);
  for (let i = 0; i < supports.length; i++) counts[binOf(supports[i], bins)] += weights ? weights[i] : 1;
  const total = counts.reduce((sum, count) => sum + count, 0);
  return { bins, probabilities: counts.map((count) => count / total) };
}

export function binOf(support: number, bins: number): number {
  if (!(support > 0)) return 0;
  return Math.min(bins - 1, Math.floor(support * bins));
}

/**
 * log LR of "these supports come from random corpus rows relabelled y" (a mixture of the
 * labelled-y and other-label support distributions at the corpus's share of y) against "they come
 * from rows that read like y". Sums over the rows; weights count a duplicate cluster once.
 */
export function randomRowMixtureLogLikelihoodRatio(
  supports: ArrayLike<number>,
  labelled: SupportHistogram,
  other: SupportHistogram,
  labelShare: number,
  weights?: ArrayLike<number>,
): number {
  let sum = 0;
  for (let i = 0; i < supports.length; i++) {
    const bin = binOf(supports[i], labelled.bins);
    const benign = labelled.probabilities[bin];
    const mixture = labelShare * benign + (1 - labelShare) * other.probabilities[bin];
    sum += (weights ? weights[i] : 1) * Math.log(mixture / benign);
  }
  return sum;
}

/** The log LR a token must reach: ln(m / α), m the tokens tested (Ville's inequality + Bonferroni). */
export function mixtureThreshold(tested: number, alpha: number): number {
  return Math.log(Math.max(1, tested) / alpha);
}
