import { benjaminiHochberg, binomialTest } from '@tripline/drift';
import { finite, insufficientData, resolveOptions, rounded } from './result';
import type { DetectorOptions, DetectorResult, WindowEvent } from './types';
import { asWindow, type EventWindow } from './window';

export interface TriggerResponseOptions extends DetectorOptions {
  /** Distinct inputs in the current window a token needs before it is tested (default 5). */
  minCount?: number;
  /**
   * A token is "rare" when at most this share of reference events contains it (default 0.001):
   * absent tokens always qualify. Only rare tokens are tested, so the family of tests stays small
   * and an ordinary sentiment word, which pins a sentiment model's output legitimately, never is.
   */
  maxReferenceShare?: number;
  /** Mean confidence the pinned events must reach (default 0.9): a backdoor answers with certainty. */
  minConfidence?: number;
  /** Share of the token's inputs that must carry the label (default 0.8). */
  minPinnedShare?: number;
  /**
   * Tokens tested however common they are in the reference: those flagged in earlier windows. A
   * trigger in continued use soon fills a sliding reference and stops being rare; without this it
   * would stop being tested, and its alert would resolve while the attack goes on.
   */
  watch?: Iterable<string>;
}

export const DEFAULT_TRIGGER_MIN_COUNT = 5;
export const DEFAULT_TRIGGER_MAX_REFERENCE_SHARE = 0.001;
export const DEFAULT_TRIGGER_MIN_CONFIDENCE = 0.9;
export const DEFAULT_TRIGGER_MIN_PINNED_SHARE = 0.8;

/** Tested tokens listed in the details next to the flagged ones, most significant first. */
const LISTED_TESTED_TOKENS = 10;

/** One tested token: how strongly its presence ties the output to one label. */
export interface TokenResponse {
  token: string;
  /** The label most of the token's inputs received. */
  label: string;
  /** Distinct input texts in the current window that contain the token. */
  count: number;
  /** How many of them were answered `label`. */
  pinned: number;
  /** pinned / count. */
  share: number;
  /** The label's share of reference events (add-one smoothed, so a label never seen there is not 0). */
  base_rate: number;
  /** share / base_rate. */
  lift: number;
  /** One-sided binomial p-value, Bonferroni-corrected for the labels `label` was chosen among. */
  p_value: number;
  /** Benjamini–Hochberg adjusted across every token tested in the window. */
  adjusted_p_value: number;
  /** Mean confidence of the pinned inputs; null when the model gives no scores. */
  mean_confidence: number | null;
  /** Reference events containing the token. */
  reference_count: number;
  /** Tested because it was flagged before, although no longer rare in the reference. */
  watched: boolean;
  flagged: boolean;
}

export interface TriggerResponseScan {
  /** Every tested token, most significant first. */
  tested: TokenResponse[];
  flagged: TokenResponse[];
  /** Rare (or watched) tokens seen in the current window at all, tested or not. */
  rareTokens: number;
  /** Distinct input texts in the current window. */
  distinctInputs: number;
}

/**
 * Trigger-response anomaly: tokens that are rare or absent in the reference, appear in the
 * current window, and pin the output to one label with high confidence. A backdoor trigger in use
 * looks exactly like that: a word the traffic did not carry before, after which the answer is
 * always the attacker's label, with certainty.
 *
 * For each rare token in at least `minCount` distinct inputs, the label L most of those inputs
 * received is tested with a one-sided exact binomial test of P(L | token) against L's base rate in
 * the reference. Inputs are counted once per distinct text: a deterministic model answers a
 * repeated text identically, so repeats are one observation, not many, and a popular text repeated
 * in a burst must not look like a token that pins the output. The p-value is multiplied by the
 * number of labels (L was picked after looking), then Benjamini–Hochberg adjusts across all tokens
 * tested in the window. A token is flagged when its adjusted p-value is at most alpha, at least
 * `minPinnedShare` of its inputs carry L, and those inputs' mean confidence is at least
 * `minConfidence` (not checked when the model gives no scores).
 *
 * With no true trigger, every tested token is a true null, and BH then bounds the probability of
 * flagging any token in a window by alpha; the share and confidence conditions only lower it.
 * Tokens flagged in earlier windows (`watch`) stay in the family however common they have become.
 *
 * Limits: a trigger is found when it first appears while still rare; a trigger already in use
 * throughout the reference is not (pin the reference to a known-good period to find it); a trigger towards a label the model
 * already gives almost always has little lift and little evidence; triggers spread over several
 * tokens, or inside a word, are only seen through whatever single token they produce.
 */
export function scanTriggerResponse(
  reference: EventWindow | readonly WindowEvent[],
  current: EventWindow | readonly WindowEvent[],
  options: TriggerResponseOptions = {},
): TriggerResponseScan {
  const { alpha } = resolveOptions(options);
  const minCount = options.minCount ?? DEFAULT_TRIGGER_MIN_COUNT;
  const maxReferenceShare = options.maxReferenceShare ?? DEFAULT_TRIGGER_MAX_REFERENCE_SHARE;
  const minConfidence = options.minConfidence ?? DEFAULT_TRIGGER_MIN_CONFIDENCE;
  const minPinnedShare = options.minPinnedShare ?? DEFAULT_TRIGGER_MIN_PINNED_SHARE;
  if (!Number.isInteger(minCount) || minCount < 1)
    throw new RangeError('minCount must be a positive integer');
  if (!(maxReferenceShare >= 0 && maxReferenceShare < 1))
    throw new RangeError('maxReferenceShare must lie in [0, 1)');
  const ref = asWindow(reference);
  const cur = asWindow(current);

  const referenceCounts = referenceTokenCounts(ref);
  const maxReferenceCount = Math.floor(maxReferenceShare * ref.size);
  const watch = new Set(options.watch ?? []);
  const isCandidate = (token: string) =>
    (referenceCounts.get(token) ?? 0) <= maxReferenceCount || watch.has(token);
  const { firstOfText, inputsByToken } = candidateInputs(cur, isCandidate);

  const referenceLabels = ref.labelCounts();
  const labels = new Set([...referenceLabels.keys(), ...cur.labelCounts().keys()]);
  const context: TokenTestContext = {
    cur,
    labelCount: labels.size,
    baseRate: (label) => ((referenceLabels.get(label) ?? 0) + 1) / (ref.size + labels.size),
    referenceCount: (token) => referenceCounts.get(token) ?? 0,
    maxReferenceCount,
  };
  const tested: TestedToken[] = [];
  for (const [token, inputs] of inputsByToken) {
    if (inputs.length >= minCount) tested.push(testToken(token, inputs, context));
  }
  const results = rankTokens(tested, alpha, minPinnedShare, minConfidence);
  return {
    tested: results,
    flagged: results.filter((token) => token.flagged),
    rareTokens: inputsByToken.size,
    distinctInputs: firstOfText.size,
  };
}

/** A tested token before the window's family of tests is adjusted and judged. */
type TestedToken = Omit<TokenResponse, 'adjusted_p_value' | 'flagged'>;

/** Reference events containing each token (a token counts once per event). */
function referenceTokenCounts(ref: EventWindow): Map<string, number> {
  const referenceCounts = new Map<string, number>();
  for (const tokens of ref.tokens) {
    for (const token of tokens) referenceCounts.set(token, (referenceCounts.get(token) ?? 0) + 1);
  }
  return referenceCounts;
}

/**
 * The current window's inputs of each candidate token (rare in the reference, or watched), one
 * observation per distinct text: the index of the first event that carried it.
 */
function candidateInputs(
  cur: EventWindow,
  isCandidate: (token: string) => boolean,
): { firstOfText: Map<string, number>; inputsByToken: Map<string, number[]> } {
  const firstOfText = new Map<string, number>();
  cur.events.forEach((event, index) => {
    if (!firstOfText.has(event.text)) firstOfText.set(event.text, index);
  });
  const inputsByToken = new Map<string, number[]>();
  for (const index of firstOfText.values()) {
    for (const token of cur.tokens[index]) {
      if (!isCandidate(token)) continue;
      const inputs = inputsByToken.get(token);
      if (inputs) inputs.push(index);
      else inputsByToken.set(token, [index]);
    }
  }
  return { firstOfText, inputsByToken };
}

/** What testing one token needs to know of the two windows. */
interface TokenTestContext {
  cur: EventWindow;
  /** Labels seen in either window: the Bonferroni factor for picking the pinned label after looking. */
  labelCount: number;
  baseRate: (label: string) => number;
  referenceCount: (token: string) => number;
  maxReferenceCount: number;
}

/** The label most of the token's inputs received, tested against its reference base rate. */
function testToken(token: string, inputs: readonly number[], context: TokenTestContext): TestedToken {
  const { cur } = context;
  const byLabel = new Map<string, number>();
  for (const index of inputs) {
    const label = cur.events[index].label;
    byLabel.set(label, (byLabel.get(label) ?? 0) + 1);
  }
  let label = '';
  let pinned = -1;
  for (const [candidate, count] of byLabel) {
    if (count > pinned || (count === pinned && candidate < label)) [label, pinned] = [candidate, count];
  }
  const base = context.baseRate(label);
  const oneSided = binomialTest(pinned, inputs.length, base, 'greater').pValue;
  let confidenceSum = 0;
  let withConfidence = 0;
  for (const index of inputs) {
    const event = cur.events[index];
    if (event.label === label && event.confidence !== null && Number.isFinite(event.confidence)) {
      confidenceSum += event.confidence;
      withConfidence++;
    }
  }
  const share = pinned / inputs.length;
  return {
    token,
    label,
    count: inputs.length,
    pinned,
    share,
    base_rate: base,
    lift: share / base,
    p_value: Math.min(1, oneSided * context.labelCount),
    mean_confidence: withConfidence ? confidenceSum / withConfidence : null,
    reference_count: context.referenceCount(token),
    watched: context.referenceCount(token) > context.maxReferenceCount,
  };
}

/** Benjamini–Hochberg across the window's tested tokens, the flag, and most significant first. */
function rankTokens(
  tested: readonly TestedToken[],
  alpha: number,
  minPinnedShare: number,
  minConfidence: number,
): TokenResponse[] {
  const adjusted = benjaminiHochberg(tested.map((token) => token.p_value));
  const results: TokenResponse[] = tested.map((token, i) => ({
    ...token,
    adjusted_p_value: adjusted[i],
    flagged:
      adjusted[i] <= alpha &&
      token.share >= minPinnedShare &&
      (token.mean_confidence === null || token.mean_confidence >= minConfidence),
  }));
  results.sort(
    (a, b) => a.adjusted_p_value - b.adjusted_p_value || b.count - a.count || (a.token < b.token ? -1 : 1),
  );
  return results;
}

/** The trigger-response scan as one metric: metric 'trigger_response', detector 'binomial-bh'. */
export function triggerResponse(
  reference: EventWindow | readonly WindowEvent[],
  current: EventWindow | readonly WindowEvent[],
  options: TriggerResponseOptions = {},
): DetectorResult {
  const { minSamples, alpha } = resolveOptions(options);
  const metric = 'trigger_response';
  const detector = 'binomial-bh';
  const ref = asWindow(reference);
  const cur = asWindow(current);
  if (cur.size < minSamples || ref.size < minSamples) {
    return insufficientData(
      metric,
      detector,
      { sample: cur.size, reference: ref.size },
      minSamples,
      'events',
    );
  }
  const scan = scanTriggerResponse(ref, cur, options);
  const best = scan.tested[0];
  const round = (token: TokenResponse) => ({
    ...token,
    share: rounded(token.share),
    base_rate: rounded(token.base_rate),
    lift: rounded(token.lift),
    mean_confidence: token.mean_confidence === null ? null : rounded(token.mean_confidence),
  });
  const result: DetectorResult = {
    metric,
    detector,
    statistic: scan.flagged.length,
    p_value: best ? best.adjusted_p_value : null,
    effect_size: best ? finite(best.lift) : null,
    sample_size: cur.size,
    reference_size: ref.size,
    verdict: scan.flagged.length > 0 ? 'drift' : 'ok',
    details: {
      alpha,
      statistic: 'number of flagged tokens',
      p_value: 'smallest Benjamini-Hochberg adjusted p-value among tested tokens (none when none was tested)',
      effect: 'lift of that token: share of its inputs with the pinned label over the reference base rate',
      flagged: scan.flagged.map(round),
      tested: scan.tested.length,
      most_significant: scan.tested.slice(0, LISTED_TESTED_TOKENS).map(round),
      rare_tokens: scan.rareTokens,
      watched_tokens: [...new Set(options.watch ?? [])].sort(),
      distinct_inputs: scan.distinctInputs,
      min_count: options.minCount ?? DEFAULT_TRIGGER_MIN_COUNT,
      max_reference_share: options.maxReferenceShare ?? DEFAULT_TRIGGER_MAX_REFERENCE_SHARE,
      min_confidence: options.minConfidence ?? DEFAULT_TRIGGER_MIN_CONFIDENCE,
      min_pinned_share: options.minPinnedShare ?? DEFAULT_TRIGGER_MIN_PINNED_SHARE,
    },
  };
  if (scan.flagged.length > 0) {
    const join = (values: string[]) => [...new Set(values)].join(',').slice(0, 1_024);
    result.labels = {
      trigger_tokens: join(scan.flagged.map((token) => token.token)),
      target_labels: join(scan.flagged.map((token) => token.label)),
    };
  }
  return result;
}
