import { z } from 'zod';
import { featureTypesSchema, LIMITS } from '@tripline/contracts';
import { allowListEntryProblem } from '@tripline/rag';
import { DATASET_KINDS, MODEL_TASKS } from './entities';

const headers = z.record(z.string().max(128), z.string().max(8_192)).optional();
const http = {
  timeoutMs: z.number().int().min(100).max(300_000).optional(),
  retries: z.number().int().min(0).max(10).optional(),
  concurrency: z.number().int().min(1).max(256).optional(),
  headers,
};
const url = z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' });

export const adapterConfigSchema = z.discriminatedUnion(
  'kind',
  [
    z
      .object({
        kind: z.literal('onnx'),
        path: z.string().min(1, 'expected the model folder path'),
        batchSize: z.number().int().min(1).max(1024).optional(),
      })
      .strict(),
    z
      .object({
        kind: z.literal('oip-v2'),
        url,
        modelName: z.string().min(1),
        modelVersion: z.string().optional(),
        inputName: z.string().optional(),
        ...http,
      })
      .strict(),
    z
      .object({
        kind: z.literal('openai-chat'),
        url,
        model: z.string().min(1),
        systemPrompt: z.string().max(8_192).optional(),
        labels: z.array(z.string()).optional(),
        ...http,
      })
      .strict(),
    z
      .object({
        kind: z.literal('custom-json'),
        url,
        method: z.enum(['POST', 'PUT']).optional(),
        requestTemplate: z
          .unknown()
          .refine(
            (value) => JSON.stringify(value ?? null).includes('{{input}}'),
            'expected a JSON template containing "{{input}}"',
          ),
        responsePaths: z
          .object({
            label: z.string().optional(),
            scores: z.string().optional(),
            text: z.string().optional(),
            citations: z.string().optional(),
          })
          .strict(),
        ...http,
      })
      .strict(),
  ],
  { error: 'expected adapter.kind to be one of onnx, oip-v2, openai-chat, custom-json' },
);

export const modelIdSchema = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9._-]{0,62}$/,
    'expected 1-63 characters: lower-case letters, digits, ".", "_" or "-", starting with a letter or digit',
  );

/** One approved RAG source: exact, or a prefix ending in "*" (never a bare "*"). */
export const allowListEntrySchema = z
  .string()
  .trim()
  .max(LIMITS.ragSourceLength, `expected a source of at most ${LIMITS.ragSourceLength} characters`)
  .superRefine((entry, context) => {
    const problem = allowListEntryProblem(entry);
    if (problem) context.addIssue({ code: 'custom', message: problem });
  });
export const allowListSchema = z.array(allowListEntrySchema).max(1_000, 'expected at most 1000 sources');

/**
 * A registered local (onnx) model version named as the text encoder for embedding drift: the
 * ingestor embeds a sample of each window's input texts with its feature extraction
 * (`last_hidden_state`, mean-pooled) when the events carry no `input.embedding`.
 */
export const embeddingEncoderSchema = z
  .object({
    model_id: modelIdSchema,
    version: z.string().trim().min(1, 'expected the version to use, e.g. "1"').max(128),
  })
  .strict();

export const newModelSchema = z
  .object({
    id: modelIdSchema,
    name: z.string().trim().min(1).max(200).optional(),
    task: z.enum(MODEL_TASKS, { error: `expected one of ${MODEL_TASKS.join(', ')}` }),
    labels: z.array(z.string().min(1).max(128)).max(1_000).default([]),
    owner: z.string().max(200).optional(),
    description: z.string().max(4_000).optional(),
    rag_allowed_sources: allowListSchema.optional(),
    /** Overrides of the inferred feature types for per-feature drift: {"<feature>": "numeric" | "categorical"}. */
    feature_types: featureTypesSchema.optional(),
    embedding_encoder: embeddingEncoderSchema.optional(),
  })
  .strict()
  .refine((model) => model.task !== 'text-classification' || model.labels.length >= 2, {
    message: 'a text-classification model needs at least two labels',
    path: ['labels'],
  });

export const modelChangesSchema = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    labels: z.array(z.string().min(1).max(128)).max(1_000).optional(),
    owner: z.string().max(200).optional(),
    description: z.string().max(4_000).optional(),
    /** null removes the allow-list (nothing is checked any more). */
    rag_allowed_sources: allowListSchema.nullable().optional(),
    /** Replaces the whole map; {} or null removes every override (types are inferred again). */
    feature_types: featureTypesSchema.nullable().optional(),
    /** null removes the encoder (texts are no longer embedded). */
    embedding_encoder: embeddingEncoderSchema.nullable().optional(),
  })
  .strict();

export const manifestSchema = z
  .object({
    files: z
      .array(
        z
          .object({
            path: z.string().min(1),
            sha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected a hex SHA-256'),
            bytes: z.number().int().min(0),
          })
          .strict(),
      )
      .min(1),
    signature: z
      .object({ keyId: z.string(), algorithm: z.literal('ed25519'), value: z.string() })
      .strict()
      .optional(),
  })
  .strict();

export const newVersionSchema = z
  .object({
    version: z.string().trim().min(1).max(128),
    adapter: adapterConfigSchema,
    manifest: manifestSchema.optional(),
    activate: z.boolean().default(true),
  })
  .strict();

export const uploadQuerySchema = z
  .object({
    name: z.string().trim().min(1, 'expected a dataset name').max(200),
    kind: z.enum(DATASET_KINDS, { error: `expected one of ${DATASET_KINDS.join(', ')}` }),
    format: z.enum(['jsonl', 'csv']).optional(),
    model_id: modelIdSchema.optional(),
    source: z.string().max(2_000).optional(),
  })
  .strict();

export const datasetFilterSchema = z
  .object({ model_id: modelIdSchema.optional(), kind: z.enum(DATASET_KINDS).optional() })
  .strict();

export const pageSchema = z
  .object({
    offset: z.coerce.number().int().min(0).default(0),
    limit: z.coerce.number().int().min(1).max(10_000).default(100),
  })
  .strict();

export const scheduleSchema = z
  .object({
    model_id: modelIdSchema,
    dataset_ids: z.array(z.uuid('expected a dataset id')).min(1).max(100),
    cron: z.string().min(1).max(200),
    enabled: z.boolean().optional(),
  })
  .strict();

export const scheduleChangesSchema = z
  .object({
    dataset_ids: z.array(z.uuid('expected a dataset id')).min(1).max(100).optional(),
    cron: z.string().min(1).max(200).optional(),
    enabled: z.boolean().optional(),
  })
  .strict();

export const canaryRequestSchema = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    target_label: z.string().min(1, 'expected the label a backdoor would force').max(128),
    triggers: z.array(z.string().min(1)).max(200).optional(),
    custom_triggers: z.array(z.string().trim().min(1).max(100)).max(200).optional(),
    positions: z
      .array(z.enum(['prefix', 'suffix', 'random']))
      .min(1)
      .optional(),
    samples_per_trigger: z.number().int().min(1).max(10_000).optional(),
    seed: z.number().int().optional(),
  })
  .strict();
