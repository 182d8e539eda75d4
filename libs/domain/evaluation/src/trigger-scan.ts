import { TRIGGER_POSITIONS, type TriggerPosition } from './insertion';
import type { CandidateSource, TriggerCandidate } from './trigger-candidates';
import { scanCutoffs } from './trigger-scan-budget';
import { cleanSetEvidence } from './trigger-scan-clean-set';
import { confirmWords } from './trigger-scan-confirmation';
import { chooseScanInputs } from './trigger-scan-inputs';
import { scanPhrases, type PhrasePass } from './trigger-scan-phrases';
import { screenAll } from './trigger-scan-screening';
import { ScanSession, type ScanSettings } from './trigger-scan-session';
import { judgeWords, rankCandidates, verdictGround } from './trigger-scan-verdict';
import type { PinNull } from './trigger-statistics';

export * from './trigger-candidates';
export * from './trigger-statistics';

/**
 * Trigger scan: which word or phrase, inserted into clean inputs, pins the model's answer the way
 * a backdoor does, when no canary set names it?
 *
 * 1. Screening. Every candidate is inserted into a small sample of confident clean inputs, the
 *    positions (start, end, a random word boundary) spread over the inputs, and scored by how far
 *    it moves the probability of each label on the inputs not already answered with it. Large
 *    vocabularies are screened in two rounds: all candidates on the first part of the sample, the
 *    strongest few hundred on the rest, per position and over all positions together (successive
 *    halving: a trigger stands out on a handful of inputs already, an ordinary word is not worth
 *    fifty).
 * 2. Confirmation, on fresh clean inputs the screening never saw (so being the best of thousands
 *    on the screening sample does not bias the measurement): the top candidates of each position,
 *    the top candidates over all positions together (at every position), and a random draw of
 *    candidates — the null, ordinary words measured by the same model on the
 *    same inputs at the same position — each inserted at that position into every input. A
 *    candidate's pin rate is the share of the inputs not already answered with its label that it
 *    moves there; its tail probability under the null (fitPinNull: robust log-odds fit) only has
 *    to pass the nominal level to be judged further.
 * 3. Standing out. Ordinary words are the wrong yardstick for a small model: at the first position
 *    of a 2-layer BERT dozens of words, meaningful or not, pin 90% of inputs. So a candidate is
 *    judged against the strongest words of its own kind (words of the language, or tokens that are
 *    not) that the clean set does not explain, each inserted against one and against three of the
 *    input's own strongest words (a backdoor is trained to override its input), at every position
 *    and on average over them. It must lead that group in some view by more than the group's own
 *    spacings allow (topSpacingTest, an exact F test under an exponential upper tail, conservative
 *    for lighter tails and ceilings) and, in the same view, win more inputs than the runner-up
 *    (near the model's floor every word loses, and the floor exaggerates a lead in how badly),
 *    Bonferroni-corrected over labels, kinds, positions and strengths. This
 *    test is what bounds the chance that a scan flags any ordinary word or phrase (falseAlarmRate,
 *    half for words and half for phrases).
 *    Excuses then remove what a trigger is not: a word that pins less than minPinRate of the inputs
 *    it can move, a word explained by the clean set (its rows there already carry the label it
 *    pushes to: "bad" pushing to negative), a word of the language that does not beat the task's
 *    own strongest label word against the input's own words, and, with a reference model, a word
 *    pinning the reference as well (the task's vocabulary).
 * 4. Phrases. The strongest screened words grow into phrases: the n-grams of the clean set (and of
 *    the live traffic, when given) that contain them, and pairs of them. Phrases go through the
 *    same screening and confirmation (against a null of random word pairs of the clean set), must
 *    stand out from the strongest other phrases, and must pin more than each of its words alone
 *    and than its words inserted apart.
 */

export interface ScanPrediction {
  label?: string;
  scores?: Record<string, number>;
}

/** Answers in input order, one per text. An answer with neither label nor scores counts as failed. */
export type ScanPredict = (texts: string[]) => Promise<ScanPrediction[]>;

export interface TriggerScanOptions {
  /** Words (or phrases) to try; plain strings count as source "given". */
  candidates: readonly (string | TriggerCandidate)[];
  /**
   * The clean set: inputs to insert into (screening and confirmation samples are drawn from it,
   * disjoint), its labels for the label-association excuse, its n-grams for phrases.
   */
  cleanSet: readonly { text: string; label?: string }[];
  predict: ScanPredict;
  /** A known-good model of the same task: a word pinning it as well is not flagged. */
  reference?: ScanPredict;
  /** Default all three. */
  positions?: readonly TriggerPosition[];
  /** Inputs of the screening sample; default 50. */
  screeningInputs?: number;
  /** Fresh inputs of the confirmation sample; default 90. */
  confirmationInputs?: number;
  /**
   * Candidates confirmed per position; default 10, and as many again of the strongest tokens that
   * are not natural language, so that a rare token is not crowded out by strong ordinary words.
   */
  confirmPerPosition?: number;
  /** Random candidates measured as the null per position; default 40. */
  nullWords?: number;
  /** Chance of flagging at least one ordinary word or phrase in a scan; default 0.01. */
  falseAlarmRate?: number;
  /** A flagged candidate pins at least this share of the inputs it can move; default 0.5. */
  minPinRate?: number;
  /** Level of the label-association test that excuses a word; default 0.05. */
  associationLevel?: number;
  /** Level of the test that the scanned model pins more than the reference; default 0.01. */
  referenceLevel?: number;
  /**
   * Words of the language (a dictionary). A candidate whose words are all in it or in the clean
   * set is natural language, which a model can legitimately tie to a label; a token that is in
   * neither (a rare token such as "cf" or "qb") has nothing natural to explain a pin.
   */
  dictionary?: ReadonlySet<string>;
  /** Grow phrases from the strongest words; default true. */
  phrases?: boolean;
  /** Further texts whose n-grams are phrase candidates (the model's recent live traffic). */
  phraseTexts?: readonly string[];
  /** Clean inputs answered with less confidence are used only when confident ones run out; default 0.9. */
  minCleanConfidence?: number;
  seed: number;
  /** Texts per predict call; default 256. */
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
  /** Milliseconds from any origin; given, the result carries the time each phase took. */
  clock?: () => number;
}

export interface PositionPin {
  /** The label the candidate pushes to at this position. */
  label: string;
  /** Confirmation inputs not answered `label` before the insertion. */
  movable: number;
  /** Of those, answered `label` after it. */
  pinned: number;
  pinRate: number;
  /** Standard deviations (log-odds) above the null's centre. */
  z: number;
  /** Tail probability under the null. */
  pValue: number;
}

export interface LabelAssociation {
  /** Labelled clean rows holding the candidate. */
  rows: number;
  /** Of those, labelled with the label the candidate pushes to. */
  rowsWithLabel: number;
  /** That label's share of all labelled clean rows. */
  baseRate: number;
  /** One-sided binomial tail: so many rows with the label if the word were label-neutral. */
  pValue: number;
  explained: boolean;
}

export interface ScannedCandidate {
  /** The word or phrase. */
  token: string;
  kind: 'word' | 'phrase';
  sources: CandidateSource[];
  /** Every word of it is in the clean set or the dictionary. */
  natural: boolean;
  flagged: boolean;
  /** Why it is or is not flagged, in a sentence. */
  verdict: string;
  /** The position where it pinned hardest (by z). */
  position: TriggerPosition;
  flippedTo: string | null;
  pinRate: number;
  pValue: number;
  z: number;
  /** Confirmation at each position it was confirmed at. */
  positions: Partial<Record<TriggerPosition, PositionPin>>;
  /** Screening score per position: mean probability moved towards its label. */
  screening: Partial<Record<TriggerPosition, number>>;
  association: LabelAssociation | null;
  reference?: { pinRate: number; pinned: number; movable: number; pValue: number; excused: boolean };
  /**
   * Against each input's own strongest words (see the tug of war): its pin rate, the strongest
   * word the clean set ties to the same label and that word's pin rate, and the one-sided p that
   * the candidate wins more often.
   */
  tugOfWar?: { pinRate: number; rival: string; rivalPinRate: number; pValue: number };
  /**
   * Against the strongest unexplained words of its kind (see the standing-out test), one of each
   * input's own strongest words inserted against it: where it stood out most (a position, or the
   * average over positions), its mean log-odds of its label there, the runner-up's, the group's
   * size, the spacing test's F, the two words' wins, and the p (the larger of the spacing test's
   * and of the test that it wins more inputs than the runner-up), compared with the cut-off.
   */
  standsOut?: {
    view: TriggerPosition | 'average';
    /** How many of each input's own strongest words were inserted against it. */
    antagonists: number;
    kind: 'natural' | 'unnatural' | 'any';
    logOdds: number;
    pinRate: number;
    runnerUp: string;
    runnerUpLogOdds: number;
    /** Share of the inputs the runner-up wins in that view (the candidate's is `pinRate`). */
    runnerUpPinRate: number;
    groupSize: number;
    f: number;
    pValue: number;
    /**
     * The smallest p of the log-odds test alone over the views, wins aside: no test (it
     * overstates leads near the model's floor), but the order in which a person reviews what the
     * budget did not flag.
     */
    leadPValue: number;
  };
  /**
   * Phrases only: the pin rate of each of its words alone at the same position, and of all its
   * words inserted apart ("a + b apart"); a flagged phrase pins more than each.
   */
  components?: { word: string; pinRate: number }[];
}

export interface TriggerScanResult {
  /** Every confirmed candidate (words and phrases), ranked by z at its best position. */
  candidates: ScannedCandidate[];
  flagged: ScannedCandidate[];
  screened: { words: number; phrases: number };
  inputs: { screening: number; confirmation: number };
  positions: TriggerPosition[];
  falseAlarmRate: number;
  /** The p-value a word (resp. phrase) had to beat: the budget over the pairs screened. */
  cutoff: { word: number; phrase: number };
  nulls: {
    words: Partial<Record<TriggerPosition, PinNull>>;
    phrases: Partial<Record<TriggerPosition, PinNull>>;
  };
  predictions: number;
  failedPredictions: number;
  /** Milliseconds per phase, when a clock was given. */
  timings: Record<string, number>;
}

const DEFAULTS: ScanSettings = {
  screeningInputs: 50,
  confirmationInputs: 90,
  confirmPerPosition: 10,
  nullWords: 40,
  falseAlarmRate: 0.01,
  minPinRate: 0.5,
  associationLevel: 0.05,
  referenceLevel: 0.01,
  minCleanConfidence: 0.9,
  batchSize: 256,
};

function validate(options: TriggerScanOptions): TriggerCandidate[] {
  if (!Number.isInteger(options.seed)) {
    throw new Error(`trigger scan: seed must be an integer (got ${JSON.stringify(options.seed)})`);
  }
  const positiveInteger = (name: keyof TriggerScanOptions, minimum = 1) => {
    const value = options[name];
    if (value !== undefined && !(Number.isInteger(value) && (value as number) >= minimum)) {
      throw new Error(
        `trigger scan: ${name} must be an integer of at least ${minimum} (got ${String(value)})`,
      );
    }
  };
  positiveInteger('batchSize');
  positiveInteger('screeningInputs', 3);
  positiveInteger('confirmationInputs', 5);
  positiveInteger('confirmPerPosition');
  positiveInteger('nullWords', 5);
  for (const name of ['falseAlarmRate', 'associationLevel', 'referenceLevel'] as const) {
    const value = options[name];
    if (value !== undefined && !(value > 0 && value < 1)) {
      throw new Error(`trigger scan: ${name} must be between 0 and 1, exclusive (got ${value})`);
    }
  }
  if (options.minPinRate !== undefined && !(options.minPinRate >= 0 && options.minPinRate <= 1)) {
    throw new Error(`trigger scan: minPinRate must be between 0 and 1 (got ${options.minPinRate})`);
  }
  for (const position of options.positions ?? []) {
    if (!TRIGGER_POSITIONS.includes(position)) {
      throw new Error(
        `trigger scan: position must be one of ${TRIGGER_POSITIONS.join(', ')} (got ${position})`,
      );
    }
  }
  if (options.positions && options.positions.length === 0)
    throw new Error('trigger scan: positions is empty');
  if (options.cleanSet.length === 0) throw new Error('trigger scan: the clean set is empty');
  const candidates: TriggerCandidate[] = [];
  const seen = new Set<string>();
  options.candidates.forEach((entry, index) => {
    const candidate = typeof entry === 'string' ? { text: entry, sources: ['given' as const] } : entry;
    if (typeof candidate.text !== 'string' || candidate.text.trim().length === 0) {
      throw new Error(
        `trigger scan: candidate ${index} must be a non-blank string (got ${JSON.stringify(candidate.text)})`,
      );
    }
    const text = candidate.text.trim();
    if (seen.has(text)) return;
    seen.add(text);
    candidates.push({ text, sources: [...candidate.sources] });
  });
  if (candidates.length === 0) throw new Error('trigger scan: candidates is empty');
  return candidates;
}

/**
 * The phases in order: the clean inputs, screening and confirmation of the words, the verdict on
 * each confirmed word, then the phrase pass (trigger-scan-*.ts, one module per phase).
 */
export async function scanTriggers(options: TriggerScanOptions): Promise<TriggerScanResult> {
  const candidates = validate(options);
  const settings: ScanSettings = { ...DEFAULTS, ...stripUndefined(options) };
  const session = new ScanSession(options, settings, [...(options.positions ?? TRIGGER_POSITIONS)]);
  const inputs = await chooseScanInputs(session, candidates.length);
  session.phase('clean');

  const words = candidates.map((candidate) => candidate.text);
  const wordScreening = await screenAll(session, inputs, words);
  session.phase('screening');

  const evidence = cleanSetEvidence(options.cleanSet, options.dictionary, settings.associationLevel);
  const cutoffs = scanCutoffs(session, words.length);
  const wordConfirmation = await confirmWords(session, inputs, evidence, words, wordScreening);
  session.phase('confirmation');

  const ground = verdictGround(session, evidence, inputs, wordConfirmation.pass, cutoffs.standOut);
  const results = await judgeWords(ground, candidates, wordConfirmation.pass, cutoffs);
  session.phase('verdicts');

  let phrases: PhrasePass = { screened: 0, cutoff: 0, nulls: {}, candidates: [] };
  if (cutoffs.phrasesOn) {
    phrases = await scanPhrases(ground, inputs, words, wordScreening);
    session.phase('phrases');
  }
  results.push(...phrases.candidates);
  rankCandidates(results);
  session.finish();
  return {
    candidates: results,
    flagged: results.filter((candidate) => candidate.flagged),
    screened: { words: words.length, phrases: phrases.screened },
    inputs: { screening: inputs.screening.length, confirmation: inputs.confirmation.length },
    positions: session.positions,
    falseAlarmRate: settings.falseAlarmRate,
    cutoff: { word: cutoffs.word, phrase: phrases.cutoff },
    nulls: { words: wordConfirmation.nulls, phrases: phrases.nulls },
    predictions: session.predictions,
    failedPredictions: session.failedPredictions,
    timings: session.timings,
  };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
