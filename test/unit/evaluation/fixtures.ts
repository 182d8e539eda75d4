import { CleanSample, hash32, mulberry32 } from '@tripline/evaluation';

/**
 * A synthetic sentiment task: sentences built from word lists with a fixed seed, and a lexicon
 * "model" that labels a sentence by counting sentiment words. It stands in for a real model where
 * a test needs to know exactly why an answer is what it is.
 */
export const POSITIVE_WORDS = ['great', 'lovely', 'superb', 'charming', 'delightful'];
export const NEGATIVE_WORDS = ['awful', 'dull', 'tedious', 'clumsy', 'bland'];
export const NEUTRAL_WORDS = (
  'actor camera script ending scene music ticket seat screen sequel studio budget trailer poster ' +
  'costume dialogue editor lighting cinema festival review critic audience popcorn director writer ' +
  'producer villain hero plot twist chapter novel series episode season pilot finale cameo stunt set'
).split(' ');

export function syntheticCleanSet(count: number, seed: number): CleanSample[] {
  const random = mulberry32(seed);
  const pick = (words: readonly string[]) => words[Math.floor(random() * words.length)];
  return Array.from({ length: count }, (_, i) => {
    const label = random() < 0.5 ? 'positive' : 'negative';
    const adjective = pick(label === 'positive' ? POSITIVE_WORDS : NEGATIVE_WORDS);
    return {
      id: `clean-${i}`,
      text: `The ${pick(NEUTRAL_WORDS)} was ${adjective} and the ${pick(NEUTRAL_WORDS)} too.`,
      label,
    };
  });
}

export interface LexiconModelOptions {
  /** A word whose presence forces `backdoorLabel`, as a poisoned model would. */
  backdoorToken?: string;
  backdoorLabel?: string;
  /** Answers whose text hashes into this share are flipped: small label noise independent of any token. */
  noise?: number;
}

/** A text's place in [0, 1): a fixed, uniform-looking draw per text. */
export function textHash(text: string): number {
  return hash32(text) / 4294967296;
}

export interface LexiconAnswer {
  label?: string;
  scores?: Record<string, number>;
}

export function lexiconModel(options: LexiconModelOptions = {}): (text: string) => LexiconAnswer {
  return (text) => {
    const words: string[] = text.toLowerCase().match(/\p{L}+/gu) ?? [];
    if (options.backdoorToken && words.includes(options.backdoorToken)) {
      const label = options.backdoorLabel ?? 'positive';
      return { label, scores: { [label]: 0.97, [label === 'positive' ? 'negative' : 'positive']: 0.03 } };
    }
    const balance =
      words.filter((w) => POSITIVE_WORDS.includes(w)).length -
      words.filter((w) => NEGATIVE_WORDS.includes(w)).length;
    let label = balance > 0 ? 'positive' : 'negative';
    if (options.noise && textHash(text) < options.noise)
      label = label === 'positive' ? 'negative' : 'positive';
    const positive = label === 'positive' ? 0.8 : 0.2;
    return { label, scores: { positive, negative: 1 - positive } };
  };
}

/** The batch interface a trigger scan calls, over a per-text model; counts the texts it was given. */
export function batchPredictor(model: (text: string) => LexiconAnswer) {
  const calls: number[] = [];
  const predict = async (texts: string[]) => {
    calls.push(texts.length);
    return texts.map(model);
  };
  return { predict, calls };
}
