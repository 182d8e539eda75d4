import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The sources a RAG model may cite, per model: the RAG canaries check answers against it and the
 * stream rule checks each event's retrieved documents. NULL means no allow-list (nothing is
 * checked); an empty array approves nothing.
 */
export class RagAllowLists1732480000000 implements MigrationInterface {
  name = 'RagAllowLists1732480000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE models ADD COLUMN rag_allowed_sources text[]`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE models DROP COLUMN rag_allowed_sources`);
  }
}
