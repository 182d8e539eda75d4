import type { CleanSetEvidence } from './trigger-scan-clean-set';
import type { Confirmed } from './trigger-scan-confirmation';
import type { ScanSession } from './trigger-scan-session';
import { STRENGTHS } from './trigger-scan-tug-of-war';

/** The cut-offs the false-alarm rate sets, fixed before any candidate is judged. */
export interface ScanCutoffs {
  phrasesOn: boolean;
  /** The share of the false-alarm rate the word pass spends. */
  wordBudget: number;
  /** The p-value a word's pin had to beat among all (word, position) pairs screened. */
  word: number;
  /** The cut-off of the standing-out test, for a word and for a phrase. */
  standOut: { word: number; phrase: number };
}

export function scanCutoffs(session: ScanSession, wordCount: number): ScanCutoffs {
  const { positions, labels } = session;
  const falseAlarmRate = session.settings.falseAlarmRate;
  // The budget is split between the word pass and the phrase pass, and within each spread over
  // every (candidate, position) pair screened: the top few were chosen from all of them.
  const phrasesOn = session.options.phrases !== false;
  const wordBudget = phrasesOn ? falseAlarmRate / 2 : falseAlarmRate;
  const wordCutoff = wordBudget / (wordCount * positions.length);
  // The standing-out test runs once per label, kind of word and view (each position and their
  // average): Bonferroni over those, fixed before any is measured.
  const standOutTests =
    (positions.length > 1 ? positions.length + 1 : 1) * STRENGTHS.length * Math.max(2, labels.length) * 2;
  return {
    phrasesOn,
    wordBudget,
    word: wordCutoff,
    standOut: { word: wordBudget / standOutTests, phrase: falseAlarmRate / 2 / standOutTests },
  };
}

/**
 * The tug of war tests the candidates that reached it: Bonferroni over those. Its cut-off for one
 * pass: `budget` over the natural candidates whose pin passed `cutoff` and `minPinRate` and that
 * the clean set does not explain (at least one).
 */
export function tugCutoff(
  session: ScanSession,
  evidence: CleanSetEvidence,
  budget: number,
  confirmed: Iterable<Confirmed>,
  stimuli: readonly string[],
  cutoff: number,
): number {
  let count = 0;
  for (const record of confirmed) {
    const best = [...record.pins.values()].sort((a, b) => b.z - a.z)[0];
    const token = stimuli[record.stimulus];
    if (!(best.pValue < cutoff) || best.pinRate < session.settings.minPinRate || !evidence.isNatural(token))
      continue;
    const association = evidence.association(token, best.label);
    if (!association?.explained) count++;
  }
  return budget / Math.max(1, count);
}
