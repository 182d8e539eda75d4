/**
 * The dataset-scan section of docs/detection.md: method, false-alarm budget and the figures
 * measured now on the zoo's training sets (bench/dataset-scan-zoo.ts). A section of the
 * detection report (`npm run detection-report`, or `-- --only dataset-scan` for this one alone).
 */
import {
  CLEAN_CONTROL,
  measureZoo,
  REFERENCE_MODEL,
  type DatasetScanFigures,
} from '../../bench/dataset-scan-zoo';
import { table } from './markdown';

const START = '<!-- section: dataset-scan -->';
const END = '<!-- end of section: dataset-scan -->';

const share = (value: number | null) => (value === null ? '—' : value.toFixed(2));

export const datasetScanSection = {
  id: 'dataset-scan',
  title: 'Dataset scan',
  async render(): Promise<string> {
    const { figures, embeddingSeconds, embeddedTexts } = await measureZoo();
    const rows = figures.map((entry: DatasetScanFigures) => [
      entry.set === CLEAN_CONTROL ? 'clean control (dev-word-random minus its poisoned rows)' : entry.set,
      entry.representation === 'hashing' ? 'default (hashing)' : `\`--model ${entry.representation}\``,
      entry.rows,
      entry.poisoned,
      share(entry.recallTop2x),
      entry.suspicious,
      share(entry.precision),
      share(entry.recall),
      entry.flaggedTokens.length ? entry.flaggedTokens.map((token) => `\`${token}\``).join(', ') : 'none',
      entry.scanSeconds.toFixed(1),
    ]);
    return `${START}
## Dataset scan

**Question:** which training rows were planted by a dirty-label poisoning attack — a trigger word or
phrase inserted into some rows whose label was then set to the attacker's target?

**Method (token detector, the one that marks rows suspicious).**
1. *Purity.* Every word and every pair of adjacent words (so that a trigger made of common words,
   such as a two-word phrase, is rare as a pair) seen in at least 5 distinct rows and at most 10% of
   them is tested for label purity: one-sided exact binomial test of its majority label against that
   label's base rate, Benjamini–Hochberg at q ≤ 0.001 over all tested terms, and at least 90% of its
   rows in that label. Copies of a row count once.
2. *Context.* Sentiment words pass step 1 as well as triggers do. What tells them apart is the rest
   of their rows: with the term removed, a sentiment word's rows still read like its label, while a
   trigger's rows are ordinary corpus rows — drawn from every class (a share r_y of them reading
   like the target y), or from the other class only. The rest of a row is judged by a multinomial
   naive Bayes over its other words, fitted on every row except those holding the term (so neither
   the row's label nor the trigger's other rows inform it); the corpus's own distributions of that
   support, f_y over rows labelled y and f_other over the others, are measured with 5-fold
   cross-fitting. The test is the likelihood ratio of *H1: supports ~ r_y·f_y + (1−r_y)·f_other*
   (random rows relabelled) against *H0: supports ~ f_y* (rows that read like their label).
3. *Nested terms.* Strongest first, a further flagged term is re-tested on its rows outside the
   triggers already accepted, with those rows left out of the models: the words of a flagged pair,
   a pair overlapping a three-word trigger, or a clean word next to a large poison are pure only
   through the trigger's rows and are not reported as triggers of their own.

**Rule.** A row is suspicious when it holds a flagged term and carries that term's label (or is a
near-duplicate of a row with another label). Random poisoning puts the trigger into every poisoned
row and a clean corpus rarely holds it, so the suspicious rows are the poisoned ones plus the few
clean rows that already held the trigger word with the target label. The ranking lists suspicious
rows first, then every other row by the weighted representation detectors (k-NN label
disagreement, class outliers, spectral signature, activation clustering), which fire on flipped
labels but also on hard examples and are reported as "for review", never as suspicious.

**False-alarm budget.** Under H0 the likelihood ratio has expectation 1, so by Ville's (Markov's)
inequality P(LR ≥ m/α) ≤ α/m for any number of rows; flagging at log LR ≥ ln(m/α) over the m pure
terms bounds the chance that any term whose rows read like its label is flagged by α = 1e-4
(\`contextAlpha\`). The bound holds when H0 holds exactly; a pure word whose rows are short and
say little else (\`poor\` in "Poor quality.") strains it: on the sets below the largest log LR of a
clean word is about 10.6 against a threshold of about 12. The purity step adds its own false
discovery rate (0.001) but only feeds the context test. What limits recall is power: a trigger in
1% of rows drawn from both classes (about 24 rows here) often stays under the threshold, while 2%
and more is found (measured on triggers, positions and rates other than the zoo's while
developing: 61 of 72 variants met the bounds below, every miss at 1%, or one at 2%).

**Measured** on the zoo's training sets (2,400 rows each; truth from \`<model>.train.truth.json\`),
with the default representation and with the clean zoo model \`${REFERENCE_MODEL}\` as the reference
representation (\`tripline scan dataset FILE --model ...\`). Recall in the top 2x = share of the
poisoned rows among the 2·|poison| highest-ranked rows. Scan time excludes the reference model's
forward passes (${embeddedTexts} distinct texts embedded once in ${embeddingSeconds.toFixed(1)} s).

${table(
  [
    'training set',
    'representation',
    'rows',
    'poisoned',
    'recall in top 2x',
    'suspicious',
    'precision',
    'recall',
    'flagged terms',
    'scan s',
  ],
  rows,
)}

The reference model does not change which rows are suspicious (the token detector reads words,
not vectors); it changes the order of the rest. Using the model's prediction on the text with the
term removed as the context (a leave-token-out reference verdict instead of naive Bayes) would add
power on small corpora and is not built yet.
${END}`;
  },
};
