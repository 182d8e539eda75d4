import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Manifests of local model versions are computed after registration, by an evaluator, not in the
 * request: a state (pending, ready, failed), the reason of a failure, and the claim of the
 * evaluator hashing it. Local versions that already have a manifest are ready; others keep NULL
 * (their first load records the folder, as before).
 */
export class ManifestStates1732490000000 implements MigrationInterface {
  name = 'ManifestStates1732490000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE model_versions
        ADD COLUMN manifest_state text CHECK (manifest_state IN ('pending', 'ready', 'failed')),
        ADD COLUMN manifest_error text,
        ADD COLUMN manifest_claimed_at timestamptz`);
    await queryRunner.query(
      `UPDATE model_versions SET manifest_state = 'ready' WHERE adapter->>'kind' = 'onnx' AND manifest IS NOT NULL`,
    );
    await queryRunner.query(
      `CREATE INDEX model_versions_manifest_pending ON model_versions (created_at) WHERE manifest_state = 'pending'`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX model_versions_manifest_pending`);
    await queryRunner.query(
      `ALTER TABLE model_versions DROP COLUMN manifest_state, DROP COLUMN manifest_error, DROP COLUMN manifest_claimed_at`,
    );
  }
}
