import { z } from 'zod';
import { boundedRecord, eventTime, identifier } from './fields';
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

/**
 * A model's settings that the stream side needs, published on `models.v1` by the registry whenever
 * a model is created, changed or deleted (keyed by model id; the latest `updated_at` wins). The
 * ingestor has no PostgreSQL: its sink stores these in ClickHouse (`model_settings`), where the
 * stream detectors read them with each window.
 */
export const modelSettingsSchema = z.object({
  model_id: identifier('model_id'),
  feature_types: featureTypesSchema,
  /** True when the model was deleted: its settings no longer apply. */
  deleted: z.boolean().optional(),
  updated_at: eventTime,
});

export type ModelSettingsMessage = z.output<typeof modelSettingsSchema>;
