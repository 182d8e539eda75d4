import type { MigrationInterface, QueryRunner } from 'typeorm';

export class ApiKeys1732440000000 implements MigrationInterface {
  name = 'ApiKeys1732440000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE api_keys (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL,
        prefix text NOT NULL,
        key_hash text NOT NULL UNIQUE,
        role text CHECK (role IN ('viewer', 'operator', 'admin')),
        scopes text[] NOT NULL DEFAULT '{}',
        created_by uuid REFERENCES api_keys(id) ON DELETE SET NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_used_at timestamptz,
        expires_at timestamptz,
        revoked_at timestamptz,
        CONSTRAINT api_keys_grants_something CHECK (role IS NOT NULL OR cardinality(scopes) > 0)
      )`);
    await queryRunner.query(`CREATE INDEX api_keys_active ON api_keys (revoked_at) WHERE revoked_at IS NULL`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE api_keys`);
  }
}
