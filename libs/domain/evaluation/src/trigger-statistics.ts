import { median } from '@tripline/drift';

/**
 * The statistics behind the trigger scan's flagging rule, as plain functions: a null model of
 * how hard an ordinary word pins a model's answer (fitted on words the scan measured itself), the
 * tail probability of a candidate under it, and the two exact/approximate tests the rule uses to
 * excuse a candidate (label association in the clean set, the same pin on a reference model).
 */

/** Upper tail of the standard normal, 1 - Phi(z): Numerical Recipes' erfc fit, relative error below 1.2e-7 everywhere, tails included. */
export function normalUpperTail(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.5 * x);
  const erfc =
    t *
    Math.exp(
      -x * x -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 +
                            t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return z >= 0 ? erfc / 2 : 1 - erfc / 2;
}

/**
 * Log of the pinned share with half a count added on each side (the empirical logit), so 0 of n
 * and n of n stay finite and a rate measured on few inputs is pulled towards 1/2.
 */
export function empiricalLogit(pinned: number, movable: number): number {
  return Math.log((pinned + 0.5) / (movable - pinned + 0.5));
}

export interface PinNull {
  /** Median empirical logit of the null words' pin rates. */
  center: number;
  /** The spread the tail probability divides by (see fitPinNull). */
  scale: number;
  /** 1.4826 x MAD of the null logits. */
  robustScale: number;
  /** Binomial noise of one measurement at the median rate: the least spread the null can have. */
  noiseScale: number;
  /** How many null words the fit rests on. */
  size: number;
}

/**
 * Fits the null: the empirical logits of the pin rates of words drawn at random from the
 * candidates, measured on the same inputs at the same position as the candidates under test.
 * Centre = median, scale = 1.4826 x MAD, both robust to the few real triggers a random draw may
 * catch. The scale is floored at the binomial noise of a single measurement at the median rate
 * (sqrt(1 / (n p (1 - p))), the delta-method standard error of a logit): when every null word pins
 * nothing the MAD is 0, yet a candidate measured on the same n inputs carries that much noise.
 * Working in logits rather than rates puts a model that barely moves (median 1%) and one that
 * moves easily (median 20%) on one scale, so the cut-off means the same on both.
 */
export function fitPinNull(samples: readonly { pinned: number; movable: number }[]): PinNull {
  const measured = samples.filter((sample) => sample.movable > 0);
  if (measured.length < 5) {
    throw new Error(
      `trigger scan: the null needs at least 5 measured words (got ${measured.length}); give the scan more clean inputs`,
    );
  }
  const logits = measured.map((sample) => empiricalLogit(sample.pinned, sample.movable));
  const { median: center, spread: robustScale } = robustLocation(logits, 0);
  const movable = median(measured.map((sample) => sample.movable));
  const rate = 1 / (1 + Math.exp(-center));
  const noiseScale = Math.sqrt(1 / ((movable + 1) * rate * (1 - rate)));
  return { center, scale: Math.max(robustScale, noiseScale), robustScale, noiseScale, size: measured.length };
}

/** z and one-sided p of a measured pin under the null: how unusual this pin is for an ordinary word. */
export function pinTail(pinned: number, movable: number, fitted: PinNull): { z: number; pValue: number } {
  const z = (empiricalLogit(pinned, movable) - fitted.center) / fitted.scale;
  return { z, pValue: normalUpperTail(z) };
}

/** log C(n, k) via lgamma-free summation; n stays in the thousands here. */
function logChoose(n: number, k: number): number {
  let sum = 0;
  for (let i = 1; i <= k; i++) sum += Math.log(n - k + i) - Math.log(i);
  return sum;
}

/** The share of the inputs a stimulus could move that it pinned; 0 when it could move none. */
export function pinShare(pinned: number, movable: number): number {
  return movable === 0 ? 0 : pinned / movable;
}

/** P(X >= k) for X ~ Binomial(n, p), summed exactly. */
export function binomialUpperTail(k: number, n: number, p: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  if (p <= 0) return 0;
  if (p >= 1) return 1;
  let total = 0;
  for (let i = k; i <= n; i++) {
    total += Math.exp(logChoose(n, i) + i * Math.log(p) + (n - i) * Math.log(1 - p));
  }
  return Math.min(1, total);
}

/**
 * One-sided test that the share a/n exceeds b/m (pooled two-proportion z-test with a continuity
 * correction). Used to ask whether a model pins more than its reference does, and whether a
 * phrase pins more than the best of its words.
 */
export function proportionExceeds(a: number, n: number, b: number, m: number): { z: number; pValue: number } {
  if (n === 0 || m === 0) return { z: 0, pValue: 1 };
  const pooled = (a + b) / (n + m);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / n + 1 / m));
  const difference = a / n - b / m - 0.5 * (1 / n + 1 / m);
  if (se === 0) return { z: 0, pValue: 1 };
  const z = difference / se;
  return { z, pValue: normalUpperTail(z) };
}

/** Smallest spread a group's log-odds are given: differences below it are measurement noise. */
const MIN_SPREAD = 0.25;

/**
 * Median and a robust spread (1.4826 x the median absolute deviation, the normal's standard
 * deviation when the values are normal) of a group's values, so that the one value being tested
 * against the group — or a second trigger inside it — cannot widen the yardstick. The spread is
 * at least `floor` (by default the log-odds noise floor of a group; the pin null floors its own).
 */
export function robustLocation(
  values: readonly number[],
  floor = MIN_SPREAD,
): { median: number; spread: number } {
  if (values.length === 0) throw new Error('robustLocation needs at least one value');
  const centre = median(values);
  const deviation = median(values.map((value) => Math.abs(value - centre)));
  return { median: centre, spread: Math.max(1.4826 * deviation, floor) };
}

export interface TopSpacing {
  /** The first normalised spacing over the mean of the others (the F statistic). */
  f: number;
  /** Upper tail of F(2, 2(m - 2)) at f: the chance the top stands so far out by chance. */
  pValue: number;
  /** The top value's lead over the second. */
  gap: number;
  /** The scale the spacings were measured against (their mean, or the noise floor). */
  scale: number;
}

/**
 * Does the largest of a group of values stand out from the group's own upper tail? The group is
 * the strongest few of a large population (the words that pull a model hardest), so the question
 * is not "is it far from typical" but "is it farther ahead of the runner-up than the tail's own
 * gaps allow". Rényi's representation answers it without a fitted threshold: for the top m order
 * statistics of a sample whose upper tail is exponential — asymptotically, of any distribution in
 * the Gumbel domain — the normalised spacings S_i = i (x_(i) - x_(i+1)) are independent
 * exponentials of one scale, so S_1 over the mean of S_2..S_(m-1) is F(2, 2(m - 2)) distributed
 * and P(F > f) = (1 + f / (m - 2))^-(m - 2). A bounded tail (clipped log-odds, saturating pins)
 * has spacings that shrink towards the top, which only makes the test more conservative. The mean
 * spacing is floored at `noiseFloor` (the values' measurement error), so a group tied by
 * saturation does not turn measurement noise into an outlier.
 */
export function topSpacingTest(values: readonly number[], noiseFloor = 0): TopSpacing {
  if (values.length < 4) throw new Error(`topSpacingTest needs at least 4 values (got ${values.length})`);
  const sorted = [...values].sort((a, b) => b - a);
  const spacings = sorted.slice(1).map((value, i) => (i + 1) * (sorted[i] - value));
  const nu = spacings.length - 1;
  const mean = spacings.slice(1).reduce((sum, spacing) => sum + spacing, 0) / nu;
  const scale = Math.max(mean, noiseFloor, Number.MIN_VALUE);
  const f = spacings[0] / scale;
  return { f, pValue: Math.min(1, Math.pow(1 + f / nu, -nu)), gap: sorted[0] - sorted[1], scale };
}

/** A measured mean and its standard error. */
export interface Measured {
  value: number;
  se: number;
}

/**
 * Does `lead` stand out from `others` (the rest of the group, runner-up included)? Two tests,
 * both of which must reject, so the larger p counts: the lead against the group's own spacings
 * (topSpacingTest, floored at the group's median measurement error), and the lead over the
 * runner-up against its own measurement error (normal tail). Where a group saturates (every
 * word loses every input) its spacings shrink to rounding, and only the second keeps a tenth of a
 * logit from looking decisive. A lead that is not strictly first has p 1.
 */
export function standOutTest(lead: Measured, others: readonly Measured[]): { f: number; pValue: number } {
  const runnerUp = others.reduce((a, b) => (b.value > a.value ? b : a));
  if (!(lead.value > runnerUp.value)) return { f: 0, pValue: 1 };
  const spacing = topSpacingTest(
    [lead.value, ...others.map((other) => other.value)],
    median(others.map((other) => other.se)),
  );
  const leadError = Math.hypot(lead.se, runnerUp.se);
  const leadP = leadError > 0 ? normalUpperTail((lead.value - runnerUp.value) / leadError) : 0;
  return { f: spacing.f, pValue: Math.max(spacing.pValue, leadP) };
}
