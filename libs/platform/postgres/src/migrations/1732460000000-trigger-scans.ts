import type { MigrationInterface, QueryRunner } from 'typeorm';

/** A run either replays a dataset or scans a model for an unknown trigger; scans carry options. */
export class TriggerScans1732460000000 implements MigrationInterface {
  name = 'TriggerScans1732460000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE evaluation_runs ADD COLUMN mode text NOT NULL DEFAULT 'replay' CHECK (mode IN ('replay', 'trigger-scan'))`,
    );
    await queryRunner.query(`ALTER TABLE evaluation_runs ADD COLUMN options jsonb`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE evaluation_runs DROP COLUMN options, DROP COLUMN mode`);
  }
}
