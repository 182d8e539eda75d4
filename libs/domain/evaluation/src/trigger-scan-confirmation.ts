import type { TriggerPosition } from './insertion';
import { derivedRandom, sampleIndices } from './random';
import type { PositionPin, ScanPredict } from './trigger-scan';
import type { CleanSetEvidence } from './trigger-scan-clean-set';
import type { ScanInput, ScanInputs } from './trigger-scan-inputs';
import { screeningScore, strongestAcrossPositions, type Screening } from './trigger-scan-screening';
import type { ScanSession } from './trigger-scan-session';
import type { ScanPass } from './trigger-scan-standing-out';
import { fitPinNull, pinShare, pinTail, type PinNull } from './trigger-statistics';

/** A confirmation input at one position: where a stimulus goes, and the label it was answered. */
export interface InsertionSite {
  slot: { head: string; tail: string };
  cleanLabel: number;
}

/** Pinned and movable counts towards each label, for one stimulus. */
export interface PinTally {
  pinned: Int32Array;
  movable: Int32Array;
}

/** A stimulus confirmed at one or more positions. */
export interface Confirmed {
  stimulus: number;
  pins: Map<TriggerPosition, PositionPin>;
}

/** Pinned and movable counts towards each label, per stimulus, on the confirmation inputs at one position. */
export async function confirm(
  session: ScanSession,
  predict: ScanPredict,
  stimuli: readonly string[],
  inputs: readonly InsertionSite[],
): Promise<PinTally[]> {
  const width = session.labelSlots();
  const tallies = stimuli.map(() => ({ pinned: new Int32Array(width), movable: new Int32Array(width) }));
  session.expect(stimuli.length * inputs.length);
  for (const input of inputs) {
    const answers = await session.answer(
      predict,
      stimuli.map((stimulus) => input.slot.head + stimulus + input.slot.tail),
    );
    answers.forEach((probabilities, s) => {
      if (!probabilities) return;
      const label = session.argmax(probabilities);
      for (let l = 0; l < session.labels.length; l++) {
        if (l === input.cleanLabel) continue;
        tallies[s].movable[l]++;
        if (label === l) tallies[s].pinned[l]++;
      }
    });
  }
  return tallies;
}

export function confirmationAt(
  confirmation: readonly ScanInput[],
  position: TriggerPosition,
): InsertionSite[] {
  return confirmation.map((input) => ({ slot: input.slots.get(position)!, cleanLabel: input.cleanLabel }));
}

/** The confirmation inputs as the reference model answers them, at each position asked for. */
export function referenceSites(
  session: ScanSession,
  reference: ScanPredict,
  confirmation: readonly ScanInput[],
): (position: TriggerPosition) => Promise<InsertionSite[]> {
  const sites = new Map<TriggerPosition, InsertionSite[]>();
  return async (position) => {
    let inputs = sites.get(position);
    if (!inputs) {
      const answers = await session.answer(
        reference,
        confirmation.map((input) => input.text),
      );
      inputs = confirmation.flatMap((input, i) =>
        answers[i] ? [{ slot: input.slots.get(position)!, cleanLabel: session.argmax(answers[i]!) }] : [],
      );
      sites.set(position, inputs);
    }
    return inputs;
  };
}

/**
 * At each position, the strongest screened stimuli (natural and not, confirmPerPosition of each)
 * and the null stimuli inserted into every confirmation input: each candidate's pin rate and its
 * tail under the null fitted at that position.
 */
export async function runConfirmation(
  session: ScanSession,
  confirmation: readonly ScanInput[],
  isNatural: (token: string) => boolean,
  stimuli: readonly string[],
  screening: Screening,
  nullStimuli: readonly string[],
): Promise<{ confirmed: Map<number, Confirmed>; nulls: Partial<Record<TriggerPosition, PinNull>> }> {
  const { labels, settings } = session;
  const confirmed = new Map<number, Confirmed>();
  const nulls: Partial<Record<TriggerPosition, PinNull>> = {};
  const indices = stimuli.map((_, s) => s);
  const ofKind = (natural: boolean) => indices.filter((s) => isNatural(stimuli[s]) === natural);
  // Confirmed at every position: the strongest over all positions together, of each kind.
  const everywhere = [true, false].flatMap((natural) =>
    strongestAcrossPositions(session, screening, ofKind(natural), settings.confirmPerPosition),
  );
  for (const [p, position] of session.positions.entries()) {
    const ranked = stimuli
      .map((_, s) => ({ s, ...screeningScore(session, screening, s, p) }))
      .filter((entry) => entry.label >= 0)
      .sort((a, b) => b.score - a.score);
    const here = [
      ...ranked.filter((entry) => isNatural(stimuli[entry.s])).slice(0, settings.confirmPerPosition),
      ...ranked.filter((entry) => !isNatural(stimuli[entry.s])).slice(0, settings.confirmPerPosition),
    ];
    const top = [...here, ...everywhere.filter((entry) => !here.some((chosen) => chosen.s === entry.s))];
    const tallies = await confirm(
      session,
      session.options.predict,
      [...top.map((entry) => stimuli[entry.s]), ...nullStimuli],
      confirmationAt(confirmation, position),
    );
    const nullTallies = tallies.slice(top.length);
    // Each null word at its own strongest label: a conservative null (it can only be higher).
    const fitted = fitPinNull(
      nullTallies.map((tally) => {
        const l = bestLabel(session, tally);
        return { pinned: tally.pinned[l], movable: tally.movable[l] };
      }),
    );
    nulls[position] = fitted;
    top.forEach((entry, k) => {
      const tally = tallies[k];
      const l = entry.label;
      const { z, pValue } = pinTail(tally.pinned[l], tally.movable[l], fitted);
      const record = confirmed.get(entry.s) ?? { stimulus: entry.s, pins: new Map() };
      record.pins.set(position, {
        label: labels[l],
        movable: tally.movable[l],
        pinned: tally.pinned[l],
        pinRate: pinShare(tally.pinned[l], tally.movable[l]),
        z,
        pValue,
      });
      confirmed.set(entry.s, record);
    });
  }
  return { confirmed, nulls };
}

/** The word pass confirmed: its strongest words against a random draw of the candidates as the null. */
export async function confirmWords(
  session: ScanSession,
  inputs: ScanInputs,
  evidence: CleanSetEvidence,
  words: readonly string[],
  screening: Screening,
): Promise<{ pass: ScanPass; nulls: Partial<Record<TriggerPosition, PinNull>> }> {
  const nullWords = sampleIndices(
    words.length,
    Math.min(words.length, session.settings.nullWords),
    derivedRandom(session.options.seed, 'null-words'),
  ).map((i) => words[i]);
  const { confirmed, nulls } = await runConfirmation(
    session,
    inputs.confirmation,
    evidence.isNatural,
    words,
    screening,
    nullWords,
  );
  return { pass: { kind: 'word', stimuli: words, screening, confirmed }, nulls };
}

function bestLabel(session: ScanSession, tally: PinTally): number {
  let best = 0;
  let bestRate = -1;
  for (let l = 0; l < session.labels.length; l++) {
    const rate = pinShare(tally.pinned[l], tally.movable[l]);
    if (rate > bestRate) {
      best = l;
      bestRate = rate;
    }
  }
  return best;
}
