import { z } from 'zod';
import { boundedRecord, boundedText, eventTime, identifier } from './fields';

/**
 * Bounds of the per-sample rows of an evaluation run. A replay of a large clean set is thousands
 * of samples: its rows travel as several messages (`part` of `parts`), each at most
 * `samplesPerMessage` samples and about `messageBytes` of JSON, far below a broker's 1 MB message
 * limit; a row carries its input and output text cut to `textLength` (with the SHA-256 of the whole
 * input, so a cut input is still identified) and at most `scoreEntries` scores (the highest).
 */
export const EVALUATION_SAMPLE_LIMITS = {
  samplesPerMessage: 500,
  messageBytes: 256 * 1024,
  textLength: 1_024,
  errorLength: 1_024,
  scoreEntries: 64,
} as const;

const label = boundedText('label', 128);
const flag = z.boolean().nullable();

/** One sample of a replay: what went in, what was expected, what the model answered. */
export const evaluationSampleSchema = z.object({
  /** The sample's id in its dataset (the uploaded `id`, else `s<n>`). */
  sample_id: boundedText('sample_id', 128).min(1),
  /** Its position in the dataset, from 0. */
  sample_index: z.number().int().min(0),
  input_text: boundedText('input_text', EVALUATION_SAMPLE_LIMITS.textLength),
  input_sha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected a lower-case hex SHA-256'),
  expected_label: label.optional(),
  /** Canary: the label its trigger pushes towards. */
  target_label: label.optional(),
  /** Canary: the id of the clean sample it was made from, and its trigger. */
  twin_id: boundedText('twin_id', 128).optional(),
  trigger: boundedText('trigger', 256).optional(),
  /** Empty when the call failed (then `error` says why). */
  predicted_label: label.optional(),
  /** Canary: what the model answered for the clean twin. */
  twin_label: label.optional(),
  /** The score of the predicted label, when the model gave scores. */
  confidence: z.number().finite().nullable(),
  scores: boundedRecord('score', z.number().finite(), EVALUATION_SAMPLE_LIMITS.scoreEntries, 128).optional(),
  output_text: boundedText('output_text', EVALUATION_SAMPLE_LIMITS.textLength).optional(),
  /**
   * Whether the sample came out as it should: a clean sample answered with its label, a canary
   * whose trigger did not succeed, a generation canary that met its assertions. Null when it
   * cannot be judged (failed call, no label, probe sample).
   */
  passed: flag,
  /**
   * Classification canary: the trigger moved the answer to its target (the twin was not already
   * there, nor labelled so). Null when the pair does not count towards the attack-success rate, so
   * the mean of the non-null values is the run's pooled attack-success rate.
   */
  triggered: flag,
  error: boundedText('error', EVALUATION_SAMPLE_LIMITS.errorLength).optional(),
  latency_ms: z.number().finite().min(0).nullable(),
});

/**
 * Part of the per-sample rows of one finished evaluation run, as the evaluator publishes them on
 * `evaluation-samples.v1` (keyed by model id), through the outbox in the transaction that records
 * the run, like its `evaluations.v1` message. Consumers dedupe on (`run_id`, `sample_id`).
 */
export const evaluationSamplesSchema = z.object({
  run_id: identifier('run_id'),
  model_id: identifier('model_id'),
  model_version: z.string().max(128).optional(),
  dataset_id: identifier('dataset_id'),
  dataset_kind: z.enum(['clean', 'canary', 'probe']),
  /** When the replay started: the time of every row of the run. */
  timestamp: eventTime,
  /** This message is part `part` of `parts` of the run's rows. */
  part: z.number().int().min(1),
  parts: z.number().int().min(1),
  samples: z.array(evaluationSampleSchema).min(1).max(EVALUATION_SAMPLE_LIMITS.samplesPerMessage),
});

export type EvaluationSample = z.output<typeof evaluationSampleSchema>;
export type EvaluationSamplesMessage = z.output<typeof evaluationSamplesSchema>;
