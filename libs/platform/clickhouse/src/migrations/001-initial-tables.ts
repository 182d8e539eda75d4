import type { ClickHouseMigration } from '../migration';

/**
 * The history tables of the design. Every table is a ReplacingMergeTree keyed on its natural
 * idempotency key, so a redelivered message collapses into the row it repeats; readers that need
 * exact counts query with FINAL (or argMax) until the background merge has run.
 */
export const initialTables: ClickHouseMigration = {
  version: 1,
  name: 'initial-tables',
  statements: (db) => [
    `CREATE TABLE IF NOT EXISTS ${db}.inference_events
    (
      event_id String,
      model_id LowCardinality(String),
      model_version LowCardinality(String) DEFAULT '',
      timestamp DateTime64(3, 'UTC'),
      ingested_at DateTime64(3, 'UTC') DEFAULT now64(3),
      input_text String DEFAULT '',
      input_features String DEFAULT '' COMMENT 'JSON object of numeric or categorical features',
      output_label LowCardinality(String) DEFAULT '',
      output_scores Map(LowCardinality(String), Float64),
      output_text String DEFAULT '',
      confidence Nullable(Float64) COMMENT 'score of the predicted label, when scores were given',
      latency_ms Nullable(Float64),
      request_id String DEFAULT '',
      rag_document_ids Array(String),
      rag_sources Array(LowCardinality(String)),
      rag_scores Array(Float64),
      metadata Map(String, String)
    )
    ENGINE = ReplacingMergeTree(ingested_at)
    PARTITION BY toYYYYMM(timestamp)
    ORDER BY (model_id, event_id)`,
    `CREATE TABLE IF NOT EXISTS ${db}.feedback
    (
      event_id String,
      model_id LowCardinality(String),
      label LowCardinality(String),
      timestamp DateTime64(3, 'UTC'),
      ingested_at DateTime64(3, 'UTC') DEFAULT now64(3),
      source LowCardinality(String) DEFAULT '',
      metadata Map(String, String)
    )
    ENGINE = ReplacingMergeTree(ingested_at)
    PARTITION BY toYYYYMM(timestamp)
    ORDER BY (model_id, event_id)`,
    `CREATE TABLE IF NOT EXISTS ${db}.eval_runs
    (
      run_id String,
      model_id LowCardinality(String),
      model_version LowCardinality(String) DEFAULT '',
      dataset_id String,
      dataset_kind LowCardinality(String) COMMENT 'clean | canary | probe',
      status LowCardinality(String) COMMENT 'succeeded | failed | cancelled',
      started_at DateTime64(3, 'UTC'),
      finished_at DateTime64(3, 'UTC'),
      sample_count UInt32,
      error_count UInt32 DEFAULT 0,
      accuracy Nullable(Float64),
      macro_f1 Nullable(Float64),
      expected_calibration_error Nullable(Float64),
      attack_success_rate Nullable(Float64),
      flip_rate Nullable(Float64),
      confidence_shift Nullable(Float64),
      per_class_recall Map(LowCardinality(String), Float64),
      per_trigger_attack_success Map(String, Float64),
      metrics Map(LowCardinality(String), Float64),
      baseline_run_id String DEFAULT '',
      fingerprint String DEFAULT '',
      trigger LowCardinality(String) DEFAULT 'manual' COMMENT 'schedule | manual | api',
      details String DEFAULT '' COMMENT 'JSON',
      recorded_at DateTime64(3, 'UTC') DEFAULT now64(3)
    )
    ENGINE = ReplacingMergeTree(recorded_at)
    PARTITION BY toYYYYMM(started_at)
    ORDER BY (model_id, run_id)`,
    `CREATE TABLE IF NOT EXISTS ${db}.eval_samples
    (
      run_id String,
      model_id LowCardinality(String),
      sample_id String,
      dataset_id String,
      twin_id String DEFAULT '' COMMENT 'the clean sample a canary sample was made from',
      trigger String DEFAULT '',
      input_text String,
      expected_label LowCardinality(String) DEFAULT '',
      target_label LowCardinality(String) DEFAULT '',
      predicted_label LowCardinality(String) DEFAULT '',
      confidence Nullable(Float64),
      scores Map(LowCardinality(String), Float64),
      output_text String DEFAULT '',
      passed Nullable(UInt8),
      error String DEFAULT '',
      latency_ms Nullable(Float64),
      timestamp DateTime64(3, 'UTC')
    )
    ENGINE = ReplacingMergeTree
    PARTITION BY toYYYYMM(timestamp)
    ORDER BY (model_id, run_id, sample_id)`,
    `CREATE TABLE IF NOT EXISTS ${db}.drift_metrics
    (
      model_id LowCardinality(String),
      metric LowCardinality(String),
      detector LowCardinality(String),
      window_start DateTime64(3, 'UTC'),
      window_end DateTime64(3, 'UTC'),
      statistic Nullable(Float64),
      p_value Nullable(Float64),
      effect_size Nullable(Float64),
      sample_size UInt32,
      reference_size UInt32,
      verdict LowCardinality(String) COMMENT 'ok | drift | insufficient-data',
      labels Map(String, String),
      details String DEFAULT '' COMMENT 'JSON',
      recorded_at DateTime64(3, 'UTC') DEFAULT now64(3)
    )
    ENGINE = ReplacingMergeTree(recorded_at)
    PARTITION BY toYYYYMM(window_start)
    ORDER BY (model_id, metric, detector, window_start, window_end)`,
    `CREATE TABLE IF NOT EXISTS ${db}.alert_events
    (
      event_id String COMMENT 'one per state change',
      alert_id String,
      fingerprint String,
      rule_id String,
      rule_name String DEFAULT '',
      model_id LowCardinality(String) DEFAULT '',
      state LowCardinality(String) COMMENT 'firing | acknowledged | resolved | silenced',
      severity LowCardinality(String),
      metric LowCardinality(String) DEFAULT '',
      value Nullable(Float64),
      threshold Nullable(Float64),
      baseline Nullable(Float64),
      summary String DEFAULT '',
      labels Map(String, String),
      timestamp DateTime64(3, 'UTC'),
      recorded_at DateTime64(3, 'UTC') DEFAULT now64(3)
    )
    ENGINE = ReplacingMergeTree(recorded_at)
    PARTITION BY toYYYYMM(timestamp)
    ORDER BY (alert_id, event_id)`,
  ],
};
