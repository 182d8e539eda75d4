import { fisherExact } from '@tripline/drift';
import { insufficientData, resolveOptions, rounded, verdictOf } from './result';
import type { DetectorOptions, DetectorResult, WindowEvent } from './types';
import { asWindow, type EventWindow } from './window';

/** New words listed in the details, most frequent first: what an engineer reads first. */
const LISTED_NEW_TOKENS = 10;

/**
 * Input drift in the vocabulary: do more inputs than before contain words the reference never
 * used?
 *
 * A reference measured against its own vocabulary has no unknown words at all, so it cannot be
 * the baseline. The reference is therefore split in two (alternate events): the even half builds
 * the vocabulary, and the odd half, measured against it, gives the out-of-vocabulary rate to
 * expect from new text of the same kind. The current window is measured against the same
 * vocabulary, and Fisher's exact test (two-sided) compares the two shares. The unit is the event
 * (does it contain at least one unknown word?), not the word: the words of one input are not
 * independent draws (one foreign-language review brings ten unknown words), and counting words
 * would overstate the evidence. Under a stationary stream the held-out half and the current window
 * are exchangeable, which is what makes the test exact; strong autocorrelation in time (one text
 * repeated in bursts) makes it somewhat liberal.
 */
export function outOfVocabularyDrift(
  reference: EventWindow | readonly WindowEvent[],
  current: EventWindow | readonly WindowEvent[],
  options: DetectorOptions = {},
): DetectorResult {
  const { minSamples, alpha } = resolveOptions(options);
  const metric = 'input_oov_rate';
  const detector = 'fisher-exact';
  const ref = asWindow(reference);
  const cur = asWindow(current);
  const heldOut = Math.floor(ref.size / 2);
  if (cur.size < minSamples || heldOut < minSamples) {
    return insufficientData(
      metric,
      detector,
      { sample: cur.size, reference: heldOut },
      minSamples,
      'events (for the reference: in the half held out from its vocabulary)',
    );
  }
  const vocabulary = new Set<string>();
  for (let i = 0; i < ref.size; i += 2) for (const token of ref.tokens[i]) vocabulary.add(token);

  const measure = (tokenSets: readonly (readonly string[])[], start: number, step: number) => {
    let events = 0;
    let withUnknown = 0;
    let tokens = 0;
    let unknown = 0;
    const unknownCounts = new Map<string, number>();
    for (let i = start; i < tokenSets.length; i += step) {
      events++;
      let any = false;
      for (const token of tokenSets[i]) {
        tokens++;
        if (!vocabulary.has(token)) {
          unknown++;
          any = true;
          unknownCounts.set(token, (unknownCounts.get(token) ?? 0) + 1);
        }
      }
      if (any) withUnknown++;
    }
    return { events, withUnknown, tokenRate: tokens ? unknown / tokens : 0, unknownCounts };
  };
  const baseline = measure(ref.tokens, 1, 2);
  const now = measure(cur.tokens, 0, 1);
  const test = fisherExact([
    [now.withUnknown, now.events - now.withUnknown],
    [baseline.withUnknown, baseline.events - baseline.withUnknown],
  ]);
  const currentShare = now.withUnknown / now.events;
  const baselineShare = baseline.withUnknown / baseline.events;
  const newTokens = [...now.unknownCounts]
    .sort(([a, countA], [b, countB]) => countB - countA || (a < b ? -1 : 1))
    .slice(0, LISTED_NEW_TOKENS)
    .map(([token, events]) => ({ token, events }));
  return {
    metric,
    detector,
    statistic: currentShare,
    p_value: test.pValue,
    effect_size: currentShare - baselineShare,
    sample_size: now.events,
    reference_size: baseline.events,
    verdict: verdictOf(test.pValue, alpha),
    details: {
      alpha,
      statistic: 'share of current events with at least one word outside the reference vocabulary',
      effect: 'that share minus the same share in the held-out half of the reference',
      reference_share: rounded(baselineShare),
      current_token_oov_rate: rounded(now.tokenRate),
      reference_token_oov_rate: rounded(baseline.tokenRate),
      vocabulary_size: vocabulary.size,
      vocabulary_events: ref.size - heldOut,
      new_tokens: newTokens,
    },
  };
}
