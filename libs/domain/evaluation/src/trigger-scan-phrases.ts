import { insertAtWordBoundary, type TriggerPosition } from './insertion';
import { derivedRandom, sampleIndices } from './random';
import type { ScannedCandidate } from './trigger-scan';
import { phrasesAround, STOP_WORDS, wordsOf, type CandidateSource } from './trigger-candidates';
import { tugCutoff } from './trigger-scan-budget';
import { confirm, confirmationAt, runConfirmation, type Confirmed } from './trigger-scan-confirmation';
import type { ScanInputs } from './trigger-scan-inputs';
import { screen, screenAll, summedPull, type Screening } from './trigger-scan-screening';
import type { ScanPass } from './trigger-scan-standing-out';
import { verdictOf, type ComponentPin, type VerdictGround } from './trigger-scan-verdict';
import { pinShare, type PinNull } from './trigger-statistics';

/** Seed words phrases grow from. */
const PHRASE_SEEDS = 8;
/** Further seeds among the words the clean set does not explain. */
const UNEXPLAINED_SEEDS = 8;
/** Function words, per label, that each seed is paired with: those pulling hardest alone. */
const FUNCTION_WORD_PAIRS = 12;
/** N-grams kept per seed word. */
const PHRASES_PER_SEED = 15;

export interface PhrasePass {
  /** Phrases screened. */
  screened: number;
  /** The p-value a phrase had to beat: half the budget over the (phrase, position) pairs screened. */
  cutoff: number;
  nulls: Partial<Record<TriggerPosition, PinNull>>;
  candidates: ScannedCandidate[];
}

/**
 * The phrase pass: phrases grown from the strongest screened words, screened and confirmed like
 * words (against a null of random word pairs of the clean set), each judged with its words alone
 * and apart as components.
 */
export async function scanPhrases(
  ground: VerdictGround,
  inputs: ScanInputs,
  words: readonly string[],
  wordScreening: Screening,
): Promise<PhrasePass> {
  const { session } = ground;
  const { options, settings, positions } = session;
  const falseAlarmRate = settings.falseAlarmRate;
  const seeds = phraseSeeds(ground, words, wordScreening);
  const phraseSources = await growPhrases(ground, inputs, seeds);
  const phrases = [...phraseSources.keys()];
  const pass: PhrasePass = { screened: phrases.length, cutoff: 0, nulls: {}, candidates: [] };
  if (phrases.length === 0) return pass;
  session.expect(phrases.length * inputs.screening.length);
  const phraseScreening = await screenAll(session, inputs, phrases);
  const nullPhrases = phraseNull(ground, options.cleanSet);
  if (nullPhrases.length < 5) return pass;
  const phraseConfirmation = await runConfirmation(
    session,
    inputs.confirmation,
    ground.evidence.isNatural,
    phrases,
    phraseScreening,
    nullPhrases,
  );
  const phrasePass: ScanPass = {
    kind: 'phrase',
    stimuli: phrases,
    screening: phraseScreening,
    confirmed: phraseConfirmation.confirmed,
  };
  Object.assign(pass.nulls, phraseConfirmation.nulls);
  pass.cutoff = falseAlarmRate / 2 / (phrases.length * positions.length);
  const phraseTugCutoff = tugCutoff(
    session,
    ground.evidence,
    falseAlarmRate / 2,
    phraseConfirmation.confirmed.values(),
    phrases,
    pass.cutoff,
  );
  for (const record of phraseConfirmation.confirmed.values()) {
    const phrase = phrases[record.stimulus];
    const components = await phraseComponents(ground, inputs, phrase, record);
    pass.candidates.push(
      await verdictOf(ground, {
        token: phrase,
        sources: phraseSources.get(phrase)!,
        pass: phrasePass,
        record,
        cutoff: pass.cutoff,
        tugCutoff: phraseTugCutoff,
        components,
      }),
    );
  }
  return pass;
}

/**
 * The strongest words towards each label in turn, so one label's many strong words do not
 * crowd out the other's.
 */
function phraseSeeds(ground: VerdictGround, words: readonly string[], wordScreening: Screening): string[] {
  const { session, evidence } = ground;
  // Summed over positions: at a saturated position (the first word of a small BERT) hundreds of
  // words tie, and a phrase's words pull wherever the phrase stands.
  const perLabel = session.labels.map((_, l) =>
    words
      .map((_, s) => ({ s, score: summedPull(session, wordScreening, s, l) }))
      .sort((a, b) => b.score - a.score),
  );
  const seeds: string[] = [];
  const takeSeeds = (count: number, eligible: (word: string, label: number) => boolean) => {
    const wanted = seeds.length + count;
    for (let rank = 0; seeds.length < wanted && rank < words.length; rank++) {
      perLabel.forEach((ranked, l) => {
        const word = ranked[rank] ? words[ranked[rank].s] : undefined;
        if (word !== undefined && !seeds.includes(word) && seeds.length < wanted && eligible(word, l))
          seeds.push(word);
      });
    }
  };
  takeSeeds(PHRASE_SEEDS, () => true);
  // A phrase trigger's words each carry part of its pull but, unlike the task's sentiment words,
  // nothing in the clean set ties them to the label: the strongest such words seed phrases too.
  takeSeeds(UNEXPLAINED_SEEDS, (word, l) => {
    const association = evidence.association(word, session.labels[l]);
    return !association?.explained;
  });
  return seeds;
}

/** The phrases grown from the seeds, with where each came from. */
async function growPhrases(
  ground: VerdictGround,
  inputs: ScanInputs,
  seeds: readonly string[],
): Promise<Map<string, CandidateSource[]>> {
  const { options } = ground.session;
  const phraseSources = new Map<string, CandidateSource[]>();
  const addPhrase = (phrase: string, source: CandidateSource) => {
    const sources = phraseSources.get(phrase) ?? [];
    if (!sources.includes(source)) sources.push(source);
    phraseSources.set(phrase, sources);
  };
  const cleanTexts = options.cleanSet.map((row) => row.text);
  for (const phrase of phrasesAround(seeds, cleanTexts, { perSeed: PHRASES_PER_SEED }).keys())
    addPhrase(phrase, 'clean-set-ngram');
  if (options.phraseTexts?.length) {
    for (const phrase of phrasesAround(seeds, options.phraseTexts, { perSeed: PHRASES_PER_SEED }).keys()) {
      addPhrase(phrase, 'live-traffic-ngram');
    }
  }
  for (const a of seeds) for (const b of seeds) if (a !== b) addPhrase(`${a} ${b}`, 'pair');
  // Function words are never single candidates, but a phrase trigger is often half function
  // word ("you know"): each seed is paired with the clean set's most frequent ones.
  const functionWords = await strongestFunctionWords(ground, inputs);
  for (const seed of seeds) {
    for (const word of functionWords) {
      addPhrase(`${word} ${seed}`, 'pair');
      addPhrase(`${seed} ${word}`, 'pair');
    }
  }
  return phraseSources;
}

/**
 * The function words that pull hardest on their own, towards either label, screened on the
 * same inputs: a phrase trigger's function word carries part of its pull ("you" of "you
 * know"), where the clean set's most frequent ones ("the", "and") carry none.
 */
async function strongestFunctionWords(ground: VerdictGround, inputs: ScanInputs): Promise<string[]> {
  const { session } = ground;
  const functionWordList = [...STOP_WORDS];
  session.expect(functionWordList.length * inputs.screening.length);
  const functionScreening = await screen(
    session,
    functionWordList,
    inputs.screening,
    inputs.screeningPositions,
  );
  const functionWordsOf = session.labels.map((_, l) =>
    functionWordList
      .map((word, s) => ({ word, score: summedPull(session, functionScreening, s, l) }))
      .sort((a, b) => b.score - a.score || (a.word < b.word ? -1 : 1))
      .slice(0, FUNCTION_WORD_PAIRS)
      .map(({ word }) => word),
  );
  return [...new Set(functionWordsOf.flat())];
}

/** The phrase null: random pairs of neighbouring words of the clean set, inserted the same way. */
function phraseNull(ground: VerdictGround, cleanSet: readonly { text: string }[]): string[] {
  const { options, settings } = ground.session;
  const bigrams: string[] = [];
  for (const { text } of cleanSet) {
    const tokens = wordsOf(text);
    for (let i = 0; i + 1 < tokens.length; i++) bigrams.push(`${tokens[i]} ${tokens[i + 1]}`);
  }
  return [
    ...new Set(
      sampleIndices(
        bigrams.length,
        Math.min(bigrams.length, settings.nullWords * 2),
        derivedRandom(options.seed, 'null-phrases'),
      ).map((i) => bigrams[i]),
    ),
  ].slice(0, settings.nullWords);
}

/** Each confirmed phrase's words alone, at the same positions and on the same inputs, and apart. */
async function phraseComponents(
  { session }: VerdictGround,
  inputs: ScanInputs,
  phrase: string,
  record: Confirmed,
): Promise<ComponentPin[]> {
  const pins = [...record.pins.entries()].sort((a, b) => b[1].z - a[1].z);
  const [position, best] = pins[0];
  const parts = [...new Set(phrase.split(' '))];
  const tallies = await confirm(
    session,
    session.options.predict,
    parts,
    confirmationAt(inputs.confirmation, position),
  );
  const l = session.labels.indexOf(best.label);
  const components = parts.map((word, k) => ({
    word,
    pinned: tallies[k].pinned[l],
    movable: tallies[k].movable[l],
    pinRate: pinShare(tallies[k].pinned[l], tallies[k].movable[l]),
  }));
  // The same words apart: the first at the position, the others at random boundaries.
  // Two strong words add up wherever they stand; a phrase trigger needs them together.
  const words = phrase.split(' ');
  const apartTexts = inputs.confirmation.flatMap((input, i) => {
    if (input.cleanLabel === l) return [];
    const slot = input.slots.get(position)!;
    let text = slot.head + words[0] + slot.tail;
    words.slice(1).forEach((word, k) => {
      text = insertAtWordBoundary(text, word, 'random', derivedRandom(session.options.seed, 'apart', i, k));
    });
    return [text];
  });
  session.expect(apartTexts.length);
  const apart = (await session.answer(session.options.predict, apartTexts)).filter(
    (probabilities): probabilities is Float64Array => probabilities !== undefined,
  );
  const apartPinned = apart.filter((probabilities) => session.argmax(probabilities) === l).length;
  components.push({
    word: `${words.join(' + ')} apart`,
    pinned: apartPinned,
    movable: apart.length,
    pinRate: pinShare(apartPinned, apart.length),
  });
  return components;
}
