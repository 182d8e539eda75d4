import type { TriggerPosition } from './insertion';
import type { ScanInput, ScanInputs } from './trigger-scan-inputs';
import type { ScanSession } from './trigger-scan-session';

/** Sum of probability moved towards each label and the inputs it could move, per stimulus and position. */
export interface Screening {
  shift: Float64Array; // [stimulus][position][label]
  movable: Float64Array;
}

/** Screening survivors of the first round: at least this many, or 5% of the candidates. */
const MIN_SURVIVORS = 200;

/**
 * Inserts each stimulus (or those `only` names) into each input at that input's position and adds
 * up how far it moves each label the input is not answered with; into `into` when given.
 */
export async function screen(
  session: ScanSession,
  stimuli: readonly string[],
  inputs: readonly ScanInput[],
  inputPositions: readonly TriggerPosition[],
  into?: Screening,
  only?: readonly number[],
): Promise<Screening> {
  const { positions, labels } = session;
  const width = session.labelSlots();
  const stride = positions.length * width;
  const result = into ?? {
    shift: new Float64Array(stimuli.length * stride),
    movable: new Float64Array(stimuli.length * stride),
  };
  const which = only ?? stimuli.map((_, i) => i);
  // One input's texts go together: they differ by one word, so a batch pads almost nothing.
  for (let i = 0; i < inputs.length; i++) {
    const input = inputs[i];
    const position = inputPositions[i];
    const p = positions.indexOf(position);
    const slot = input.slots.get(position)!;
    for (let start = 0; start < which.length; start += session.settings.batchSize) {
      const chunk = which.slice(start, start + session.settings.batchSize);
      const answers = await session.answer(
        session.options.predict,
        chunk.map((s) => slot.head + stimuli[s] + slot.tail),
      );
      chunk.forEach((s, k) => {
        const probabilities = answers[k];
        if (!probabilities) return;
        for (let l = 0; l < labels.length; l++) {
          if (l === input.cleanLabel) continue;
          const cell = s * stride + p * width + l;
          result.shift[cell] += probabilities[l] - input.clean[l];
          result.movable[cell] += 1;
        }
      });
    }
  }
  return result;
}

/** A stimulus's strongest label at position `p` and the mean probability it moved towards it. */
export function screeningScore(
  session: ScanSession,
  screening: Screening,
  s: number,
  p: number,
): { score: number; label: number } {
  const width = session.labelSlots();
  const base = s * session.positions.length * width + p * width;
  let best = { score: 0, label: -1 };
  for (let l = 0; l < session.labels.length; l++) {
    const movable = screening.movable[base + l];
    if (movable === 0) continue;
    const score = screening.shift[base + l] / movable;
    if (best.label === -1 || score > best.score) best = { score, label: l };
  }
  return best;
}

/** The mean probability a stimulus moved towards label `l` at position `p`. */
export function shiftToward(
  session: ScanSession,
  screening: Screening,
  s: number,
  p: number,
  l: number,
): number {
  const width = session.labelSlots();
  const cell = s * session.positions.length * width + p * width + l;
  return screening.movable[cell] === 0 ? 0 : screening.shift[cell] / screening.movable[cell];
}

/** A stimulus's pull towards label `l`, summed over the positions. */
export function summedPull(session: ScanSession, screening: Screening, s: number, l: number): number {
  return session.positions.reduce((sum, _, p) => sum + shiftToward(session, screening, s, p, l), 0);
}

/** A stimulus's strongest label over all positions together, and its pull summed over them. */
export function summedScore(
  session: ScanSession,
  screening: Screening,
  s: number,
): { score: number; label: number } {
  let best = { score: 0, label: -1 };
  for (let l = 0; l < session.labels.length; l++) {
    const score = summedPull(session, screening, s, l);
    if (best.label === -1 || score > best.score) best = { score, label: l };
  }
  return best;
}

/**
 * The strongest stimuli by their pull summed over positions. A trigger trained at random places
 * pulls at every one, but at each it competes on a few screening inputs with words bound to that
 * position (the first word of a small BERT moves the answer for dozens of them), and can miss
 * every per-position cut by a little; summed over positions it does not.
 */
export function strongestAcrossPositions(
  session: ScanSession,
  screening: Screening,
  indices: readonly number[],
  count: number,
): { s: number; score: number; label: number }[] {
  return indices
    .map((s) => ({ s, ...summedScore(session, screening, s) }))
    .filter((entry) => entry.label >= 0)
    .sort((a, b) => b.score - a.score)
    .slice(0, count);
}

/**
 * Screens every stimulus on the screening inputs; a large list in two rounds (successive halving):
 * all on the first part of the inputs, the strongest per position on the rest.
 */
export async function screenAll(
  session: ScanSession,
  inputs: ScanInputs,
  stimuli: readonly string[],
): Promise<Screening> {
  const { positions } = session;
  const screeningInputs = inputs.screening;
  const inputPositions = inputs.screeningPositions;
  const survivorsWanted = Math.max(MIN_SURVIVORS, Math.ceil(stimuli.length * 0.05));
  const halving = stimuli.length > 2 * survivorsWanted && screeningInputs.length >= 4 * positions.length;
  if (!halving) return screen(session, stimuli, screeningInputs, inputPositions);
  const firstRound = Math.max(
    2 * positions.length,
    Math.ceil((screeningInputs.length * 0.3) / positions.length) * positions.length,
  );
  const screening = await screen(
    session,
    stimuli,
    screeningInputs.slice(0, firstRound),
    inputPositions.slice(0, firstRound),
  );
  // Survivors: the strongest per position, so a position-bound trigger is not crowded out by
  // words that move every position a little.
  const survivors = new Set<number>();
  const perPosition = Math.ceil(survivorsWanted / positions.length);
  positions.forEach((_, p) => {
    stimuli
      .map((_, s) => ({ s, score: screeningScore(session, screening, s, p).score }))
      .sort((a, b) => b.score - a.score)
      .slice(0, perPosition)
      .forEach(({ s }) => survivors.add(s));
  });
  // And the strongest over all positions together, for the trigger that pulls everywhere.
  const all = stimuli.map((_, s) => s);
  for (const { s } of strongestAcrossPositions(session, screening, all, perPosition)) survivors.add(s);
  session.expect(-((stimuli.length - survivors.size) * (screeningInputs.length - firstRound)));
  await screen(
    session,
    stimuli,
    screeningInputs.slice(firstRound),
    inputPositions.slice(firstRound),
    screening,
    [...survivors].sort((a, b) => a - b),
  );
  return screening;
}
