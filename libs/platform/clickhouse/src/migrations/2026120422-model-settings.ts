import type { ClickHouseMigration } from '../migration';

/**
 * Model settings the stream detectors need (the per-model feature types), as the registry
 * publishes them on `models.v1`. The ingestor has no PostgreSQL, so the sink keeps the latest
 * settings of every model here; the newest `updated_at` wins, so a late copy of an older message
 * does not undo a change.
 */
export const modelSettings: ClickHouseMigration = {
  version: 2026120422,
  name: 'model-settings',
  statements: (db) => [
    `CREATE TABLE IF NOT EXISTS ${db}.model_settings
    (
      model_id String,
      feature_types Map(String, LowCardinality(String)) COMMENT 'feature -> numeric | categorical',
      deleted UInt8 DEFAULT 0,
      updated_at DateTime64(3, 'UTC'),
      recorded_at DateTime64(3, 'UTC') DEFAULT now64(3)
    )
    ENGINE = ReplacingMergeTree(updated_at)
    ORDER BY model_id`,
  ],
};
