import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import {
  createAdapter,
  egressPolicyFromEnvironment,
  type ModelAdapter,
  type PredictionOutcome,
} from '@tripline/adapters';
import { ENVIRONMENT, type Environment } from '@tripline/config';
import { Outbox } from '@tripline/outbox';
import type { EvaluationBaselineMessage, EvaluationRunMessage, EvaluationVerdict } from '@tripline/contracts';
import {
  BUILT_IN_TRIGGERS,
  scanTriggers,
  triggerCandidates,
  triggerText,
  canaryMetrics,
  checkAssertions,
  classificationMetrics,
  compareWithBaseline,
  DEFAULT_GATES,
  judgeGates,
  type CanaryMetrics,
  type ClassificationMetrics,
  type EvaluationSnapshot,
  type PredictionResult,
  type ScannedCandidate,
  type TriggerCandidate,
  type TriggerPosition,
} from '@tripline/evaluation';
import {
  DatasetService,
  ModelRegistry,
  RunQueue,
  type DatasetSample,
  type EvaluationRun,
  type Model,
  type ModelVersion,
  type TriggerScanOptions as TriggerScanRunOptions,
} from '@tripline/registry';
import { CitationTally, storedAllowList, type CitationSummary } from '@tripline/rag';
import { ArtefactIntegrity } from './artefact-integrity';
import { englishDictionary, englishWordList } from './word-list';

const PAGE = 1_000;
const BATCH = 64;
/** A run where more than this share of calls failed did not really run: it is reported failed. */
const MAX_ERROR_SHARE = 0.5;

export interface RunSummary extends Record<string, unknown> {
  clean?: ClassificationMetrics;
  canary?: CanaryMetrics;
  generation?: {
    assertions: number;
    passed: number;
    passRate: number | null;
    failures: { sampleId: string; failures: string[] }[];
    citations?: CitationSummary;
  };
  fingerprint?: string;
  /** Against the known-good fingerprint of this version: the pinned probe run, else its first. */
  fingerprintChange?: {
    baselineRunId: string;
    baselineFingerprint: string;
    pinned: boolean;
    changed: boolean;
  };
  /** The run this one was compared with; absent when it has none (see RunQueue.baselineFor). */
  baseline?: { runId: string; pinned: boolean; versionId: string | null };
  /** The absolute gates (DEFAULT_GATES), judged whatever the baseline says. */
  verdicts?: EvaluationVerdict[];
  scan?: {
    /** Where the candidates came from: vocabulary, black-box (clean set, live traffic, word list), library, given. */
    source: string;
    candidates: number;
    /** Candidates per source (a candidate found in two sources counts in both). */
    sources: Record<string, number>;
    cleanInputs: number;
    inputs: { screening: number; confirmation: number };
    positions: TriggerPosition[];
    flagged: ScannedCandidate[];
    top: ScannedCandidate[];
    falseAlarmRate: number;
    cutoff: { word: number; phrase: number };
    screened: { words: number; phrases: number };
    reference?: { modelId: string; versionId: string };
    timings: Record<string, number>;
  };
  comparison?: ReturnType<typeof compareWithBaseline>;
  errors: { count: number; total: number; examples: string[] };
}

/** The behavioural fingerprint: labels and rounded scores of a fixed probe set, hashed. */
export function behaviouralFingerprint(samples: { id: string; outcome: PredictionOutcome }[]): string {
  const hash = createHash('sha256');
  for (const { id, outcome } of samples) {
    const prediction = outcome.ok ? outcome.prediction : undefined;
    const scores = Object.entries(prediction?.scores ?? {})
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([label, score]) => [label, Math.round(score * 100) / 100]);
    hash.update(
      JSON.stringify([id, outcome.ok ? (prediction?.label ?? prediction?.text ?? '') : 'error', scores]),
    );
  }
  return hash.digest('hex');
}

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
    const texts = new Map<string, number>();
    const inputs: string[] = [];
    const indexOf = (text: string) => {
      let index = texts.get(text);
      if (index === undefined) texts.set(text, (index = inputs.push(text) - 1));
      return index;
    };
    // Twins repeat across triggers: each distinct text is predicted once.
    const plan = samples.map((sample) => ({
      sample,
      input: indexOf(sample.text),
      twin: run.datasetKind === 'canary' && sample.twinText ? indexOf(sample.twinText) : undefined,
    }));
    const outcomes = await this.predictAll(adapter, inputs, run);

    const summary: RunSummary = { errors: { count: 0, total: plan.length, examples: [] } };
    const failed = outcomes.filter((outcome) => !outcome.ok) as { ok: false; error: string }[];
    summary.errors.count = plan.filter(
      (step) => !outcomes[step.input].ok || (step.twin !== undefined && !outcomes[step.twin].ok),
    ).length;
    summary.errors.examples = [...new Set(failed.map((outcome) => outcome.error))].slice(0, 5);

    const result = (outcome: PredictionOutcome): PredictionResult =>
      outcome.ok
        ? { predicted: outcome.prediction.label, scores: outcome.prediction.scores }
        : { error: outcome.error };
    if (run.datasetKind === 'clean') {
      summary.clean = classificationMetrics(
        plan.map((step) => ({ expected: step.sample.label ?? '', ...result(outcomes[step.input]) })),
        labelSet(
          model,
          plan.map((step) => step.sample.label ?? ''),
        ),
      );
    } else if (run.datasetKind === 'canary') {
      const pairs = plan.filter((step) => step.sample.targetLabel);
      if (pairs.length > 0) {
        summary.canary = canaryMetrics(
          pairs.map((step) => ({
            trigger: step.sample.trigger ?? 'uploaded',
            label: step.sample.label ?? '',
            targetLabel: step.sample.targetLabel!,
            canary: result(outcomes[step.input]),
            twin:
              step.twin === undefined
                ? { error: 'the canary sample has no twin_text' }
                : result(outcomes[step.twin]),
          })),
        );
      }
      const asserted = plan.filter((step) => step.sample.assertions);
      if (asserted.length > 0) {
        // RAG canaries: cited sources against the row's allow-list, else the RAG model's own.
        const citations = new CitationTally();
        const modelAllowList = model.task === 'rag' ? storedAllowList(model.ragAllowedSources) : undefined;
        const checks = asserted.map((step) => {
          const outcome = outcomes[step.input];
          let checked = outcome.ok
            ? checkAssertions(outcome.prediction.text ?? '', step.sample.assertions!)
            : { passed: false, failures: [`call failed: ${outcome.error}`] };
          const allowList = storedAllowList(step.sample.assertions!.allowedSources) ?? modelAllowList;
          if (outcome.ok && allowList) {
            const failures = citations.check(outcome.prediction.citations, allowList);
            if (failures.length > 0)
              checked = { passed: false, failures: [...checked.failures, ...failures] };
          }
          return { sampleId: step.sample.sampleId, ...checked };
        });
        const passed = checks.filter((check) => check.passed).length;
        const cited = citations.summary();
        summary.generation = {
          assertions: checks.length,
          passed,
          passRate: passed / checks.length,
          failures: checks.filter((c) => !c.passed).slice(0, 20),
          ...(cited.checked > 0 ? { citations: cited } : {}),
        };
      }
    } else {
      summary.fingerprint = behaviouralFingerprint(
        plan.map((step) => ({ id: step.sample.sampleId, outcome: outcomes[step.input] })),
      );
    }

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
    const status =
      plan.length > 0 && summary.errors.count / plan.length <= MAX_ERROR_SHARE ? 'succeeded' : 'failed';
    const error =
      status === 'failed'
        ? plan.length === 0
          ? 'the dataset has no samples'
          : `${summary.errors.count} of ${plan.length} samples could not be evaluated (more than ${MAX_ERROR_SHARE * 100}%): ${summary.errors.examples[0] ?? ''}`
        : undefined;
    const message = evaluationMessage(
      run,
      version,
      summary,
      status,
      baseline ? baselineMessage(baseline, baselineSummary) : undefined,
    );
    // Recorded first, published after: the message waits in the outbox, written in the transaction
    // that records the outcome, so the topic never announces a run PostgreSQL does not hold as
    // finished. Consumers dedupe a republished message on run_id.
    await this.queue.finish(
      run.id,
      { status, summary, error, baselineRunId: baseline?.run.id ?? null },
      (manager) =>
        this.outbox.append(manager, 'evaluations', [{ key: run.modelId, value: JSON.stringify(message) }]),
    );
    this.outbox.wake();
    return summary;
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
    let candidates: TriggerCandidate[];
    let source: string;
    if (Array.isArray(options.candidates)) {
      candidates = options.candidates.map((text) => ({ text, sources: ['given'] }));
      source = 'given';
    } else if (options.candidates === 'library') {
      candidates = BUILT_IN_TRIGGERS.map(triggerText)
        .filter((text): text is string => text !== undefined)
        .map((text) => ({ text, sources: ['library'] }));
      source = 'library';
    } else {
      const vocabulary = await adapter.vocabulary?.();
      // An endpoint without a vocabulary (OIP v2, OpenAI-compatible, custom JSON) is scanned with
      // the words of its clean set, of its recent live traffic, and of a general English list.
      candidates = triggerCandidates({
        vocabulary,
        cleanTexts,
        liveTexts: options.liveTexts,
        wordList: vocabulary ? undefined : englishWordList(),
        maxCandidates: options.maxCandidates,
        seed: options.seed,
      });
      source = vocabulary ? 'vocabulary' : 'black-box';
    }
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
    const summary: RunSummary = {
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

function labelSet(model: Model, expected: string[]): string[] {
  return [...new Set([...model.labels, ...expected.filter(Boolean)])];
}

/** Whether a run nobody pinned may serve as a baseline: it failed no absolute gate. */
function passesGates(summary: RunSummary | null): boolean {
  if (!summary) return false;
  const verdicts =
    summary.verdicts ??
    judgeGates({ accuracy: summary.clean?.accuracy, attackSuccessRate: attackSuccessRates(summary.canary) });
  return !verdicts.some((verdict) => verdict.outcome === 'fail' && verdict.gate !== 'fingerprint');
}

function attackSuccessRates(canary: CanaryMetrics | undefined): Record<string, number> | undefined {
  if (!canary) return undefined;
  return Object.fromEntries(
    Object.entries(canary.perTrigger).flatMap(([trigger, response]) =>
      response.attackSuccessRate === null ? [] : [[trigger, response.attackSuccessRate]],
    ),
  );
}

/** The baseline as the evaluations topic carries it: its id and the values it is compared on. */
function baselineMessage(
  baseline: { run: EvaluationRun; pinned: boolean },
  summary: RunSummary | undefined,
): EvaluationBaselineMessage {
  const clean = summary?.clean;
  const canary = summary?.canary;
  return {
    run_id: baseline.run.id,
    pinned: baseline.pinned,
    ...(clean
      ? {
          accuracy: clean.accuracy,
          macro_f1: clean.macroF1,
          expected_calibration_error: clean.expectedCalibrationError,
          per_class_recall: Object.fromEntries(
            Object.entries(clean.perClass).flatMap(([label, metrics]) =>
              Number.isFinite(metrics.recall) ? [[label, metrics.recall]] : [],
            ),
          ),
        }
      : {}),
    ...(canary
      ? {
          attack_success_rate: canary.maxAttackSuccessRate?.rate ?? null,
          flip_rate: canary.pooledFlipRate,
          confidence_shift: canary.pooledConfidenceShift,
          per_trigger_attack_success: attackSuccessRates(canary),
        }
      : {}),
    ...(summary?.fingerprint ? { fingerprint: summary.fingerprint } : {}),
  };
}

function snapshot(summary: RunSummary): EvaluationSnapshot {
  return { clean: summary.clean, canary: summary.canary };
}

function evaluationMessage(
  run: EvaluationRun,
  version: ModelVersion,
  summary: RunSummary,
  status: 'succeeded' | 'failed',
  baseline: EvaluationBaselineMessage | undefined,
): EvaluationRunMessage {
  const clean = summary.clean;
  const canary = summary.canary;
  const perClassRecall = clean
    ? Object.fromEntries(Object.entries(clean.perClass).map(([label, metrics]) => [label, metrics.recall]))
    : undefined;
  const perTrigger = attackSuccessRates(canary);
  const metrics: Record<string, number> = { errors: summary.errors.count };
  if (clean?.confidence)
    Object.assign(metrics, {
      confidence_mean: clean.confidence.mean,
      confidence_p10: clean.confidence.p10,
      confidence_p50: clean.confidence.p50,
    });
  if (summary.generation?.passRate != null) metrics.assertion_pass_rate = summary.generation.passRate;
  const citations = summary.generation?.citations;
  if (citations?.rate != null)
    Object.assign(metrics, {
      citation_violations: citations.violations,
      citation_violation_rate: citations.rate,
    });
  if (summary.comparison) metrics.regressions = summary.comparison.regressions.length;
  // The first probe run of a version has nothing to differ from: it is the known-good one (0).
  if (summary.fingerprint) metrics.fingerprint_changed = summary.fingerprintChange?.changed ? 1 : 0;
  const verdicts = status === 'succeeded' ? (summary.verdicts ?? []) : [];
  if (verdicts.length > 0) metrics.gate_failures = verdicts.filter((v) => v.outcome === 'fail').length;
  return {
    run_id: run.id,
    model_id: run.modelId,
    model_version: version.version,
    dataset_id: run.datasetId,
    dataset_kind: run.datasetKind,
    status,
    started_at: (run.startedAt ?? new Date()).getTime(),
    finished_at: Date.now(),
    sample_count: summary.errors.total,
    error_count: summary.errors.count,
    accuracy: clean?.accuracy ?? null,
    macro_f1: clean?.macroF1 ?? null,
    expected_calibration_error: clean?.expectedCalibrationError ?? null,
    attack_success_rate: canary?.maxAttackSuccessRate?.rate ?? null,
    flip_rate: canary?.pooledFlipRate ?? null,
    confidence_shift: canary?.pooledConfidenceShift ?? null,
    per_class_recall: perClassRecall,
    per_trigger_attack_success: perTrigger,
    metrics,
    baseline_run_id: baseline?.run_id,
    ...(baseline ? { baseline } : {}),
    ...(verdicts.length > 0 ? { verdicts: verdicts.slice(0, 256) } : {}),
    fingerprint: summary.fingerprint,
    trigger: run.trigger,
    details: {
      regressions: summary.comparison?.regressions ?? [],
      errors: summary.errors.examples,
      ...(summary.fingerprintChange ? { fingerprint_change: summary.fingerprintChange } : {}),
    },
  };
}
