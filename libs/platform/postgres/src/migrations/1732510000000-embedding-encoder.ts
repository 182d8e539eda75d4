import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The registered local model version whose `last_hidden_state` the ingestor embeds each window's
 * texts with, for embedding drift, `{"model_id": ..., "version": ...}`; null: none.
 */
export class EmbeddingEncoder1732510000000 implements MigrationInterface {
  name = 'EmbeddingEncoder1732510000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE models ADD COLUMN embedding_encoder jsonb`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE models DROP COLUMN embedding_encoder`);
  }
}
