import { z } from 'zod';
import { boundedRecord, boundedText, eventTime, identifier } from './fields';
import { LIMITS } from './limits';

const score = z.number({ error: 'expected a finite number' }).finite('expected a finite number');

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
        scores: boundedRecord('score', score, LIMITS.scoreEntries, LIMITS.labelLength).optional(),
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
