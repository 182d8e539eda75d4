import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Per-model overrides of the inferred feature types for per-feature drift, `{"<feature>":
 * "numeric" | "categorical"}`. Empty means every feature's type is inferred from its values.
 */
export class FeatureTypes1732500000000 implements MigrationInterface {
  name = 'FeatureTypes1732500000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE models ADD COLUMN feature_types jsonb NOT NULL DEFAULT '{}'`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE models DROP COLUMN feature_types`);
  }
}
