import type { ClickHouseMigration } from '../migration';

/**
 * The evaluator now writes eval_samples (through `evaluation-samples.v1` and the sink): the kind of
 * dataset and the model version a row belongs to, the sample's position in its dataset, the
 * SHA-256 of the whole input (input_text is cut to 1,024 characters), what the model answered
 * for a canary's clean twin, and whether a canary's trigger succeeded (null when the pair does not
 * count towards the attack-success rate; `passed` stays the sample's overall verdict).
 */
export const evalSamples: ClickHouseMigration = {
  version: 2026120502,
  name: 'eval-samples',
  statements: (db) => [
    `ALTER TABLE ${db}.eval_samples ADD COLUMN IF NOT EXISTS model_version LowCardinality(String) DEFAULT '' AFTER model_id`,
    `ALTER TABLE ${db}.eval_samples ADD COLUMN IF NOT EXISTS sample_index UInt32 DEFAULT 0 COMMENT 'position of the sample in its dataset, from 0' AFTER sample_id`,
    `ALTER TABLE ${db}.eval_samples ADD COLUMN IF NOT EXISTS dataset_kind LowCardinality(String) DEFAULT '' COMMENT 'clean | canary | probe' AFTER dataset_id`,
    `ALTER TABLE ${db}.eval_samples ADD COLUMN IF NOT EXISTS input_sha256 String DEFAULT '' COMMENT 'of the whole input; input_text is cut to 1,024 characters' AFTER input_text`,
    `ALTER TABLE ${db}.eval_samples ADD COLUMN IF NOT EXISTS twin_label LowCardinality(String) DEFAULT '' COMMENT 'what the model answered for the clean twin of a canary' AFTER predicted_label`,
    `ALTER TABLE ${db}.eval_samples ADD COLUMN IF NOT EXISTS triggered Nullable(UInt8) COMMENT 'canary: the trigger moved the answer to its target; null when the pair does not count' AFTER passed`,
  ],
};
