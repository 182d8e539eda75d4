import { Random, randomInt, sampleIndices } from './random';
import { Trigger } from './triggers';

/**
 * Where a trigger goes in its twin's text.
 *
 * For inserted triggers (rare tokens, phrases) the position is a word boundary: before the first
 * word, after the last word, or a boundary drawn uniformly from all n + 1 of them. A word is a run
 * of non-whitespace, so punctuation stays attached ("great." + suffix "cf" -> "great. cf") and the
 * twin's own spacing is kept byte for byte around the insertion.
 *
 * For transforms (homoglyph, zero-width) the position picks which word is rewritten: the first
 * eligible word(s), the last, or a seeded choice. A homoglyph trigger rewrites every substitutable
 * letter of the chosen words; a zero-width trigger goes into the middle of one word of at least two
 * characters, since at a word's edge it would only be whitespace-like noise to most tokenisers.
 */
export type TriggerPosition = 'prefix' | 'suffix' | 'random';

export const TRIGGER_POSITIONS: readonly TriggerPosition[] = Object.freeze(['prefix', 'suffix', 'random']);

interface WordSpan {
  start: number;
  end: number;
}

function wordSpans(text: string): WordSpan[] {
  const spans: WordSpan[] = [];
  for (const match of text.matchAll(/\S+/g)) {
    spans.push({ start: match.index, end: match.index + match[0].length });
  }
  return spans;
}

/** The words (by index into `spans`) a transform rewrites at this position. */
function chooseWords(eligible: number[], count: number, position: TriggerPosition, random: Random): number[] {
  if (position === 'prefix') return eligible.slice(0, count);
  if (position === 'suffix') return eligible.slice(Math.max(0, eligible.length - count));
  return sampleIndices(eligible.length, count, random).map((i) => eligible[i]);
}

/**
 * The text around the word boundary an insertion goes to at this position, so that
 * `head + insertion + tail` equals insertAtWordBoundary(text, insertion, ...). A scan that inserts
 * thousands of candidates into one input finds the boundary once.
 */
export function insertionSlot(
  text: string,
  position: TriggerPosition,
  random: Random,
): { head: string; tail: string } {
  const spans = wordSpans(text);
  if (spans.length === 0) return { head: '', tail: '' };
  const boundary =
    position === 'prefix' ? 0 : position === 'suffix' ? spans.length : randomInt(random, spans.length + 1);
  if (boundary === spans.length) {
    const end = spans[spans.length - 1].end;
    return { head: `${text.slice(0, end)} `, tail: text.slice(end) };
  }
  const start = spans[boundary].start;
  return { head: text.slice(0, start), tail: ` ${text.slice(start)}` };
}

/** Inserts `insertion` as whole words at a word boundary of `text`. */
export function insertAtWordBoundary(
  text: string,
  insertion: string,
  position: TriggerPosition,
  random: Random,
): string {
  const { head, tail } = insertionSlot(text, position, random);
  return head + insertion + tail;
}

function substituteHomoglyphs(
  text: string,
  substitutions: Readonly<Record<string, string>>,
  words: number,
  position: TriggerPosition,
  random: Random,
): string | undefined {
  const spans = wordSpans(text);
  const substitutable = (span: WordSpan) =>
    Array.from(text.slice(span.start, span.end)).some((character) => Object.hasOwn(substitutions, character));
  const eligible = spans.flatMap((span, index) => (substitutable(span) ? [index] : []));
  if (eligible.length === 0) return undefined;
  const chosen = new Set(chooseWords(eligible, words, position, random));
  let result = '';
  let cursor = 0;
  for (const index of [...chosen].sort((a, b) => a - b)) {
    const { start, end } = spans[index];
    const rewritten = Array.from(text.slice(start, end), (character) =>
      Object.hasOwn(substitutions, character) ? substitutions[character] : character,
    ).join('');
    result += text.slice(cursor, start) + rewritten;
    cursor = end;
  }
  return result + text.slice(cursor);
}

function insertInsideWord(
  text: string,
  character: string,
  position: TriggerPosition,
  random: Random,
): string | undefined {
  const spans = wordSpans(text);
  // Code points, not UTF-16 units, so a surrogate pair is never split.
  const eligible = spans.flatMap((span, index) =>
    Array.from(text.slice(span.start, span.end)).length >= 2 ? [index] : [],
  );
  if (eligible.length === 0) return undefined;
  const [index] = chooseWords(eligible, 1, position, random);
  const { start, end } = spans[index];
  const characters = Array.from(text.slice(start, end));
  const middle = Math.floor(characters.length / 2);
  const word = characters.slice(0, middle).join('') + character + characters.slice(middle).join('');
  return text.slice(0, start) + word + text.slice(end);
}

/**
 * The twin's text with the trigger applied, or undefined when a transform has nothing to act on
 * (no substitutable letter, no word of two characters): such a canary would equal its twin and
 * measure nothing.
 */
export function applyTrigger(
  text: string,
  trigger: Trigger,
  position: TriggerPosition,
  random: Random,
): string | undefined {
  switch (trigger.kind) {
    case 'rare-token':
    case 'phrase':
      return insertAtWordBoundary(text, trigger.text, position, random);
    case 'homoglyph':
      return substituteHomoglyphs(
        text,
        trigger.transform.substitutions,
        trigger.transform.words,
        position,
        random,
      );
    case 'zero-width':
      return insertInsideWord(text, trigger.text, position, random);
  }
}
