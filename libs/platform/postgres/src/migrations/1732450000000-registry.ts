import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Registry1732450000000 implements MigrationInterface {
  name = 'Registry1732450000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE models (
        id text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
        name text NOT NULL,
        task text NOT NULL CHECK (task IN ('text-classification', 'text-generation', 'rag')),
        labels text[] NOT NULL DEFAULT '{}',
        owner text NOT NULL DEFAULT '',
        description text NOT NULL DEFAULT '',
        current_version_id uuid,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`
      CREATE TABLE model_versions (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        model_id text NOT NULL REFERENCES models(id) ON DELETE CASCADE,
        version text NOT NULL,
        adapter jsonb NOT NULL,
        manifest jsonb,
        created_by text NOT NULL DEFAULT '',
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (model_id, version)
      )`);
    await queryRunner.query(
      `ALTER TABLE models ADD CONSTRAINT models_current_version FOREIGN KEY (current_version_id) REFERENCES model_versions(id) ON DELETE SET NULL`,
    );
    await queryRunner.query(`
      CREATE TABLE datasets (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        model_id text REFERENCES models(id) ON DELETE CASCADE,
        name text NOT NULL,
        kind text NOT NULL CHECK (kind IN ('clean', 'canary', 'probe')),
        format text NOT NULL CHECK (format IN ('jsonl', 'csv', 'generated')),
        source text NOT NULL DEFAULT '',
        uploaded_by text NOT NULL DEFAULT '',
        sha256 text NOT NULL,
        bytes bigint NOT NULL DEFAULT 0,
        sample_count integer NOT NULL DEFAULT 0,
        labels text[] NOT NULL DEFAULT '{}',
        generated_from uuid REFERENCES datasets(id) ON DELETE SET NULL,
        generator jsonb,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`
      CREATE TABLE dataset_samples (
        dataset_id uuid NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
        ordinal integer NOT NULL,
        sample_id text NOT NULL,
        text text NOT NULL,
        label text,
        target_label text,
        twin_id text,
        twin_text text,
        trigger text,
        position text,
        assertions jsonb,
        metadata jsonb,
        PRIMARY KEY (dataset_id, ordinal),
        UNIQUE (dataset_id, sample_id)
      )`);
    await queryRunner.query(`
      CREATE TABLE schedules (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        model_id text NOT NULL REFERENCES models(id) ON DELETE CASCADE,
        dataset_ids uuid[] NOT NULL,
        cron text NOT NULL,
        enabled boolean NOT NULL DEFAULT true,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`
      CREATE TABLE evaluation_runs (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        model_id text NOT NULL REFERENCES models(id) ON DELETE CASCADE,
        version_id uuid REFERENCES model_versions(id) ON DELETE SET NULL,
        dataset_id uuid NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
        dataset_kind text NOT NULL,
        status text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
        trigger text NOT NULL CHECK (trigger IN ('schedule', 'api')),
        schedule_id uuid REFERENCES schedules(id) ON DELETE SET NULL,
        scheduled_for timestamptz,
        progress_done integer NOT NULL DEFAULT 0,
        progress_total integer NOT NULL DEFAULT 0,
        heartbeat_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz,
        finished_at timestamptz,
        error text,
        summary jsonb,
        baseline_run_id uuid REFERENCES evaluation_runs(id) ON DELETE SET NULL,
        is_baseline boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        -- One run per dataset per scheduled tick, whichever replica claims it first.
        UNIQUE (schedule_id, scheduled_for, dataset_id)
      )`);
    await queryRunner.query(
      `CREATE INDEX evaluation_runs_model ON evaluation_runs (model_id, created_at DESC)`,
    );
    await queryRunner.query(
      `CREATE INDEX evaluation_runs_active ON evaluation_runs (model_id) WHERE status IN ('queued', 'running')`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX evaluation_runs_one_baseline ON evaluation_runs (model_id, dataset_id) WHERE is_baseline`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of [
      'evaluation_runs',
      'schedules',
      'dataset_samples',
      'datasets',
      'model_versions',
      'models',
    ]) {
      await queryRunner.query(`DROP TABLE IF EXISTS ${table} CASCADE`);
    }
  }
}
