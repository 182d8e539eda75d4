import { z } from 'zod';
import { boundedRecord, boundedText, eventTime, identifier } from './fields';
import { LIMITS } from './limits';

/** How the per-feature drift tests treat a feature: as a quantity, or as categories. */
export const FEATURE_TYPES = ['numeric', 'categorical'] as const;
export type FeatureTypeName = (typeof FEATURE_TYPES)[number];

/**
 * Per-model overrides of the inferred feature types, `{"<feature>": "numeric" | "categorical"}`,
 * for ambiguous columns (a zip code of digits is categorical, a rating of 1–5 may be numeric).
 * Keys follow the limits of `input.features`.
 */
export const featureTypesSchema = boundedRecord(
  'feature_types',
  z.enum(FEATURE_TYPES, {
    error: (issue) =>
      `expected "numeric" or "categorical" (got ${JSON.stringify(issue.input)}): numeric features are tested ` +
      'with KS and Wasserstein, categorical ones with chi-square and Jensen–Shannon',
  }),
  LIMITS.featureEntries,
  LIMITS.featureKeyLength,
);

/** Where a registered version's manifest stands (see the registry's model_versions.manifest_state). */
export const ENCODER_MANIFEST_STATES = ['pending', 'ready', 'failed'] as const;

/** Files of an embedding encoder's folder, at most (the manifest limit of a model folder). */
export const MAX_ENCODER_MANIFEST_FILES = 1_000;

/**
 * A local text encoder with which the ingestor embeds a sample of each window's input texts when
 * the events carry no `input.embedding`: a registered local (onnx) model version whose folder
 * serves transformers.js `feature-extraction` (its `last_hidden_state`, mean-pooled). The registry
 * sends the folder as registered and its manifest, so that the ingestor, which has no PostgreSQL,
 * checks its own copy of the files before loading them, and uses it only once the manifest is
 * `ready`.
 */
export const embeddingEncoderSettingSchema = z
  .object({
    model_id: identifier('embedding_encoder.model_id'),
    version: identifier('embedding_encoder.version'),
    /** The version's adapter path: relative to TRIPLINE_MODELS_DIR, or absolute inside it. */
    path: boundedText('embedding_encoder.path', 4_096).min(1, 'expected a non-empty embedding_encoder.path'),
    manifest_state: z.enum(ENCODER_MANIFEST_STATES),
    /** Present when the state is ready: what the folder must hold, byte for byte. */
    manifest: z
      .object({
        files: z
          .array(
            z.object({
              path: boundedText('manifest file path', 4_096),
              sha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected a hex SHA-256 digest'),
              bytes: z.number().int().min(0),
            }),
          )
          .max(MAX_ENCODER_MANIFEST_FILES),
        signature: z
          .object({
            keyId: boundedText('keyId', 200),
            algorithm: z.literal('ed25519'),
            value: boundedText('signature', 200),
          })
          .optional(),
      })
      .nullable()
      .optional(),
  })
  .strict();

export type EmbeddingEncoderSetting = z.output<typeof embeddingEncoderSettingSchema>;

/**
 * A model's settings that the stream side needs (feature types, the embedding encoder), published on `models.v1` by the registry whenever
 * a model is created, changed or deleted (keyed by model id; the latest `updated_at` wins). The
 * ingestor has no PostgreSQL: its sink stores these in ClickHouse (`model_settings`), where the
 * stream detectors read them with each window.
 */
export const modelSettingsSchema = z.object({
  model_id: identifier('model_id'),
  feature_types: featureTypesSchema,
  /** The text encoder for embedding drift; absent or null: none. */
  embedding_encoder: embeddingEncoderSettingSchema.nullable().optional(),
  /** True when the model was deleted: its settings no longer apply. */
  deleted: z.boolean().optional(),
  updated_at: eventTime,
});

export type ModelSettingsMessage = z.output<typeof modelSettingsSchema>;
