import { z } from 'zod';
import { LIMITS, parseInstant } from '@tripline/contracts';
import { allowListSchema, modelIdSchema } from '@tripline/registry';

export const evaluationRequestSchema = z
  .object({
    model_id: modelIdSchema,
    dataset_ids: z.array(z.uuid('expected a dataset id')).max(100).optional(),
  })
  .strict();

/** POST /v1/models/{id}/baselines: which run becomes the known-good one for a dataset. */
export const pinBaselineSchema = z
  .object({
    dataset_id: z.uuid('expected a dataset id'),
    /** Default: the latest succeeded run of the dataset on the model's current version. */
    run_id: z.uuid('expected an evaluation run id').optional(),
  })
  .strict();

export const runFilterSchema = z
  .object({
    model_id: modelIdSchema.optional(),
    status: z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']).optional(),
    limit: z.coerce.number().int().min(1).max(1_000).default(100),
  })
  .strict();

export const triggerScanRequestSchema = z
  .object({
    type: z.literal('trigger'),
    model_id: modelIdSchema,
    dataset_id: z.uuid('expected the id of a clean set'),
    candidates: z
      .union([
        z.enum(['vocabulary', 'library']),
        z.array(z.string().trim().min(1).max(100)).min(1).max(50_000),
      ])
      .default('vocabulary'),
    sample_size: z.number().int().min(5).max(5_000).default(50),
    /** Fresh inputs that confirm each shortlisted candidate (and null word) per position. */
    confirmation_inputs: z.number().int().min(10).max(5_000).optional(),
    /** Ordinary words measured per position as the null the cut-off is set against. */
    null_words: z.number().int().min(10).max(1_000).optional(),
    max_candidates: z.number().int().min(1).max(50_000).default(5_000),
    seed: z.number().int().default(1),
    /**
     * Differential mode: a known-good model to compare with — the model's own earlier version
     * (model_id of the scanned model and its version string) or a trusted reference model
     * registered for the same task (its model_id; its current version unless version is given).
     */
    reference: z
      .object({
        model_id: modelIdSchema,
        version: z.string().trim().min(1).max(128).optional(),
      })
      .strict()
      .optional(),
    positions: z
      .array(z.enum(['prefix', 'suffix', 'random'], { error: 'expected "prefix", "suffix" or "random"' }))
      .min(1)
      .optional(),
    false_alarm_rate: z
      .number()
      .gt(0, 'expected a probability above 0 (the chance of flagging any ordinary word in the scan)')
      .lt(0.5, 'expected a probability below 0.5')
      .default(0.01),
  })
  .strict();

/** A poisoning scan of an uploaded training set; with model_id, rows are represented by that model. */
export const datasetScanRequestSchema = z
  .object({
    type: z.literal('dataset'),
    dataset_id: z.uuid('expected the id of an uploaded dataset'),
    model_id: modelIdSchema.optional(),
    top: z.number().int().min(1).max(1_000).default(100),
    seed: z.number().int().default(1),
  })
  .strict();

const instant = z.union([z.string(), z.number()]).transform((value, context) => {
  const ms = parseInstant(value);
  if (!Number.isFinite(ms)) {
    context.addIssue({
      code: 'custom',
      message: 'expected an RFC 3339 timestamp or non-negative epoch milliseconds',
    });
    return z.NEVER;
  }
  return ms;
});

/**
 * A scan of a RAG knowledge base sent in the request (8 MiB of JSON; `tripline scan rag` scans
 * larger bases locally). The allow-list is the one given, else the model's stored one.
 */
export const ragScanRequestSchema = z
  .object({
    type: z.literal('rag'),
    documents: z
      .array(
        z
          .object({
            id: z.string().min(1).max(LIMITS.idLength),
            source: z.string().min(1).max(LIMITS.ragSourceLength),
            text: z.string().max(1_000_000),
            added_at: instant.optional(),
          })
          .strict(),
      )
      .min(1, 'expected at least one document')
      .max(100_000),
    allowed_sources: allowListSchema.optional(),
    model_id: modelIdSchema.optional(),
    queries: z.array(z.string().trim().min(1).max(4_000)).max(10_000).default([]),
    known_sources: z.array(z.string().max(LIMITS.ragSourceLength)).max(100_000).optional(),
    new_since: instant.optional(),
    top_k: z.number().int().min(1).max(100).default(5),
    top: z.number().int().min(1).max(10_000).default(100),
  })
  .strict()
  .refine((body) => body.allowed_sources !== undefined || body.model_id !== undefined, {
    message: 'expected allowed_sources, or a model_id whose stored allow-list to use',
    path: ['allowed_sources'],
  });

export const scanRequestSchema = z.discriminatedUnion(
  'type',
  [triggerScanRequestSchema, datasetScanRequestSchema, ragScanRequestSchema],
  {
    error:
      'expected type "trigger" (search a model for a trigger), "dataset" (scan training data for poisoning) or "rag" (scan a RAG knowledge base)',
  },
);
