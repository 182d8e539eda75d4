import type { LabelAssociation, TriggerScanOptions } from './trigger-scan';
import { wordsOf } from './trigger-candidates';
import { binomialUpperTail } from './trigger-statistics';

/** What the clean set says about a word or phrase, whatever model is scanned. */
export interface CleanSetEvidence {
  /**
   * Whether the clean set ties `token` to `label`: its rows holding the token carry the label
   * more often than the label's base rate allows. Null when no labelled row has that label.
   */
  association(token: string, label: string): LabelAssociation | null;
  /** Every word of `token` is in the clean set or the dictionary. */
  isNatural(token: string): boolean;
}

export function cleanSetEvidence(
  cleanSet: TriggerScanOptions['cleanSet'],
  dictionary: ReadonlySet<string> | undefined,
  associationLevel: number,
): CleanSetEvidence {
  const cleanRows = cleanSet.map((row) => ({
    words: ` ${wordsOf(row.text).join(' ')} `,
    label: row.label,
  }));
  const labelled = cleanSet.filter((row) => row.label !== undefined && row.label !== '');
  const baseRates = new Map<string, number>();
  for (const row of labelled)
    baseRates.set(row.label!, (baseRates.get(row.label!) ?? 0) + 1 / labelled.length);

  const cleanVocabulary = new Set(cleanSet.flatMap((row) => wordsOf(row.text)));
  return {
    association: (token, label) => labelAssociation(token, label, cleanRows, baseRates, associationLevel),
    isNatural: (token) =>
      wordsOf(token).every((word) => cleanVocabulary.has(word) || dictionary?.has(word) === true),
  };
}

/** Rows of the clean set holding a word or phrase (whole words, lower-cased). */
function labelAssociation(
  token: string,
  label: string,
  rows: readonly { words: string; label?: string }[],
  baseRates: Map<string, number>,
  level: number,
): LabelAssociation | null {
  const baseRate = baseRates.get(label);
  if (baseRate === undefined) return null;
  const needle = ` ${wordsOf(token).join(' ')} `;
  let holding = 0;
  let withLabel = 0;
  for (const row of rows) {
    if (row.label === undefined || !row.words.includes(needle)) continue;
    holding++;
    if (row.label === label) withLabel++;
  }
  const pValue = binomialUpperTail(withLabel, holding, baseRate);
  return {
    rows: holding,
    rowsWithLabel: withLabel,
    baseRate,
    pValue,
    explained: holding > 0 && pValue < level,
  };
}
