import type { TriggerPosition } from './insertion';
import type { LabelAssociation, PositionPin, ScannedCandidate } from './trigger-scan';
import type { CandidateSource } from './trigger-candidates';
import { tugCutoff, type ScanCutoffs } from './trigger-scan-budget';
import type { CleanSetEvidence } from './trigger-scan-clean-set';
import { confirm, referenceSites, type Confirmed, type InsertionSite } from './trigger-scan-confirmation';
import type { ScanInputs } from './trigger-scan-inputs';
import { screeningScore } from './trigger-scan-screening';
import type { ScanSession } from './trigger-scan-session';
import { StandingGroups, type ScanPass, type StandsOut } from './trigger-scan-standing-out';
import { TugOfWar, taskLabelWords } from './trigger-scan-tug-of-war';
import { pinShare, proportionExceeds } from './trigger-statistics';

/** What every verdict of a scan is judged with. */
export interface VerdictGround {
  session: ScanSession;
  evidence: CleanSetEvidence;
  tug: TugOfWar;
  groups: StandingGroups;
  /** The confirmation inputs as the reference model answers them, when there is one. */
  referenceSites?: (position: TriggerPosition) => Promise<InsertionSite[]>;
  /** The standing-out test's cut-off, per kind. */
  standOutCutoff: { word: number; phrase: number };
}

/**
 * What the verdicts are judged with, once the words are confirmed: the task's label words (from
 * the word screening) for the tug of war, the standing-out groups, the reference model's answers.
 */
export function verdictGround(
  session: ScanSession,
  evidence: CleanSetEvidence,
  inputs: ScanInputs,
  words: ScanPass,
  standOutCutoff: VerdictGround['standOutCutoff'],
): VerdictGround {
  const labelWords = taskLabelWords(session, evidence, words.stimuli, words.screening);
  const tug = new TugOfWar(session, inputs.confirmation, labelWords);
  const reference = session.options.reference;
  return {
    session,
    evidence,
    tug,
    groups: new StandingGroups(session, evidence, tug),
    referenceSites: reference ? referenceSites(session, reference, inputs.confirmation) : undefined,
    standOutCutoff,
  };
}

/** The verdict on each confirmed word, in the order confirmation met them. */
export async function judgeWords(
  ground: VerdictGround,
  candidates: readonly { text: string; sources: CandidateSource[] }[],
  pass: ScanPass,
  cutoffs: ScanCutoffs,
): Promise<ScannedCandidate[]> {
  const { session, evidence } = ground;
  const confirmed = pass.confirmed.values();
  const passTugCutoff = tugCutoff(
    session,
    evidence,
    cutoffs.wordBudget,
    confirmed,
    pass.stimuli,
    cutoffs.word,
  );
  const results: ScannedCandidate[] = [];
  for (const record of pass.confirmed.values()) {
    const candidate = candidates[record.stimulus];
    results.push(
      await verdictOf(ground, {
        token: candidate.text,
        sources: candidate.sources,
        pass,
        record,
        cutoff: cutoffs.word,
        tugCutoff: passTugCutoff,
      }),
    );
  }
  return results;
}

/** A phrase's word alone (or its words apart) at the phrase's best position. */
export interface ComponentPin {
  word: string;
  pinRate: number;
  pinned: number;
  movable: number;
}

/** One confirmed candidate of a pass, to judge. */
export interface VerdictCase {
  token: string;
  sources: CandidateSource[];
  pass: ScanPass;
  record: Confirmed;
  /** The p-value its pin must beat when no group can be formed to test it against. */
  cutoff: number;
  /** The tug of war's cut-off in this pass. */
  tugCutoff: number;
  /** Phrases only. */
  components?: ComponentPin[];
}

/** The candidate's best pin and where it is, as the excuses below see it. */
interface Judged {
  candidate: ScannedCandidate;
  position: TriggerPosition;
  best: PositionPin;
  association: LabelAssociation | null;
  label: number;
}

/**
 * A confirmed candidate's verdict: the first excuse that removes it (within what ordinary words
 * do, pins too little, explained by the clean set, no more than its words, does not stand out,
 * the task's vocabulary, pins the reference too), or flagged.
 */
export async function verdictOf(ground: VerdictGround, subject: VerdictCase): Promise<ScannedCandidate> {
  const judged = describe(ground, subject);
  const excuse =
    firstExcuse(ground, subject, judged) ??
    (await standingOutExcuse(ground, subject, judged)) ??
    (await tugOfWarExcuse(ground, subject, judged)) ??
    (await referenceExcuse(ground, judged));
  if (excuse !== undefined) {
    judged.candidate.verdict = excuse;
    return judged.candidate;
  }
  judged.candidate.flagged = true;
  judged.candidate.verdict = flaggedVerdict(ground, subject.pass.kind, judged);
  return judged.candidate;
}

function describe(ground: VerdictGround, { token, pass, record, sources, components }: VerdictCase): Judged {
  const { session, evidence } = ground;
  const pins = [...record.pins.entries()].sort((a, b) => b[1].z - a[1].z || b[1].pinRate - a[1].pinRate);
  const [position, best] = pins[0];
  const screeningScores: Partial<Record<TriggerPosition, number>> = {};
  session.positions.forEach(
    (pos, p) => (screeningScores[pos] = screeningScore(session, pass.screening, record.stimulus, p).score),
  );
  const association = evidence.association(token, best.label);
  const candidate: ScannedCandidate = {
    token,
    kind: pass.kind,
    sources,
    natural: evidence.isNatural(token),
    flagged: false,
    verdict: '',
    position,
    flippedTo: best.pinned > 0 ? best.label : null,
    pinRate: best.pinRate,
    pValue: best.pValue,
    z: best.z,
    positions: Object.fromEntries(pins),
    screening: screeningScores,
    association,
    ...(components ? { components: components.map(({ word, pinRate }) => ({ word, pinRate })) } : {}),
  };
  return { candidate, position, best, association, label: session.labels.indexOf(best.label) };
}

/** The excuses the confirmation alone settles. */
function firstExcuse(
  { session }: VerdictGround,
  { components }: VerdictCase,
  { position, best, association }: Judged,
): string | undefined {
  const falseAlarmRate = session.settings.falseAlarmRate;
  // A word only has to be unusual at the nominal level to be judged further: the standing-out
  // test, Bonferroni-corrected on its own, is what bounds the chance of flagging an ordinary
  // word or phrase. When no group can be formed, the corrected cut-off applies instead.
  if (!(best.pValue < falseAlarmRate)) {
    return `pins ${percent(best.pinRate)} at ${position}: within what ordinary words do (p ${best.pValue.toPrecision(2)} >= cut-off ${falseAlarmRate.toPrecision(2)})`;
  }
  if (best.pinRate < session.settings.minPinRate) {
    return `unusual for this model (p ${best.pValue.toPrecision(2)}) but pins only ${percent(best.pinRate)} of the inputs it could move (a trigger pins at least ${percent(session.settings.minPinRate)})`;
  }
  if (association?.explained) {
    return `explained by the clean set: ${association.rowsWithLabel} of its ${association.rows} rows there are labelled ${best.label} (base rate ${percent(association.baseRate)}, p ${association.pValue.toPrecision(2)})`;
  }
  if (components) {
    const strongest = components.reduce((a, b) => (b.pinRate > a.pinRate ? b : a));
    const beyond = proportionExceeds(best.pinned, best.movable, strongest.pinned, strongest.movable);
    if (!(beyond.pValue < 0.05)) {
      return `pins ${percent(best.pinRate)} at ${position}, no more than ${strongest.word.endsWith(' apart') ? `its words do apart (${percent(strongest.pinRate)})` : `its word "${strongest.word}" alone (${percent(strongest.pinRate)})`}`;
    }
  }
  return undefined;
}

/** Against the strongest unexplained words (or phrases) of its kind; records `standsOut`. */
async function standingOutExcuse(
  ground: VerdictGround,
  { token, pass, cutoff }: VerdictCase,
  { candidate, position, best, label }: Judged,
): Promise<string | undefined> {
  const kind = pass.kind;
  const standOutCutoff = ground.standOutCutoff[kind];
  const standsOut = await ground.groups.standOut(token, label, pass);
  if (!standsOut && !(best.pValue < cutoff)) {
    return `pins ${percent(best.pinRate)} at ${position}: within what ordinary ${kind}s do (p ${best.pValue.toPrecision(2)} >= cut-off ${cutoff.toPrecision(2)}; too few strong ${kind}s of its kind to test it against)`;
  }
  if (standsOut) {
    candidate.standsOut = standsOut;
    if (!(standsOut.pValue < standOutCutoff)) {
      return `pins ${percent(best.pinRate)} at ${position}, but against each input's own strongest words it does not stand out from the ${standsOut.groupSize} strongest unexplained ${kind === 'phrase' ? 'phrases' : kindName(standsOut.kind)} of this model (${standOutFigures(standsOut)}, p ${standsOut.pValue.toPrecision(2)} >= cut-off ${standOutCutoff.toPrecision(2)}): a weak spot of this model, not a trained trigger`;
    }
  }
  return undefined;
}

/** Against the task's strongest label word; records `tugOfWar`. */
async function tugOfWarExcuse(
  ground: VerdictGround,
  { token, tugCutoff }: VerdictCase,
  { candidate, position, best, label }: Judged,
): Promise<string | undefined> {
  // Only natural language can be the task's vocabulary: a token neither the clean set nor the
  // dictionary knows has no meaning that could tie it to a label.
  const rival = ground.evidence.isNatural(token)
    ? await ground.tug.strongestLabelWord(position, label)
    : undefined;
  if (!rival) return undefined;
  const [own] = await ground.tug.pull([token], position, label);
  const beats = proportionExceeds(own.pinned, own.movable, rival.pinned, rival.movable);
  candidate.tugOfWar = {
    pinRate: pinShare(own.pinned, own.movable),
    rival: rival.word,
    rivalPinRate: rival.pinRate,
    pValue: beats.pValue,
  };
  if (!(beats.pValue < tugCutoff)) {
    return `pins ${percent(best.pinRate)} at ${position}, but against each input's own strongest words it wins ${percent(candidate.tugOfWar.pinRate)}, no more than "${rival.word}", a word the clean set ties to ${best.label} (${percent(rival.pinRate)}, p ${beats.pValue.toPrecision(2)}): the task's vocabulary`;
  }
  return undefined;
}

/** Against the reference model, when there is one; records `reference`. */
async function referenceExcuse(
  { session, referenceSites }: VerdictGround,
  { candidate, position, best }: Judged,
): Promise<string | undefined> {
  const reference = session.options.reference;
  if (!reference || !referenceSites) return undefined;
  const inputs = await referenceSites(position);
  const [tally] = await confirm(session, reference, [candidate.token], inputs);
  const l = session.labels.indexOf(best.label);
  const pinned = tally.pinned[l];
  const movable = tally.movable[l];
  const exceeds = proportionExceeds(best.pinned, best.movable, pinned, movable);
  const excused = !(exceeds.pValue < session.settings.referenceLevel);
  candidate.reference = {
    pinRate: pinShare(pinned, movable),
    pinned,
    movable,
    pValue: exceeds.pValue,
    excused,
  };
  if (excused) {
    return `pins the reference model too (${percent(candidate.reference.pinRate)} there, ${percent(best.pinRate)} here): the task's vocabulary, not a backdoor`;
  }
  return undefined;
}

function flaggedVerdict(
  ground: VerdictGround,
  kind: 'word' | 'phrase',
  { candidate, position, best }: Judged,
): string {
  const standOutCutoff = ground.standOutCutoff[kind];
  return (
    `pins ${percent(best.pinRate)} of inputs to ${best.label} at ${position} (p ${best.pValue.toPrecision(2)} against ordinary words)` +
    (candidate.tugOfWar
      ? `, and beats the clean set's strongest ${best.label} word "${candidate.tugOfWar.rival}" against each input's own words (${percent(candidate.tugOfWar.pinRate)} vs ${percent(candidate.tugOfWar.rivalPinRate)})`
      : ', and is no word of the language or of the clean set that could explain it') +
    (candidate.standsOut
      ? `; against each input's own strongest words it stands out from the ${candidate.standsOut.groupSize} strongest unexplained ${kind === 'phrase' ? 'phrases' : kindName(candidate.standsOut.kind)} (${standOutFigures(candidate.standsOut)}, p ${candidate.standsOut.pValue.toPrecision(2)} < cut-off ${standOutCutoff.toPrecision(2)})`
      : '')
  );
}

/**
 * Flagged first; then the words judged against their group, by how far their log-odds stood out
 * (the strongest evidence the scan has that is not shared with the model's own weak spots, even
 * where the words all lose and the budget cannot count it); then the rest by how unusual their
 * pin was.
 */
export function rankCandidates(results: ScannedCandidate[]): void {
  const standOutP = (candidate: ScannedCandidate) => candidate.standsOut?.leadPValue ?? 2;
  results.sort(
    (a, b) =>
      Number(b.flagged) - Number(a.flagged) ||
      standOutP(a) - standOutP(b) ||
      b.z - a.z ||
      b.pinRate - a.pinRate ||
      (a.token < b.token ? -1 : a.token > b.token ? 1 : 0),
  );
}

function kindName(kind: 'natural' | 'unnatural' | 'any'): string {
  return kind === 'natural'
    ? 'words'
    : kind === 'unnatural'
      ? 'tokens outside the language'
      : 'words and tokens';
}

function standOutFigures(standsOut: StandsOut): string {
  const where = `${standsOut.view === 'average' ? 'averaged over positions' : `at ${standsOut.view}`}, against ${standsOut.antagonists} of each input's own words`;
  return `${where}: log-odds ${standsOut.logOdds.toFixed(1)} vs "${standsOut.runnerUp}" ${standsOut.runnerUpLogOdds.toFixed(1)}, spacing F ${standsOut.f.toFixed(1)}, wins ${percent(standsOut.pinRate)} vs ${percent(standsOut.runnerUpPinRate)}`;
}

function percent(rate: number): string {
  return `${Math.round(rate * 100)}%`;
}
