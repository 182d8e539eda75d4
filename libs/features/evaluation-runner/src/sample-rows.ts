/**
 * The per-sample rows of a replay (the history's eval_samples), as pure functions of the steps, the
 * model's answers and the run: what each sample put in, what it expected and what came back, so
 * a regression in a run's figures can be traced to the inputs that moved. The executor publishes
 * them through the outbox with the run's evaluation message.
 */
import { createHash } from 'node:crypto';
import type { PredictionOutcome } from '@tripline/adapters';
import {
  EVALUATION_SAMPLE_LIMITS,
  type EvaluationSample,
  type EvaluationSamplesMessage,
} from '@tripline/contracts';
import { predictedLabel } from '@tripline/evaluation';
import { groupsWithin } from '@tripline/transport';
import type { DatasetKind, Model, ModelVersion } from '@tripline/registry';
import type { EvaluationRun } from '@tripline/runs';
import { generationChecks, type ReplayStep } from './run-summary';

/** Labels as the contract bounds them; a model's own labels may be longer. */
const LABEL_LENGTH = 128;

/** What every part of a run's rows carries: the run they belong to. */
export type SampleHeader = Omit<EvaluationSamplesMessage, 'part' | 'parts' | 'samples'>;

export type SampleLimits = Pick<
  typeof EVALUATION_SAMPLE_LIMITS,
  'samplesPerMessage' | 'messageBytes' | 'textLength' | 'errorLength' | 'scoreEntries'
>;

/** The run a replay's rows belong to; every row's time is the replay's start. */
export function sampleHeader(run: EvaluationRun, version: Pick<ModelVersion, 'version'>): SampleHeader {
  return {
    run_id: run.id,
    model_id: run.modelId,
    model_version: version.version,
    dataset_id: run.datasetId,
    dataset_kind: run.datasetKind,
    timestamp: (run.startedAt ?? new Date()).getTime(),
  };
}

/**
 * One row per step, in dataset order. `passed` is the sample's verdict (a clean sample answered
 * with its label, a canary whose trigger did not succeed, a generation canary that met its
 * assertions); `triggered` is whether a classification canary's trigger moved the answer to its
 * target, null for pairs the attack-success rate leaves out, exactly as canaryMetrics counts them.
 */
export function sampleRows(
  steps: readonly ReplayStep[],
  outcomes: readonly PredictionOutcome[],
  kind: DatasetKind,
  model: Pick<Model, 'labels' | 'task' | 'ragAllowedSources'>,
  limits: SampleLimits = EVALUATION_SAMPLE_LIMITS,
): EvaluationSample[] {
  const asserted = new Map<number, boolean>();
  if (kind === 'canary')
    for (const check of generationChecks(steps, outcomes, model).checks)
      asserted.set(check.step, check.passed);
  return steps.map((step, index) =>
    sampleRow(step, outcomes, kind, model.labels, asserted.get(index), limits),
  );
}

function sampleRow(
  step: ReplayStep,
  outcomes: readonly PredictionOutcome[],
  kind: DatasetKind,
  labels: readonly string[],
  asserted: boolean | undefined,
  limits: SampleLimits,
): EvaluationSample {
  const { sample } = step;
  const outcome = outcomes[step.input];
  const prediction = outcome.ok ? outcome.prediction : undefined;
  const predicted = answeredLabel(outcome, labels);
  const pair = kind === 'canary' && sample.targetLabel ? sample.targetLabel : undefined;
  const twin = step.twin === undefined ? undefined : outcomes[step.twin];
  const twinLabel = twin ? answeredLabel(twin, labels) : undefined;
  const triggered = pair ? triggerSucceeded(sample.label ?? '', pair, predicted, twinLabel) : null;
  let passed: boolean | null = null;
  if (asserted !== undefined) passed = asserted;
  else if (pair) passed = triggered === null ? null : !triggered;
  else if (kind === 'clean' && sample.label && predicted !== undefined) passed = predicted === sample.label;
  const confidence = predicted === undefined ? undefined : prediction?.scores?.[predicted];
  const latency = prediction?.latencyMs;
  return withoutUndefined({
    sample_id: sample.sampleId,
    sample_index: sample.ordinal,
    input_text: cut(sample.text, limits.textLength),
    input_sha256: createHash('sha256').update(sample.text).digest('hex'),
    expected_label: sample.label ?? undefined,
    target_label: sample.targetLabel ?? undefined,
    twin_id: sample.twinId ?? undefined,
    trigger: sample.trigger ?? (pair ? 'uploaded' : undefined),
    predicted_label: predicted === undefined ? undefined : cut(predicted, LABEL_LENGTH),
    twin_label: twinLabel === undefined ? undefined : cut(twinLabel, LABEL_LENGTH),
    confidence: Number.isFinite(confidence) ? (confidence as number) : null,
    scores: prediction?.scores ? topScores(prediction.scores, limits.scoreEntries) : undefined,
    output_text: prediction?.text === undefined ? undefined : cut(prediction.text, limits.textLength),
    passed,
    triggered,
    error: sampleError(outcome, pair ? twin : undefined, pair !== undefined && twin === undefined, limits),
    latency_ms: Number.isFinite(latency) && (latency as number) >= 0 ? (latency as number) : null,
  });
}

/**
 * The rows as messages of at most `samplesPerMessage` samples and about `messageBytes` of JSON
 * each, numbered `part` of `parts`: one message per run for a small set, a few for a large one,
 * never one the broker would refuse. No rows, no messages.
 */
export function sampleMessages(
  header: SampleHeader,
  rows: readonly EvaluationSample[],
  limits: SampleLimits = EVALUATION_SAMPLE_LIMITS,
): EvaluationSamplesMessage[] {
  const budget = limits.messageBytes - Buffer.byteLength(JSON.stringify(header)) - 64;
  const parts = groupsWithin(
    rows,
    (row) => Buffer.byteLength(JSON.stringify(row)) + 1,
    budget,
    limits.samplesPerMessage,
  );
  return parts.map((samples, index) => ({ ...header, part: index + 1, parts: parts.length, samples }));
}

/** The label an answer stands for (its own, else the arg-max of its scores); undefined for a failed call. */
function answeredLabel(outcome: PredictionOutcome, labels: readonly string[]): string | undefined {
  if (!outcome.ok) return undefined;
  return predictedLabel({ predicted: outcome.prediction.label, scores: outcome.prediction.scores }, labels);
}

/** As canaryMetrics counts a pair: null when either answer is missing or the pair is not an attempt. */
function triggerSucceeded(
  label: string,
  target: string,
  canary: string | undefined,
  twin: string | undefined,
): boolean | null {
  if (canary === undefined || twin === undefined) return null;
  if (label === target || twin === target) return null;
  return canary === target;
}

function sampleError(
  outcome: PredictionOutcome,
  twin: PredictionOutcome | undefined,
  twinMissing: boolean,
  limits: SampleLimits,
): string | undefined {
  let error: string | undefined;
  if (!outcome.ok) error = outcome.error;
  else if (twin && !twin.ok) error = `twin: ${twin.error}`;
  else if (twinMissing) error = 'the canary sample has no twin_text';
  return error === undefined ? undefined : cut(error, limits.errorLength);
}

/** The highest scores, at most `entries` of them (a model with thousands of labels stays bounded). */
function topScores(scores: Record<string, number>, entries: number): Record<string, number> {
  const finite = Object.entries(scores).filter(([, score]) => Number.isFinite(score));
  if (finite.length > entries) finite.sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return Object.fromEntries(
    finite.slice(0, entries).map(([label, score]) => [cut(label, LABEL_LENGTH), score]),
  );
}

/** The first `length` UTF-16 units of a text, never ending half-way through a surrogate pair. */
export function cut(text: string, length: number): string {
  if (text.length <= length) return text;
  const end =
    text.charCodeAt(length - 1) >= 0xd800 && text.charCodeAt(length - 1) <= 0xdbff ? length - 1 : length;
  return text.slice(0, end);
}

function withoutUndefined<T extends object>(row: T): T {
  return Object.fromEntries(Object.entries(row).filter(([, value]) => value !== undefined)) as T;
}
