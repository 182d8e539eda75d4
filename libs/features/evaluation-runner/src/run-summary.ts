/**
 * What a replay of one dataset comes to, per dataset kind, as pure functions of the samples, the
 * model's answers and the model: the executor does the I/O (load, predict, record, publish) and
 * these decide the summary.
 */
import { createHash } from 'node:crypto';
import type { PredictionOutcome } from '@tripline/adapters';
import type { EvaluationVerdict } from '@tripline/contracts';
import {
  canaryMetrics,
  checkAssertions,
  classificationMetrics,
  compareWithBaseline,
  type CanaryMetrics,
  type ClassificationMetrics,
  type PredictionResult,
  type ScannedCandidate,
  type TriggerPosition,
} from '@tripline/evaluation';
import type { DatasetKind, DatasetSample, Model } from '@tripline/registry';
import { CitationTally, storedAllowList, type CitationSummary } from '@tripline/rag';

/** A run where more than this share of calls failed did not really run: it is reported failed. */
export const MAX_ERROR_SHARE = 0.5;

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

/** One sample of a replay: the index of its input among the distinct texts, and of its twin's. */
export interface ReplayStep {
  sample: DatasetSample;
  input: number;
  twin?: number;
}

/** The steps of a replay and the distinct texts to predict (twins repeat across triggers: each is predicted once). */
export function planReplay(
  samples: readonly DatasetSample[],
  kind: DatasetKind,
): { steps: ReplayStep[]; inputs: string[] } {
  const texts = new Map<string, number>();
  const inputs: string[] = [];
  const indexOf = (text: string) => {
    let index = texts.get(text);
    if (index === undefined) texts.set(text, (index = inputs.push(text) - 1));
    return index;
  };
  const steps = samples.map((sample) => ({
    sample,
    input: indexOf(sample.text),
    twin: kind === 'canary' && sample.twinText ? indexOf(sample.twinText) : undefined,
  }));
  return { steps, inputs };
}

/** Samples that could not be evaluated (their call, or their twin's, failed) and up to five distinct reasons. */
export function replayErrors(
  steps: readonly ReplayStep[],
  outcomes: readonly PredictionOutcome[],
): RunSummary['errors'] {
  const failed = outcomes.filter((outcome) => !outcome.ok) as { ok: false; error: string }[];
  return {
    count: steps.filter(
      (step) => !outcomes[step.input].ok || (step.twin !== undefined && !outcomes[step.twin].ok),
    ).length,
    total: steps.length,
    examples: [...new Set(failed.map((outcome) => outcome.error))].slice(0, 5),
  };
}

/** Clean set: accuracy, macro-F1, per-class recall and calibration over the model's labels and the set's. */
export function summariseClean(
  steps: readonly ReplayStep[],
  outcomes: readonly PredictionOutcome[],
  modelLabels: readonly string[],
): ClassificationMetrics {
  const expected = steps.map((step) => step.sample.label ?? '');
  return classificationMetrics(
    steps.map((step, i) => ({ expected: expected[i], ...predictionResult(outcomes[step.input]) })),
    [...new Set([...modelLabels, ...expected.filter(Boolean)])],
  );
}

/**
 * Canary set: the trigger response of classification canaries (against their twins), and the
 * assertions of generation canaries, RAG citations checked against the row's allow-list or else
 * the RAG model's own.
 */
export function summariseCanary(
  steps: readonly ReplayStep[],
  outcomes: readonly PredictionOutcome[],
  model: Pick<Model, 'task' | 'ragAllowedSources'>,
): Pick<RunSummary, 'canary' | 'generation'> {
  const summary: Pick<RunSummary, 'canary' | 'generation'> = {};
  const pairs = steps.filter((step) => step.sample.targetLabel);
  if (pairs.length > 0) {
    summary.canary = canaryMetrics(
      pairs.map((step) => ({
        trigger: step.sample.trigger ?? 'uploaded',
        label: step.sample.label ?? '',
        targetLabel: step.sample.targetLabel!,
        canary: predictionResult(outcomes[step.input]),
        twin:
          step.twin === undefined
            ? { error: 'the canary sample has no twin_text' }
            : predictionResult(outcomes[step.twin]),
      })),
    );
  }
  const { checks, citations } = generationChecks(steps, outcomes, model);
  if (checks.length > 0) {
    const passed = checks.filter((check) => check.passed).length;
    summary.generation = {
      assertions: checks.length,
      passed,
      passRate: passed / checks.length,
      failures: checks
        .filter((check) => !check.passed)
        .slice(0, 20)
        .map(({ sampleId, passed, failures }) => ({ sampleId, passed, failures })),
      ...(citations.checked > 0 ? { citations } : {}),
    };
  }
  return summary;
}

/** One generation canary's verdict: its assertions, and its citations against the allow-list. */
export interface GenerationCheck {
  /** The index of the sample's step in the replay. */
  step: number;
  sampleId: string;
  passed: boolean;
  failures: string[];
}

/**
 * The samples of a canary set that carry assertions, each checked against the model's answer, and
 * a RAG answer's citations against the row's allow-list or else the RAG model's own.
 */
export function generationChecks(
  steps: readonly ReplayStep[],
  outcomes: readonly PredictionOutcome[],
  model: Pick<Model, 'task' | 'ragAllowedSources'>,
): { checks: GenerationCheck[]; citations: CitationSummary } {
  const citations = new CitationTally();
  const modelAllowList = model.task === 'rag' ? storedAllowList(model.ragAllowedSources) : undefined;
  const checks: GenerationCheck[] = [];
  steps.forEach((step, index) => {
    const assertions = step.sample.assertions;
    if (!assertions) return;
    const outcome = outcomes[step.input];
    let checked = outcome.ok
      ? checkAssertions(outcome.prediction.text ?? '', assertions)
      : { passed: false, failures: [`call failed: ${outcome.error}`] };
    const allowList = storedAllowList(assertions.allowedSources) ?? modelAllowList;
    if (outcome.ok && allowList) {
      const failures = citations.check(outcome.prediction.citations, allowList);
      if (failures.length > 0) checked = { passed: false, failures: [...checked.failures, ...failures] };
    }
    checks.push({ step: index, sampleId: step.sample.sampleId, ...checked });
  });
  return { checks, citations: citations.summary() };
}

/** Probe set: the behavioural fingerprint of the answers. */
export function summariseProbe(steps: readonly ReplayStep[], outcomes: readonly PredictionOutcome[]): string {
  return behaviouralFingerprint(
    steps.map((step) => ({ id: step.sample.sampleId, outcome: outcomes[step.input] })),
  );
}

/** Succeeded, unless the set is empty or more than MAX_ERROR_SHARE of its samples failed (then why). */
export function replayOutcome(
  samples: number,
  errors: RunSummary['errors'],
): { status: 'succeeded' | 'failed'; error?: string } {
  if (samples > 0 && errors.count / samples <= MAX_ERROR_SHARE) return { status: 'succeeded' };
  return {
    status: 'failed',
    error:
      samples === 0
        ? 'the dataset has no samples'
        : `${errors.count} of ${samples} samples could not be evaluated (more than ${MAX_ERROR_SHARE * 100}%): ${errors.examples[0] ?? ''}`,
  };
}

function predictionResult(outcome: PredictionOutcome): PredictionResult {
  return outcome.ok
    ? { predicted: outcome.prediction.label, scores: outcome.prediction.scores }
    : { error: outcome.error };
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
