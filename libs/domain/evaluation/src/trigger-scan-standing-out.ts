import type { ScannedCandidate } from './trigger-scan';
import type { CleanSetEvidence } from './trigger-scan-clean-set';
import type { Confirmed } from './trigger-scan-confirmation';
import { summedPull, type Screening } from './trigger-scan-screening';
import type { ScanSession } from './trigger-scan-session';
import { STRENGTHS, type TugFigure, type TugOfWar } from './trigger-scan-tug-of-war';
import { pinShare, proportionExceeds, standOutTest } from './trigger-statistics';

/** The strongest unexplained words per label and kind that a candidate must stand out from. */
const STRONGEST_GROUP = 24;
/** Below this many others, the group says too little about the tail to test against. */
const MIN_GROUP = 8;

/** One pass of the scan (words, or phrases), once confirmed: what its standing-out groups are drawn from. */
export interface ScanPass {
  kind: 'word' | 'phrase';
  stimuli: readonly string[];
  screening: Screening;
  confirmed: Map<number, Confirmed>;
}

export type GroupKind = 'natural' | 'unnatural' | 'any';
export type StandsOut = NonNullable<ScannedCandidate['standsOut']>;

/** A group: each member's tug-of-war figures, by `${position}:${antagonists}`. */
type Group = Map<string, Map<string, TugFigure>>;

/**
 * The standing-out test's groups, measured once per pass, label and kind, and the test of a
 * candidate against them.
 */
export class StandingGroups {
  private readonly groups = new Map<string, Group>();

  constructor(
    private readonly session: ScanSession,
    private readonly evidence: CleanSetEvidence,
    private readonly tug: TugOfWar,
  ) {}

  /**
   * Whether `token` stands out from the strongest words of its kind: at one position, or on
   * average over the positions (a trigger trained at random places pulls everywhere), it must be
   * the group's strongest, lead the runner-up by more than the group's own spacings allow
   * (topSpacingTest) and win more inputs than it. The view where it stands out most is reported.
   */
  async standOut(token: string, label: number, pass: ScanPass): Promise<StandsOut | undefined> {
    let kind: GroupKind = this.evidence.isNatural(token) ? 'natural' : 'unnatural';
    let group = await this.group(pass, label, kind);
    if ([...group.keys()].filter((word) => word !== token).length < MIN_GROUP) {
      kind = 'any';
      group = await this.group(pass, label, kind);
    }
    const others = [...group.entries()].filter(([word]) => word !== token);
    if (others.length < MIN_GROUP) return undefined;
    const own = group.get(token) ?? (await this.tug.across([token], label)).get(token)!;
    const { positions } = this.session;
    const views = STRENGTHS.flatMap((antagonists) =>
      (positions.length > 1 ? [...positions, 'average' as const] : [...positions]).map((view) => ({
        view,
        antagonists,
      })),
    );
    const judged = views.map(({ view, antagonists }) => {
      const pick = (figures: Map<string, TugFigure>) =>
        view === 'average' ? this.average(figures, antagonists) : figures.get(`${view}:${antagonists}`)!;
      const mine = pick(own);
      const theirs = others.map(([word, figures]) => ({ word, ...pick(figures) }));
      const runnerUp = theirs.reduce((a, b) => (b.logOdds > a.logOdds ? b : a));
      const test = standOutTest(
        { value: mine.logOdds, se: mine.se },
        theirs.map((entry) => ({ value: entry.logOdds, se: entry.se })),
      );
      // Near the model's floor, where every word of the group loses every input, log-odds still
      // differ by how badly a word loses, and the floor squeezes the group's spacings far more
      // than its strongest member's lead: a word memorised from two training rows (`omg` as the
      // first word, in a clean zoo model) then stands out at F 23 by 0.4 logits. So the lead must
      // show in wins too: the candidate wins significantly more inputs than the runner-up, and
      // the larger p counts (both tests must reject).
      const wins = proportionExceeds(mine.pinned, mine.movable, runnerUp.pinned, runnerUp.movable);
      return {
        view,
        antagonists,
        kind,
        logOdds: mine.logOdds,
        pinRate: mine.pinRate,
        runnerUp: runnerUp.word,
        runnerUpLogOdds: runnerUp.logOdds,
        runnerUpPinRate: runnerUp.pinRate,
        groupSize: theirs.length,
        f: test.f,
        pValue: Math.max(test.pValue, wins.pValue),
        leadPValue: test.pValue,
      };
    });
    // The view it stands out in most (the first on a tie), and its smallest log-odds p over all.
    const best = judged.reduce((a, b) => (b.pValue < a.pValue ? b : a));
    return { ...best, leadPValue: Math.min(...judged.map((view) => view.leadPValue)) };
  }

  /**
   * The strongest words towards `label` that the clean set does not explain, of one kind (words
   * of the language, or tokens that are not), measured at every position against one of each
   * input's own strongest words: the tail of this model's own population of words. Small models
   * have weak spots — at the first position of a 2-layer BERT, dozens of ordinary or unseen words
   * pin 90% of inputs — so a trigger is judged against that tail, not against typical words.
   */
  private async group(pass: ScanPass, label: number, kind: GroupKind): Promise<Group> {
    const key = `${pass.kind}\u0000${kind}\u0000${label}`;
    const { stimuli, screening, confirmed } = pass;
    const { session, evidence } = this;
    let group = this.groups.get(key);
    if (!group) {
      const eligible = (word: string) => {
        if (kind !== 'any' && evidence.isNatural(word) !== (kind === 'natural')) return false;
        const association = evidence.association(word, session.labels[label]);
        return !association?.explained;
      };
      // Ranked by the pull summed over positions: at a position where hundreds of words move
      // every input (the first word of a small BERT) the screening saturates and cannot rank them,
      // and a group missing the truly strongest words would make any candidate look outlying.
      const ranked = stimuli
        .map((word, s) => ({ word, score: summedPull(session, screening, s, label) }))
        .filter(({ word, score }) => score > 0 && eligible(word))
        .sort((a, b) => b.score - a.score)
        .slice(0, STRONGEST_GROUP)
        .map(({ word }) => word);
      // And every confirmed word pushing to this label: the candidate's closest peers.
      const peers = [...confirmed.values()]
        .filter((record) => [...record.pins.values()].some((pin) => pin.label === session.labels[label]))
        .map((record) => stimuli[record.stimulus])
        .filter(eligible);
      const members = [...new Set([...ranked, ...peers])];
      group = await this.tug.across(members, label);
      this.groups.set(key, group);
    }
    return group;
  }

  private average(figures: Map<string, TugFigure>, antagonists: number): TugFigure {
    const at = this.session.positions.map((position) => figures.get(`${position}:${antagonists}`)!);
    const pinned = at.reduce((sum, figure) => sum + figure.pinned, 0);
    const movable = at.reduce((sum, figure) => sum + figure.movable, 0);
    return {
      logOdds: at.reduce((sum, figure) => sum + figure.logOdds, 0) / at.length,
      se: Math.sqrt(at.reduce((sum, figure) => sum + figure.se ** 2, 0)) / at.length,
      pinRate: pinShare(pinned, movable),
      pinned,
      movable,
    };
  }
}
