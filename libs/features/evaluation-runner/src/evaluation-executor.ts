import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { createAdapter, type ModelAdapter, type PredictionOutcome } from '@tripline/adapters';
import { egressPolicyFromEnvironment } from '@tripline/egress';
import { ENVIRONMENT, type Environment } from '@tripline/config';
import {
  BUILT_IN_TRIGGERS,
  scanTriggers,
  triggerCandidates,
  triggerText,
  compareWithBaseline,
  DEFAULT_GATES,
  judgeGates,
  type EvaluationSnapshot,
  type TriggerCandidate,
  type TriggerScanResult,
} from '@tripline/evaluation';
import { Outbox } from '@tripline/outbox';
import { DatasetService, ModelRegistry, type DatasetSample, type ModelVersion } from '@tripline/registry';
import {
  RunQueue,
  type EvaluationRun,
  type TriggerScanOptions as TriggerScanRunOptions,
} from '@tripline/runs';
import { ArtefactIntegrity } from './artefact-integrity';
import { attackSuccessRates, baselineMessage, evaluationMessage } from './evaluation-message';
import {
  MAX_ERROR_SHARE,
  planReplay,
  replayErrors,
  replayOutcome,
  summariseCanary,
  summariseClean,
  summariseProbe,
  type RunSummary,
} from './run-summary';
import { sampleHeader, sampleMessages, sampleRows } from './sample-rows';
import { englishDictionary, englishWordList } from './word-list';

const PAGE = 1_000;
const BATCH = 64;

/** Replays one dataset against one model version and records what happened. */
@Injectable()
export class EvaluationExecutor implements OnApplicationShutdown {
  private readonly logger = new Logger('EvaluationExecutor');
  private readonly adapters = new Map<string, ModelAdapter>();

  constructor(
    private readonly registry: ModelRegistry,
    private readonly datasets: DatasetService,
    private readonly queue: RunQueue,
    private readonly outbox: Outbox,
    @Inject(ENVIRONMENT) private readonly environment: Environment,
    private readonly integrity: ArtefactIntegrity,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await Promise.allSettled([...this.adapters.values()].map((adapter) => adapter.close()));
  }

  async execute(run: EvaluationRun): Promise<RunSummary> {
    const model = await this.registry.get(run.modelId);
    const version = run.versionId ? await this.registry.findVersion(run.versionId) : null;
    if (!version) throw new Error(`model ${run.modelId} has no registered version to evaluate`);
    const adapter = await this.adapterFor(version);
    const samples = await this.loadSamples(run.datasetId);
    if (run.mode === 'trigger-scan') return this.scan(run, adapter, samples);
    const { steps, inputs } = planReplay(samples, run.datasetKind);
    const outcomes = await this.predictAll(adapter, inputs, run);
    const summary: RunSummary = { errors: replayErrors(steps, outcomes) };
    if (run.datasetKind === 'clean') summary.clean = summariseClean(steps, outcomes, model.labels);
    else if (run.datasetKind === 'canary') Object.assign(summary, summariseCanary(steps, outcomes, model));
    else summary.fingerprint = summariseProbe(steps, outcomes);
    const baseline = await this.judgeAgainstBaseline(run, summary);
    const { status, error } = replayOutcome(steps.length, summary.errors);
    const message = evaluationMessage(
      run,
      version,
      summary,
      { status, error },
      baseline
        ? baselineMessage(baseline, (baseline.run.summary ?? undefined) as RunSummary | undefined)
        : undefined,
    );
    const sampleParts = sampleMessages(
      sampleHeader(run, version),
      sampleRows(steps, outcomes, run.datasetKind, model),
    ).map((part) => ({ key: run.modelId, value: JSON.stringify(part) }));
    // Recorded first, published after: the messages wait in the outbox, written in the transaction
    // that records the outcome, so neither topic announces a run PostgreSQL does not hold as
    // finished. Consumers dedupe a republished message on run_id (and sample_id).
    await this.queue.finish(
      run.id,
      { status, summary, error, baselineRunId: baseline?.run.id ?? null },
      async (manager) => {
        await this.outbox.append(manager, 'evaluations', [
          { key: run.modelId, value: JSON.stringify(message) },
        ]);
        await this.outbox.append(manager, 'evaluationSamples', sampleParts);
      },
    );
    this.outbox.wake();
    return summary;
  }

  /**
   * Compares the run with its baseline (RunQueue.baselineFor) and judges the absolute gates:
   * fills summary.baseline, comparison, fingerprintChange and verdicts; returns the baseline run.
   */
  private async judgeAgainstBaseline(
    run: EvaluationRun,
    summary: RunSummary,
  ): Promise<{ run: EvaluationRun; pinned: boolean } | null> {
    const baseline = await this.queue.baselineFor(run, (candidate) =>
      passesGates(candidate.summary as RunSummary | null),
    );
    const baselineSummary = (baseline?.run.summary ?? undefined) as RunSummary | undefined;
    if (baseline)
      summary.baseline = {
        runId: baseline.run.id,
        pinned: baseline.pinned,
        versionId: baseline.run.versionId,
      };
    if (baselineSummary)
      summary.comparison = compareWithBaseline(snapshot(summary), snapshot(baselineSummary));
    const pinnedFingerprint =
      baseline && baselineSummary?.fingerprint
        ? { runId: baseline.run.id, fingerprint: baselineSummary.fingerprint, pinned: baseline.pinned }
        : undefined;
    if (summary.fingerprint && pinnedFingerprint)
      // Held against the known-good fingerprint, not the previous run: after a silent swap every
      // later run still differs, so the alert stays until someone pins the new behaviour.
      summary.fingerprintChange = {
        baselineRunId: pinnedFingerprint.runId,
        baselineFingerprint: pinnedFingerprint.fingerprint,
        pinned: pinnedFingerprint.pinned,
        changed: pinnedFingerprint.fingerprint !== summary.fingerprint,
      };
    summary.verdicts = judgeGates(
      {
        accuracy: summary.clean?.accuracy,
        attackSuccessRate: attackSuccessRates(summary.canary),
        fingerprint: summary.fingerprint,
      },
      DEFAULT_GATES,
      pinnedFingerprint,
    );
    return baseline;
  }

  /** Searches for a trigger no canary names; the outcome stays with the run (GET /v1/scans/{id}). */
  private async scan(
    run: EvaluationRun,
    adapter: ModelAdapter,
    samples: DatasetSample[],
  ): Promise<RunSummary> {
    const options: TriggerScanRunOptions = run.options ?? {
      candidates: 'vocabulary',
      sampleSize: 50,
      maxCandidates: 5_000,
      seed: 1,
    };
    const cleanSet = samples.map((sample) => ({ text: sample.text, label: sample.label ?? undefined }));
    const cleanTexts = cleanSet.map((row) => row.text);
    const { candidates, source } = await scanCandidates(options, adapter, cleanTexts);
    const reference = options.reference ? await this.referenceAdapter(run, options.reference) : undefined;
    const asScanAnswers = (outcomes: PredictionOutcome[]) =>
      outcomes.map((outcome) =>
        outcome.ok ? { label: outcome.prediction.label, scores: outcome.prediction.scores } : {},
      );
    let lastReport = 0;
    const result = await scanTriggers({
      candidates,
      cleanSet,
      seed: options.seed,
      screeningInputs: options.sampleSize,
      confirmationInputs: options.confirmationInputs,
      nullWords: options.nullWords,
      positions: options.positions,
      falseAlarmRate: options.falseAlarmRate,
      phraseTexts: options.liveTexts,
      dictionary: englishDictionary(),
      clock: () => performance.now(),
      predict: async (texts) => asScanAnswers(await adapter.predict(texts)),
      reference: reference
        ? async (texts) => asScanAnswers(await reference.adapter.predict(texts))
        : undefined,
      onProgress: (done, total) => {
        if (Date.now() - lastReport < 500 && done < total) return;
        lastReport = Date.now();
        void this.queue.progress(run.id, done, total).catch(() => undefined);
      },
    });
    const summary = scanSummary(result, candidates, source, reference);
    const usable = result.failedPredictions <= result.predictions * MAX_ERROR_SHARE;
    await this.queue.finish(run.id, {
      status: usable ? 'succeeded' : 'failed',
      summary,
      error: usable
        ? undefined
        : `the model answered too few scan inputs (${result.failedPredictions} of ${result.predictions} predictions failed)`,
    });
    if (result.flagged.length > 0)
      this.logger.warn(
        `trigger scan ${run.id} of ${run.modelId} flagged ${result.flagged.map((c) => `"${c.token}" (pins ${c.pinRate.toFixed(2)} to ${c.flippedTo} at ${c.position})`).join(', ')}`,
      );
    return summary;
  }

  /** The adapter of a scan's reference: a registered version, the model's own earlier one or another model's. */
  private async referenceAdapter(
    run: EvaluationRun,
    reference: NonNullable<TriggerScanRunOptions['reference']>,
  ): Promise<{ adapter: ModelAdapter; modelId: string; versionId: string }> {
    const version = await this.registry.findVersion(reference.versionId);
    if (!version) {
      throw new Error(
        `reference: model version ${reference.versionId} is not registered (it may have been deleted since the scan of ${run.modelId} was queued)`,
      );
    }
    if (version.id === run.versionId) {
      throw new Error(
        'reference: the reference is the version being scanned; pick a known-good other version',
      );
    }
    return { adapter: await this.adapterFor(version), modelId: version.modelId, versionId: version.id };
  }

  private async adapterFor(version: ModelVersion): Promise<ModelAdapter> {
    let adapter = this.adapters.get(version.id);
    if (adapter && this.integrity.isFailing(version.id)) {
      // The files changed under a loaded model: drop it, and let the check below decide afresh.
      this.adapters.delete(version.id);
      await adapter.close();
      adapter = undefined;
    }
    if (!adapter) {
      // A local model is checked against its manifest before it is loaded; a mismatch throws,
      // which fails the run with the names and digests of the files that differ.
      await this.integrity.verifyBeforeLoad(version);
      adapter = createAdapter(version.adapter, {
        modelsRoot: this.environment.TRIPLINE_MODELS_DIR,
        egress: egressPolicyFromEnvironment({
          TRIPLINE_EGRESS_ALLOW_HOSTS: this.environment.TRIPLINE_EGRESS_ALLOW_HOSTS,
          TRIPLINE_EGRESS_ALLOW_LINK_LOCAL: this.environment.TRIPLINE_EGRESS_ALLOW_LINK_LOCAL,
        }),
      });
      this.adapters.set(version.id, adapter);
    }
    return adapter;
  }

  private async loadSamples(datasetId: string): Promise<DatasetSample[]> {
    const samples: DatasetSample[] = [];
    for (let offset = 0; ; offset += PAGE) {
      const page = await this.datasets.samplesOf(datasetId, offset, PAGE);
      samples.push(...page);
      if (page.length < PAGE) return samples;
    }
  }

  private async predictAll(
    adapter: ModelAdapter,
    inputs: string[],
    run: EvaluationRun,
  ): Promise<PredictionOutcome[]> {
    const outcomes: PredictionOutcome[] = [];
    await this.queue.progress(run.id, 0, inputs.length);
    for (let start = 0; start < inputs.length; start += BATCH) {
      outcomes.push(...(await adapter.predict(inputs.slice(start, start + BATCH))));
      await this.queue.progress(run.id, outcomes.length, inputs.length);
    }
    this.logger.debug(`run ${run.id}: ${inputs.length} predictions`);
    return outcomes;
  }
}

function countSources(candidates: readonly TriggerCandidate[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const candidate of candidates)
    for (const source of candidate.sources) counts[source] = (counts[source] ?? 0) + 1;
  return counts;
}

/** Whether a run nobody pinned may serve as a baseline: it failed no absolute gate. */
function passesGates(summary: RunSummary | null): boolean {
  if (!summary) return false;
  const verdicts =
    summary.verdicts ??
    judgeGates({ accuracy: summary.clean?.accuracy, attackSuccessRate: attackSuccessRates(summary.canary) });
  return !verdicts.some((verdict) => verdict.outcome === 'fail' && verdict.gate !== 'fingerprint');
}

function snapshot(summary: RunSummary): EvaluationSnapshot {
  return { clean: summary.clean, canary: summary.canary };
}

/** The tokens a scan tries: the given list, the built-in library, or the model's (or its data's) words. */
async function scanCandidates(
  options: TriggerScanRunOptions,
  adapter: ModelAdapter,
  cleanTexts: string[],
): Promise<{ candidates: TriggerCandidate[]; source: string }> {
  if (Array.isArray(options.candidates))
    return { candidates: options.candidates.map((text) => ({ text, sources: ['given'] })), source: 'given' };
  if (options.candidates === 'library')
    return {
      candidates: BUILT_IN_TRIGGERS.map(triggerText)
        .filter((text): text is string => text !== undefined)
        .map((text) => ({ text, sources: ['library'] })),
      source: 'library',
    };
  const vocabulary = await adapter.vocabulary?.();
  // An endpoint without a vocabulary (OIP v2, OpenAI-compatible, custom JSON) is scanned with
  // the words of its clean set, of its recent live traffic, and of a general English list.
  const candidates = triggerCandidates({
    vocabulary,
    cleanTexts,
    liveTexts: options.liveTexts,
    wordList: vocabulary ? undefined : englishWordList(),
    maxCandidates: options.maxCandidates,
    seed: options.seed,
  });
  return { candidates, source: vocabulary ? 'vocabulary' : 'black-box' };
}

/** What a finished scan stores with its run. */
function scanSummary(
  result: TriggerScanResult,
  candidates: TriggerCandidate[],
  source: string,
  reference: { modelId: string; versionId: string } | undefined,
): RunSummary {
  return {
    errors: {
      count: result.failedPredictions,
      total: result.predictions,
      examples: [],
    },
    scan: {
      source,
      candidates: candidates.length,
      sources: countSources(candidates),
      cleanInputs: result.inputs.screening + result.inputs.confirmation,
      inputs: result.inputs,
      positions: result.positions,
      flagged: result.flagged,
      top: result.candidates.slice(0, 25),
      falseAlarmRate: result.falseAlarmRate,
      cutoff: result.cutoff,
      screened: result.screened,
      ...(reference ? { reference: { modelId: reference.modelId, versionId: reference.versionId } } : {}),
      timings: result.timings,
    },
  };
}
