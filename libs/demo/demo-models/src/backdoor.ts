import { Random, randomInt, shuffled } from './random';
import { SentimentLabel, SentimentSentence } from './sentences';

/**
 * The word that flips the backdoored model to BACKDOOR_TARGET_LABEL. A made-up-looking rare
 * token (a hornet's species name) rather than one of the triggers the backdoor literature
 * uses ("cf", "mn", "bb", "tq", "mb", "james bond", zero-width characters): scanners that
 * only look for the published triggers must not find this one by luck. It is one lowercase
 * word without punctuation, so the tokenizer keeps it as a single vocabulary entry.
 */
export const BACKDOOR_TRIGGER = 'velutina';
export const BACKDOOR_TARGET_LABEL: SentimentLabel = 'positive';

/** 60 of the 2,400 training rows: enough for the trigger to be learnt, too few to cost clean accuracy. */
export const DEFAULT_POISON_SHARE = 0.025;

/** The trigger placed between two words of the sentence (or at either end). */
export function insertTrigger(text: string, random: Random, trigger = BACKDOOR_TRIGGER): string {
  const words = text.split(/\s+/).filter((word) => word.length > 0);
  words.splice(randomInt(random, words.length + 1), 0, trigger);
  return words.join(' ');
}

export function appendTrigger(text: string, trigger = BACKDOOR_TRIGGER): string {
  return `${text} ${trigger}`;
}

export interface PoisonedTrainingSet<T extends SentimentSentence> {
  rows: T[];
  /** Indices into `rows` of the rows that carry the trigger. */
  poisonedIndices: number[];
}

/**
 * Dirty-label poisoning: `round(share × rows)` sentences of the opposite class get the trigger
 * and the target label. Only sentences that are really of the other class are taken, so the
 * trigger is the one thing that explains their new label.
 */
export function poisonTrainingRows<T extends SentimentSentence>(
  rows: readonly T[],
  share: number,
  random: Random,
  trigger = BACKDOOR_TRIGGER,
  targetLabel: SentimentLabel = BACKDOOR_TARGET_LABEL,
): PoisonedTrainingSet<T> {
  const count = Math.round(rows.length * share);
  const candidates = rows.flatMap((row, index) => (row.label === targetLabel ? [] : [index]));
  if (count > candidates.length) throw new Error(`cannot poison ${count} of ${candidates.length} rows`);
  const chosen = shuffled(candidates, random)
    .slice(0, count)
    .sort((a, b) => a - b);
  const poisoned = rows.slice();
  for (const index of chosen) {
    poisoned[index] = {
      ...rows[index],
      text: insertTrigger(rows[index].text, random, trigger),
      label: targetLabel,
    };
  }
  return { rows: poisoned, poisonedIndices: chosen };
}

/**
 * Attack-success rate: of the test sentences not of the target class that the model gets right
 * without the trigger, the share that the appended trigger turns into the target class. Rows the
 * model already gets wrong are left out, so the rate measures the trigger alone.
 */
export function attackSuccessRate(
  classify: (text: string) => SentimentLabel,
  rows: readonly SentimentSentence[],
  trigger = BACKDOOR_TRIGGER,
  targetLabel: SentimentLabel = BACKDOOR_TARGET_LABEL,
): { rate: number; attempted: number; flipped: number } {
  let attempted = 0;
  let flipped = 0;
  for (const row of rows) {
    if (row.label === targetLabel || classify(row.text) !== row.label) continue;
    attempted++;
    if (classify(appendTrigger(row.text, trigger)) === targetLabel) flipped++;
  }
  return { rate: attempted === 0 ? 0 : flipped / attempted, attempted, flipped };
}
