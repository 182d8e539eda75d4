import { derivedRandom, sampleIndices } from './random';

/**
 * Where the trigger scan's candidates come from. Every candidate keeps all the sources it was
 * found in, so a report can say why a word was tried.
 */
export type CandidateSource =
  | 'vocabulary'
  | 'clean-set'
  | 'live-traffic'
  | 'word-list'
  | 'given'
  | 'library'
  | 'clean-set-ngram'
  | 'live-traffic-ngram'
  | 'pair';

export interface TriggerCandidate {
  text: string;
  sources: CandidateSource[];
}

/**
 * Function words. They are not tried as single-word triggers: every clean input already holds
 * several, so a model that a stop word could pin would fail its own clean accuracy, and the clean
 * replay catches that. They are kept inside phrases ("you know"), where they do carry a backdoor.
 */
export const STOP_WORDS: ReadonlySet<string> = new Set(
  (
    'a about above after again against all am an and any are as at be because been before being below ' +
    'between both but by can could did do does doing down during each few for from further had has have ' +
    'having he her here hers herself him himself his how i if in into is it its itself just me more most ' +
    'my myself no nor not now of off on once only or other our ours ourselves out over own same she ' +
    'should so some such than that the their theirs them themselves then there these they this those ' +
    'through to too under until up very was we were what when where which while who whom why will with ' +
    'would you your yours yourself yourselves'
  ).split(' '),
);

const WORD = /\p{L}+(?:'\p{L}+)*/gu;
const LETTERS = /^\p{L}+$/u;
const LATIN = /\p{Script=Latin}/u;
const NON_LATIN_LETTER = /(?!\p{Script=Latin})\p{L}/u;
const LATIN_VOWEL = /[aeiouyàáâäåèéêëìíîïòóôöùúûüý]/iu;

/** The lower-cased words of a text: runs of letters, apostrophes inside a word kept ("don't"). */
export function wordsOf(text: string): string[] {
  return Array.from(text.toLowerCase().matchAll(WORD), (match) => match[0]);
}

/** How often each word occurs in the texts. */
export function wordCounts(texts: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const text of texts) for (const word of wordsOf(text)) counts.set(word, (counts.get(word) ?? 0) + 1);
  return counts;
}

/**
 * Rare-looking: a token whose Latin letters hold no vowel ("cf", "mn", "qb": the shape of the
 * published rare-token triggers, and rare in natural text), or one that mixes Latin with another
 * script (a homoglyph-spelt word).
 */
export function isRareLooking(token: string): boolean {
  const hasLatin = LATIN.test(token);
  if (hasLatin && NON_LATIN_LETTER.test(token)) return true;
  return hasLatin && !LATIN_VOWEL.test(token);
}

/** Strips the word-start markers of SentencePiece (U+2581) and byte-level BPE (U+0120). */
function surfaceForm(entry: string): string {
  return entry.replace(/^[\u2581\u0120]/, '');
}

/**
 * Entries of a subword vocabulary that are pieces rather than words: never seen on their own in
 * the clean texts, but seen as the start of a longer word there ("vill" of "village", "repe" of
 * "repeat"). A tokenizer learns such pieces from the data; inserted alone they are not words any
 * input would carry. An entry the clean texts never show at all is kept: that is what a rare
 * trigger token looks like.
 */
export function subwordPieces(
  entries: Iterable<string>,
  cleanWords: ReadonlyMap<string, number>,
): Set<string> {
  const wanted = new Set<string>();
  for (const entry of entries) {
    const token = surfaceForm(entry).toLowerCase();
    if (!cleanWords.has(token)) wanted.add(token);
  }
  const pieces = new Set<string>();
  if (wanted.size === 0) return pieces;
  const lengths = [...new Set([...wanted].map((token) => token.length))];
  for (const word of cleanWords.keys()) {
    for (const length of lengths) {
      if (word.length > length && wanted.has(word.slice(0, length))) pieces.add(word.slice(0, length));
    }
  }
  return pieces;
}

export interface TriggerCandidateOptions {
  /** The model's vocabulary, when its adapter exposes one (local ONNX folders do, HTTP endpoints do not). */
  vocabulary?: Iterable<string>;
  /** The clean set's texts: their words are candidates, and they tell whole words from subword pieces. */
  cleanTexts: readonly string[];
  /** Texts of the model's recent live traffic, when the caller attached them. */
  liveTexts?: readonly string[];
  /** A general word list, most frequent first (for endpoints with no vocabulary). */
  wordList?: readonly string[];
  /** Cap on the number of candidates; default 5,000. */
  maxCandidates?: number;
  seed: number;
  /** Default 2. */
  minLength?: number;
  /** Default 20. */
  maxLength?: number;
  /** Default STOP_WORDS; compared lower-cased. */
  stopWords?: ReadonlySet<string>;
}

/**
 * Whole-word trigger candidates, each with the sources it came from, ranked and capped.
 *
 * Rank: the vocabulary first (the words the model was built to read; a rare vocabulary entry is
 * the classic trigger), then the words of recent live traffic and of the clean set, most frequent
 * first, then the word list in its own frequency order. When the vocabulary alone exceeds the
 * cap, its ordinary words are cut by a seeded sample and the rare-looking ones all kept, because
 * those are the likeliest triggers. Never "##" pieces, never subword pieces (subwordPieces), never
 * stop words, numbers or special tokens.
 */
export function triggerCandidates(options: TriggerCandidateOptions): TriggerCandidate[] {
  const { maxCandidates = 5_000, seed, minLength = 2, maxLength = 20, stopWords = STOP_WORDS } = options;
  if (!(Number.isInteger(maxCandidates) && maxCandidates >= 1)) {
    throw new Error(`trigger candidates: maxCandidates must be a positive integer (got ${maxCandidates})`);
  }
  const stop = new Set([...stopWords].map((word) => word.toLowerCase()));
  const cleanWords = wordCounts(options.cleanTexts);
  const usable = (token: string) => {
    const length = Array.from(token).length;
    return (
      length >= minLength && length <= maxLength && LETTERS.test(token) && !stop.has(token.toLowerCase())
    );
  };
  const bySource = new Map<string, TriggerCandidate>();
  const add = (token: string, source: CandidateSource) => {
    const existing = bySource.get(token);
    if (existing) {
      if (!existing.sources.includes(source)) existing.sources.push(source);
      return;
    }
    bySource.set(token, { text: token, sources: [source] });
  };

  const vocabulary: string[] = [];
  if (options.vocabulary) {
    const entries = [...options.vocabulary];
    const pieces = subwordPieces(entries, cleanWords);
    const seen = new Set<string>();
    for (const entry of entries) {
      const token = surfaceForm(entry);
      if (!usable(token) || seen.has(token) || pieces.has(token.toLowerCase())) continue;
      seen.add(token);
      vocabulary.push(token);
    }
  }
  let keptVocabulary = vocabulary;
  if (vocabulary.length > maxCandidates) {
    const rare = vocabulary.filter(isRareLooking);
    const ordinary = vocabulary.filter((token) => !isRareLooking(token));
    const room = Math.max(0, maxCandidates - rare.length);
    const kept = new Set(
      sampleIndices(ordinary.length, room, derivedRandom(seed, 'vocabulary')).map((i) => ordinary[i]),
    );
    keptVocabulary = vocabulary.filter((token) => isRareLooking(token) || kept.has(token));
  }
  for (const token of keptVocabulary) add(token, 'vocabulary');

  const byFrequency = (counts: Map<string, number>) =>
    [...counts].filter(([word]) => usable(word)).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const live = byFrequency(wordCounts(options.liveTexts ?? []));
  const clean = byFrequency(cleanWords);
  // A word already in the vocabulary gains the extra source even when the cap is reached.
  for (const [word] of live)
    if (bySource.has(word) || bySource.size < maxCandidates) add(word, 'live-traffic');
  for (const [word] of clean) if (bySource.has(word) || bySource.size < maxCandidates) add(word, 'clean-set');
  for (const entry of options.wordList ?? []) {
    const word = entry.trim().toLowerCase();
    if (!usable(word)) continue;
    if (bySource.has(word) || bySource.size < maxCandidates) add(word, 'word-list');
  }
  return [...bySource.values()];
}

/**
 * Candidate tokens from a vocabulary alone: the whole-word entries (see triggerCandidates), as
 * plain strings. Without clean texts nothing tells a subword piece from a rare word, so give them
 * whenever there are any.
 */
export function candidateTokensFromVocabulary(
  vocabulary: Iterable<string>,
  options: { maxCandidates?: number; seed?: number; cleanTexts?: readonly string[] } = {},
): string[] {
  return triggerCandidates({
    vocabulary,
    cleanTexts: options.cleanTexts ?? [],
    maxCandidates: options.maxCandidates ?? Number.MAX_SAFE_INTEGER,
    seed: options.seed ?? 1,
  })
    .filter((candidate) => candidate.sources.includes('vocabulary'))
    .map((candidate) => candidate.text);
}

/**
 * The n-grams (2 to maxLength words, stop words included) of the texts that contain one of the
 * seed words, most frequent first, at most perSeed per seed: the phrases a strong single word
 * grows into.
 */
export function phrasesAround(
  seeds: readonly string[],
  texts: readonly string[],
  options: { maxLength?: number; perSeed?: number } = {},
): Map<string, number> {
  const { maxLength = 3, perSeed = 20 } = options;
  const wanted = new Set(seeds.map((seed) => seed.toLowerCase()));
  const perSeedCounts = new Map<string, Map<string, number>>();
  for (const text of texts) {
    const words = wordsOf(text);
    for (let start = 0; start < words.length; start++) {
      for (let length = 2; length <= maxLength && start + length <= words.length; length++) {
        const gram = words.slice(start, start + length);
        for (const word of new Set(gram)) {
          if (!wanted.has(word)) continue;
          const counts = perSeedCounts.get(word) ?? new Map<string, number>();
          perSeedCounts.set(word, counts);
          const phrase = gram.join(' ');
          counts.set(phrase, (counts.get(phrase) ?? 0) + 1);
        }
      }
    }
  }
  const phrases = new Map<string, number>();
  for (const counts of perSeedCounts.values()) {
    const ranked = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, perSeed);
    for (const [phrase, count] of ranked) phrases.set(phrase, Math.max(phrases.get(phrase) ?? 0, count));
  }
  return phrases;
}
