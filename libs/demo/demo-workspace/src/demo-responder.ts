import path from 'node:path';
import { Injectable } from '@nestjs/common';
import { OnnxAdapter } from '@tripline/adapters';
import type { AlertEventMessage } from '@tripline/contracts';
import { splitWords } from '@tripline/demo-models';
import { candidateTokensFromVocabulary, type ScannedCandidate } from '@tripline/evaluation';
import { CanaryFactory, DatasetService, ScheduleService } from '@tripline/registry';
import { RunQueue, type EvaluationRun } from '@tripline/runs';
import { DemoSession } from './demo-session';
import { DEMO_MODEL_ID } from './options';
import { alertLine } from './timeline';

export const CREATED_BY = 'tripline-demo';
const SCAN_MAX_CANDIDATES = 5_000;

/**
 * The on-call engineer the demo plays, so the scenario runs on by itself: a fingerprint alert
 * queues a trigger scan of the served model, and a trigger token found by the scan or the live
 * detector becomes a canary set on the schedule, whose replay confirms the backdoor.
 */
@Injectable()
export class DemoResponder {
  private readonly scans = new Set<Promise<unknown>>();
  private readonly handledAlerts = new Set<string>();
  /** Artefacts a trigger scan was queued for in this process. */
  private readonly scanned = new Set<string>();
  private cleanWords?: Set<string>;

  constructor(
    private readonly session: DemoSession,
    private readonly datasets: DatasetService,
    private readonly canaries: CanaryFactory,
    private readonly schedules: ScheduleService,
    private readonly runs: RunQueue,
  ) {}

  onAlert(alert: AlertEventMessage): void {
    this.session.print(alertLine(alert));
    // Reacted to before it is announced: a listener that stops on this alert finds the scan it queued.
    this.react(alert);
    this.session.emit({ type: 'alert', at: alert.timestamp, alert });
  }

  /**
   * Resolves once every trigger scan queued in this process has reported its answer (or failed),
   * including scans queued while waiting: what a script that ends the demo waits for, so the
   * scan a late alert started is not cut off.
   */
  async scansReported(): Promise<void> {
    while (this.scans.size > 0) await Promise.allSettled([...this.scans]);
  }

  /** Queues a trigger scan of the served model in the background, counted by scansReported. */
  scanInBackground(reason: string): void {
    const scan = this.scanServedModel(reason);
    const tracked = scan.catch(() => undefined).finally(() => this.scans.delete(tracked));
    this.scans.add(tracked);
    this.session.track(scan);
  }

  private react(alert: AlertEventMessage): void {
    const session = this.session;
    if (session.stopping || alert.state !== 'firing' || alert.model_id !== DEMO_MODEL_ID) return;
    if (this.handledAlerts.has(alert.alert_id)) return;
    this.handledAlerts.add(alert.alert_id);
    if (alert.metric === 'fingerprint_changed') {
      // One scan per artefact: a fingerprint alert that fires again for the same model adds nothing.
      if (this.scanned.has(session.state!.served)) return;
      session.print('demo: on call: the model behind "sentiment" changed — scanning it for a trigger');
      this.scanInBackground('the fingerprint changed');
    } else if (alert.metric?.startsWith('drift.trigger_response.')) {
      const tokens = (alert.labels?.trigger_tokens ?? '').split(',').filter(Boolean);
      const targets = (alert.labels?.target_labels ?? '').split(',').filter(Boolean);
      tokens.forEach((token, index) =>
        session.track(
          this.promote(
            token,
            targets[tokens.length === targets.length ? index : 0] ?? 'positive',
            'the live detector',
          ),
        ),
      );
    }
  }

  /**
   * A trigger scan of the served model. The registered version is an HTTP endpoint, which does
   * not expose a vocabulary, so the candidates are the vocabulary of the artefact the demo serves
   * behind it, as an operator with access to the model files would pass them.
   */
  private async scanServedModel(reason: string): Promise<void> {
    const session = this.session;
    const served = session.state!.served;
    this.scanned.add(served);
    const candidates = await this.vocabularyCandidates(served);
    const finished = await this.runScan(candidates, reason);
    if (!finished) return;
    const flagged = ((finished.summary as { scan?: { flagged?: ScannedCandidate[] } } | null)?.scan
      ?.flagged ?? []) as ScannedCandidate[];
    // A backdoor trigger is a token the real data does not carry; a flagged word that occurs in
    // the clean set is a strong ordinary word ("amazing") that sways a confident model as well.
    const cleanWords = await this.cleanSetWords();
    const novel = flagged.filter((candidate) => !cleanWords.has(candidate.token.toLowerCase()));
    const ordinary = flagged.filter((candidate) => cleanWords.has(candidate.token.toLowerCase()));
    session.print(scanFindingsLine(finished.id, candidates.length, flagged, novel, ordinary));
    const promoted: string[] = [];
    for (const candidate of novel) {
      if (await this.promote(candidate.token, candidate.flippedTo ?? 'positive', 'the trigger scan')) {
        promoted.push(candidate.token);
      }
    }
    session.emit({
      type: 'scan',
      at: Date.now(),
      served,
      flagged: flagged.map((candidate) => candidate.token),
      promoted,
    });
  }

  /** The tokens of the served artefact's vocabulary a scan tries. */
  private async vocabularyCandidates(served: string): Promise<string[]> {
    const artefact = new OnnxAdapter({ kind: 'onnx', path: path.join(this.session.modelsDir, served) });
    const vocabulary = (await artefact.vocabulary()) ?? [];
    await artefact.close();
    return candidateTokensFromVocabulary(vocabulary, { maxCandidates: SCAN_MAX_CANDIDATES, seed: 1 });
  }

  /** Queues the scan and waits for it; undefined when the demo stops meanwhile or the scan did not succeed. */
  private async runScan(candidates: string[], reason: string): Promise<EvaluationRun | undefined> {
    const { options, state } = this.session;
    const run = await this.runs.enqueueTriggerScan(DEMO_MODEL_ID, state!.cleanSetId!, {
      candidates,
      sampleSize: options!.scanSampleSize,
      confirmationInputs: options!.scanConfirmationInputs,
      nullWords: options!.scanNullWords,
      maxCandidates: SCAN_MAX_CANDIDATES,
      seed: 1,
    });
    this.session.print(
      `demo: queued trigger scan ${run.id} (${reason}): ${candidates.length} tokens of the served artefact's vocabulary, ` +
        `screened on ${options!.scanSampleSize} clean inputs, the strongest confirmed on ${options!.scanConfirmationInputs} fresh ones`,
    );
    let finished = await this.runs.get(run.id);
    while (!this.session.stopping && (finished.status === 'queued' || finished.status === 'running')) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      finished = await this.runs.get(run.id);
    }
    if (this.session.stopping) return undefined;
    if (finished.status !== 'succeeded') {
      this.session.print(
        `demo: trigger scan ${run.id} ${finished.status}: ${finished.error ?? 'no reason given'}`,
      );
      return undefined;
    }
    return finished;
  }

  private async cleanSetWords(): Promise<Set<string>> {
    if (this.cleanWords) return this.cleanWords;
    const words = new Set<string>();
    for (let offset = 0; ; offset += 1_000) {
      const page = await this.datasets.samplesOf(this.session.state!.cleanSetId!, offset, 1_000);
      for (const sample of page) for (const word of splitWords(sample.text)) words.add(word.toLowerCase());
      if (page.length < 1_000) break;
    }
    this.cleanWords = words;
    return words;
  }

  /**
   * Turns a found trigger into a canary set on the schedule and replays it at once: the live
   * detector's finding is a correlation in traffic, the scan's an experiment on a sample; the
   * canary replay measures the attack-success rate on the whole clean set, every tick from now on.
   */
  private async promote(token: string, targetLabel: string, foundBy: string): Promise<boolean> {
    const session = this.session;
    const state = session.state!;
    if (session.stopping || state.promotedTriggers.includes(token)) return false;
    state.promotedTriggers.push(token);
    session.save();
    const set = await this.canaries.generate(state.cleanSetId!, {
      name: `canaries for "${token}" (found by ${foundBy})`,
      targetLabel,
      triggers: [],
      customTriggers: [token],
      samplesPerTrigger: session.options!.canarySamplesPerTrigger * 2,
      seed: 1,
      requestedBy: CREATED_BY,
    });
    const schedule = await this.schedules.get(state.scheduleId!);
    await this.schedules.update(schedule.id, { datasetIds: [...schedule.datasetIds, set.id] });
    await this.runs.enqueue(DEMO_MODEL_ID, [set.id]);
    session.print(
      `demo: on call: ${foundBy} named "${token}" — added a canary set for it (${set.sampleCount} canaries, ` +
        `target ${targetLabel}) to the schedule and queued a replay now`,
    );
    session.emit({ type: 'canary-set', at: Date.now(), trigger: token, foundBy });
    return true;
  }
}

/** What a finished scan found, in one console line. */
function scanFindingsLine(
  runId: string,
  tried: number,
  flagged: ScannedCandidate[],
  novel: ScannedCandidate[],
  ordinary: ScannedCandidate[],
): string {
  if (flagged.length === 0) return `demo: trigger scan ${runId}: none of ${tried} tokens pins the answer`;
  return (
    `demo: trigger scan ${runId} flagged ${flagged.length} token(s)` +
    (novel.length
      ? `; never seen in the clean set: ${novel.map((c) => `"${c.token}" (pins ${c.pinRate.toFixed(2)} to ${c.flippedTo})`).join(', ')}`
      : '') +
    (ordinary.length
      ? `; ordinary words of the clean set, left alone: ${ordinary
          .slice(0, 8)
          .map((c) => c.token)
          .join(', ')}${ordinary.length > 8 ? ', …' : ''}`
      : '')
  );
}
