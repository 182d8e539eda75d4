import { z } from 'zod';
import { boundedRecord, boundedText, eventTime, identifier } from './fields';
import { LIMITS } from './limits';

const score = z.number({ error: 'expected a finite number' }).finite('expected a finite number');

/**
 * How far above 1 the scores of one event may add up: rounding in a softmax, not a second
 * distribution. Less than 1 is fine: a top-k list leaves out the unlikely labels.
 */
export const SCORE_SUM_TOLERANCE = 0.01;

/** A class probability. Logits and unnormalised scores must be turned into probabilities (softmax) first. */
const probability = z
  .number({ error: 'expected a probability between 0 and 1' })
  .min(0, 'expected a probability between 0 and 1 (logits must be sent through a softmax first)')
  .max(1, 'expected a probability between 0 and 1 (logits must be sent through a softmax first)');

/** Per-label probabilities of one prediction: each in 0..1, together at most 1 (+ tolerance). */
const classProbabilities = boundedRecord(
  'score',
  probability,
  LIMITS.scoreEntries,
  LIMITS.labelLength,
).superRefine((scores, context) => {
  let sum = 0;
  for (const value of Object.values(scores)) sum += value;
  if (sum > 1 + SCORE_SUM_TOLERANCE)
    context.addIssue({
      code: 'custom',
      message: `expected probabilities adding up to at most 1 (±${SCORE_SUM_TOLERANCE}); these add up to ${Number(sum.toPrecision(6))}`,
    });
});

export const ragDocumentSchema = z
  .object({
    id: identifier('document id'),
    source: boundedText('source', LIMITS.ragSourceLength).min(1, 'expected a non-empty source'),
    score: score.optional(),
  })
  .strict();

/** Inference event v1: one prediction a model made in production. */
export const inferenceEventSchema = z
  .object({
    event_id: identifier('event_id'),
    model_id: identifier('model_id'),
    model_version: identifier('model_version').optional(),
    timestamp: eventTime,
    input: z
      .object({
        text: boundedText('input text', LIMITS.textLength).optional(),
        features: boundedRecord(
          'feature',
          z.union([z.number().finite(), z.string().max(LIMITS.featureStringLength), z.boolean(), z.null()], {
            error: `expected a number, a string of at most ${LIMITS.featureStringLength} characters, a boolean or null`,
          }),
          LIMITS.featureEntries,
          LIMITS.featureKeyLength,
        ).optional(),
        /** The input's embedding vector, for embedding drift (MMD); every event of a model should use one encoder. */
        embedding: z
          .array(z.number({ error: 'expected a finite number' }).finite('expected a finite number'), {
            error: 'expected an array of numbers',
          })
          .min(1, 'expected at least one number')
          .max(LIMITS.embeddingDimension, `expected at most ${LIMITS.embeddingDimension} numbers`)
          .optional(),
      })
      .strict()
      .optional(),
    output: z
      .object({
        label: boundedText('label', LIMITS.labelLength).optional(),
        scores: classProbabilities.optional(),
        text: boundedText('output text', LIMITS.textLength).optional(),
      })
      .strict()
      .optional(),
    latency_ms: z
      .number()
      .finite()
      .min(0, 'expected a duration >= 0')
      .max(LIMITS.maxLatencyMs, 'expected at most one hour')
      .optional(),
    request_id: identifier('request_id').optional(),
    rag: z
      .object({
        documents: z
          .array(ragDocumentSchema)
          .max(LIMITS.ragDocuments, `expected at most ${LIMITS.ragDocuments} documents`),
      })
      .strict()
      .optional(),
    metadata: boundedRecord(
      'metadata',
      boundedText('metadata value', LIMITS.metadataValueLength),
      LIMITS.metadataEntries,
      LIMITS.metadataKeyLength,
    ).optional(),
  })
  .strict();

export type InferenceEventInput = z.input<typeof inferenceEventSchema>;
export type InferenceEvent = z.output<typeof inferenceEventSchema>;

/** Feedback v1: the ground-truth label for an earlier event. */
export const feedbackSchema = z
  .object({
    event_id: identifier('event_id'),
    model_id: identifier('model_id'),
    label: boundedText('label', LIMITS.labelLength).min(1, 'expected a non-empty label'),
    timestamp: eventTime,
    source: identifier('source').optional(),
    metadata: boundedRecord(
      'metadata',
      boundedText('metadata value', LIMITS.metadataValueLength),
      LIMITS.metadataEntries,
      LIMITS.metadataKeyLength,
    ).optional(),
  })
  .strict();

export type FeedbackInput = z.input<typeof feedbackSchema>;
export type Feedback = z.output<typeof feedbackSchema>;
