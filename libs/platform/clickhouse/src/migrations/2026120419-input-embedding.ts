import type { ClickHouseMigration } from '../migration';

/**
 * The input's embedding vector (`input.embedding`), for embedding drift. Float32: the precision
 * of the encoders that produce them, and half the bytes. Numbered by date and hour so that it
 * does not collide with migrations written at the same time on other branches.
 */
export const inputEmbedding: ClickHouseMigration = {
  version: 2026120419,
  name: 'input-embedding',
  statements: (db) => [
    `ALTER TABLE ${db}.inference_events ADD COLUMN IF NOT EXISTS input_embedding Array(Float32) DEFAULT [] COMMENT 'input.embedding, for embedding drift' AFTER input_features`,
  ],
};
