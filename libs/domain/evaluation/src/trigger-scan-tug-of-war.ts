import { insertAtWordBoundary, insertionSlot, type TriggerPosition } from './insertion';
import { derivedRandom } from './random';
import type { CleanSetEvidence } from './trigger-scan-clean-set';
import type { ScanInput } from './trigger-scan-inputs';
import { summedPull, type Screening } from './trigger-scan-screening';
import type { ScanSession } from './trigger-scan-session';
import { pinShare } from './trigger-statistics';

/** Clean rows a word needs before its label association counts as one of the task's label words. */
const MIN_ASSOCIATED_ROWS = 3;
/** The task's strongest label words a candidate is compared with, per label. */
const LABEL_WORDS = 4;
/**
 * Strengths of opposition, fixed in advance: one of the input's own strongest words (a word
 * trained to override the input wins where the model's merely strong words lose) and three of
 * them (for a model so swayed by one word, such as by the first word of a small BERT, that dozens
 * of words still win against a single antagonist).
 */
export const STRENGTHS = [1, 3] as const;
/** Log-odds are clipped here: past it a model's answer is saturated and the rest is float noise. */
const MAX_LOG_ODDS = 12;

/** How a stimulus fared against the inputs' own words: inputs it pinned of those it could move, mean log-odds. */
export interface TugCount {
  pinned: number;
  movable: number;
  logOdds: number;
  se: number;
}

/** A word's mean log-odds of a label under one antagonist, with the standard error of that mean, and its wins. */
export interface TugFigure {
  logOdds: number;
  se: number;
  pinRate: number;
  /** Inputs it won (answered with its label despite the antagonists), of those it could move. */
  pinned: number;
  movable: number;
}

/**
 * The task's own label words. Words the clean set ties to a label (significant association, at
 * least MIN_ASSOCIATED_ROWS rows), strongest first by their screening pull summed over positions.
 * They are what this model legitimately answers to: a trigger must beat them, not just ordinary
 * words.
 */
export function taskLabelWords(
  session: ScanSession,
  evidence: CleanSetEvidence,
  words: readonly string[],
  screening: Screening,
): Map<number, string[]> {
  const labelWords = new Map<number, string[]>();
  for (let l = 0; l < session.labels.length; l++) {
    const strongest = words
      .map((word, s) => ({ word, s }))
      .filter(({ word }) => {
        const association = evidence.association(word, session.labels[l]);
        return association !== null && association.explained && association.rows >= MIN_ASSOCIATED_ROWS;
      })
      // Ranked by the pull summed over positions, not at the best one: antagonists go in at random
      // places, and one position sees a few screening inputs only, so its maximum over positions
      // picks the word that got lucky there (`plot` over `bad`), and with it how hard the tug is.
      .map(({ word, s }) => ({ word, score: summedPull(session, screening, s, l) }))
      .sort((a, b) => b.score - a.score)
      .slice(0, LABEL_WORDS)
      .map(({ word }) => word);
    labelWords.set(l, strongest);
  }
  return labelWords;
}

/**
 * The tug of war: each confirmation input not answered `label` gets one of the strongest words
 * of the label it is answered with (inserted at a random boundary), then the stimulus at
 * `position`. A backdoor is trained to override whatever the input says; a word of the task's
 * vocabulary only adds its weight to the rest, so against the input's own strongest words it
 * wins about as often as the other label's strongest words do.
 */
export class TugOfWar {
  private readonly baselines = new Map<
    string,
    { word: string; pinned: number; movable: number; pinRate: number }
  >();

  constructor(
    private readonly session: ScanSession,
    private readonly confirmation: readonly ScanInput[],
    private readonly labelWords: Map<number, string[]>,
  ) {}

  /** Each stimulus inserted at `position` against `antagonistCount` of each input's own words. */
  async pull(
    stimuli: readonly string[],
    position: TriggerPosition,
    label: number,
    antagonistCount = 1,
  ): Promise<TugCount[]> {
    const { session } = this;
    const seed = session.options.seed;
    const texts: string[][] = stimuli.map(() => []);
    this.confirmation.forEach((input, i) => {
      if (input.cleanLabel === label) return;
      const antagonists = this.labelWords.get(input.cleanLabel) ?? [];
      let base = input.text;
      for (let a = 0; a < Math.min(antagonistCount, antagonists.length); a++) {
        base = insertAtWordBoundary(
          base,
          antagonists[(i + a) % antagonists.length],
          'random',
          derivedRandom(seed, 'antagonist', i, a),
        );
      }
      const slot = insertionSlot(base, position, derivedRandom(seed, 'tug', i));
      stimuli.forEach((stimulus, s) => texts[s].push(slot.head + stimulus + slot.tail));
    });
    session.expect(stimuli.length * (texts[0]?.length ?? 0));
    const counts: TugCount[] = [];
    for (const batch of texts) {
      counts.push(tugCount(session, await session.answer(session.options.predict, batch), label));
    }
    return counts;
  }

  /** Each word measured at every position, against one and against three of the input's own words. */
  async across(stimuli: readonly string[], label: number): Promise<Map<string, Map<string, TugFigure>>> {
    const figures = new Map<string, Map<string, TugFigure>>(stimuli.map((word) => [word, new Map()]));
    for (const antagonists of STRENGTHS) {
      for (const position of this.session.positions) {
        const counts = await this.pull(stimuli, position, label, antagonists);
        stimuli.forEach((word, k) =>
          figures.get(word)!.set(`${position}:${antagonists}`, tugFigure(counts[k])),
        );
      }
    }
    return figures;
  }

  /** The task's label word that wins most often at `position`; measured once per position and label. */
  async strongestLabelWord(
    position: TriggerPosition,
    label: number,
  ): Promise<{ word: string; pinned: number; movable: number; pinRate: number } | undefined> {
    const key = `${position}\u0000${label}`;
    if (!this.baselines.has(key)) {
      const own = this.labelWords.get(label) ?? [];
      if (own.length === 0) return undefined;
      const counts = await this.pull(own, position, label);
      const best = counts
        .map((count, k) => ({
          word: own[k],
          ...count,
          pinRate: pinShare(count.pinned, count.movable),
        }))
        .reduce((a, b) => (b.pinRate > a.pinRate ? b : a));
      this.baselines.set(key, best);
    }
    return this.baselines.get(key);
  }
}

/** One stimulus's answers: how many it pinned to `label`, and its mean clipped log-odds of it. */
function tugCount(session: ScanSession, answers: (Float64Array | undefined)[], label: number): TugCount {
  let pinned = 0;
  let movable = 0;
  let logOdds = 0;
  let squares = 0;
  for (const probabilities of answers) {
    if (!probabilities) continue;
    movable++;
    if (session.argmax(probabilities) === label) pinned++;
    const p = probabilities[label];
    const odds = Math.log(p / Math.max(1 - p, Number.MIN_VALUE));
    const clipped = Math.max(
      -MAX_LOG_ODDS,
      Math.min(MAX_LOG_ODDS, Number.isFinite(odds) ? odds : MAX_LOG_ODDS),
    );
    logOdds += clipped;
    squares += clipped * clipped;
  }
  const mean = movable === 0 ? -MAX_LOG_ODDS : logOdds / movable;
  const variance = movable < 2 ? 0 : Math.max(0, (squares - movable * mean * mean) / (movable - 1));
  return { pinned, movable, logOdds: mean, se: movable === 0 ? 0 : Math.sqrt(variance / movable) };
}

function tugFigure(count: TugCount): TugFigure {
  return {
    logOdds: count.logOdds,
    se: count.se,
    pinRate: pinShare(count.pinned, count.movable),
    pinned: count.pinned,
    movable: count.movable,
  };
}
