import { insertionSlot, type TriggerPosition } from './insertion';
import { derivedRandom } from './random';
import type { ScanSession } from './trigger-scan-session';

/** A clean input a candidate is inserted into, with the model's answer to it. */
export interface ScanInput {
  text: string;
  label: string | undefined;
  /** Probability of each label (in `labels` order) on the clean text. */
  clean: Float64Array;
  cleanLabel: number;
  slots: Map<TriggerPosition, { head: string; tail: string }>;
}

/** The clean inputs of a scan: two disjoint samples of the clean set. */
export interface ScanInputs {
  screening: ScanInput[];
  /** The position each screening input is screened at, spread over the positions. */
  screeningPositions: TriggerPosition[];
  /** Fresh inputs the screening never saw. */
  confirmation: ScanInput[];
}

interface AnsweredRow {
  index: number;
  clean: Float64Array;
  confidence: number;
}

/**
 * Answers a seeded random sample of the clean set and draws the screening and confirmation inputs
 * from the rows answered, confident ones first. Plans the screening of `candidateCount` candidates.
 */
export async function chooseScanInputs(session: ScanSession, candidateCount: number): Promise<ScanInputs> {
  const { options, settings } = session;
  const wanted = settings.screeningInputs + settings.confirmationInputs;
  const answered = await answerCleanRows(session, wanted, candidateCount);
  // Confident inputs first: a backdoor overrides answers the model is sure of, an ordinary word
  // sways only the uncertain ones. Less confident inputs fill in when confident ones run out.
  const confident = answered.filter((entry) => entry.confidence >= settings.minCleanConfidence);
  const unsure = answered
    .filter((entry) => entry.confidence < settings.minCleanConfidence)
    .sort((a, b) => b.confidence - a.confidence);
  const chosen = [...confident, ...unsure].slice(0, wanted);
  const screeningCount = Math.max(
    3,
    Math.round(
      (chosen.length * settings.screeningInputs) / (settings.screeningInputs + settings.confirmationInputs),
    ),
  );
  const toInput = (entry: AnsweredRow, slotKey: string): ScanInput => {
    const text = options.cleanSet[entry.index].text;
    const slots = new Map(
      session.positions.map((position) => [
        position,
        insertionSlot(text, position, derivedRandom(options.seed, slotKey, entry.index)),
      ]),
    );
    return {
      text,
      label: options.cleanSet[entry.index].label,
      clean: entry.clean,
      cleanLabel: session.argmax(entry.clean),
      slots,
    };
  };
  const screening = chosen.slice(0, screeningCount).map((entry) => toInput(entry, 'screening'));
  const confirmation = chosen.slice(screeningCount).map((entry) => toInput(entry, 'confirmation'));
  if (confirmation.length < 5) {
    throw new Error(
      `trigger scan: the clean set gave ${chosen.length} usable inputs; the scan needs at least ${screeningCount + 5} ` +
        '(screening plus 5 fresh ones to confirm on)',
    );
  }
  const screeningPositions = screening.map((_, i) => session.positions[i % session.positions.length]);
  return { screening, screeningPositions, confirmation };
}

/** The model's answers to twice the rows wanted, in a seeded random order of the clean set. */
async function answerCleanRows(
  session: ScanSession,
  wanted: number,
  candidateCount: number,
): Promise<AnsweredRow[]> {
  const { options, settings } = session;
  // The clean set in a seeded random order: screening and confirmation inputs are its first rows.
  const order = Array.from({ length: options.cleanSet.length }, (_, i) => i);
  const shuffle = derivedRandom(options.seed, 'order');
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(shuffle() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const pool = order.slice(0, Math.min(order.length, wanted * 2));
  session.expect(pool.length + candidateCount * settings.screeningInputs);
  const cleanAnswers = await session.answer(
    options.predict,
    pool.map((index) => options.cleanSet[index].text),
  );
  const answered = pool.flatMap((index, i) => {
    const clean = cleanAnswers[i];
    return clean ? [{ index, clean, confidence: clean[session.argmax(clean)] }] : [];
  });
  if (answered.length < 8) {
    throw new Error(
      `trigger scan: only ${answered.length} of ${pool.length} clean inputs got an answer; a scan needs at least 8`,
    );
  }
  return answered;
}
