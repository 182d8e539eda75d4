import type { ClickHouseMigration } from '../migration';

/**
 * The model's text encoder for embedding drift (`embedding_encoder` on the model), as the registry
 * publishes it on `models.v1`: the JSON of the setting (version, folder, manifest state and
 * manifest), or '' for none. Kept as one JSON text because the stream detectors read it whole.
 */
export const embeddingEncoder: ClickHouseMigration = {
  version: 2026120500,
  name: 'embedding-encoder',
  statements: (db) => [
    `ALTER TABLE ${db}.model_settings ADD COLUMN IF NOT EXISTS embedding_encoder String DEFAULT '' COMMENT 'embedding_encoder setting as JSON, or empty' AFTER feature_types`,
  ],
};
