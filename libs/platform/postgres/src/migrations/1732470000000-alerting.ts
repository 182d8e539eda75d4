import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Alert rules, alerts and their lifecycle, silences, notification channels, one row per
 * notification delivery (persisted before it is sent, so nothing is dropped on a crash), and an
 * outbox of alert events for the alerts topic, written in the transaction that changes the state.
 */
export class Alerting1732470000000 implements MigrationInterface {
  name = 'Alerting1732470000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE alert_rules (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL,
        description text NOT NULL DEFAULT '',
        metric text NOT NULL,
        selector jsonb NOT NULL DEFAULT '{}',
        condition jsonb NOT NULL,
        for_seconds integer NOT NULL DEFAULT 0 CHECK (for_seconds >= 0),
        severity text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
        labels jsonb NOT NULL DEFAULT '{}',
        group_by text[] NOT NULL DEFAULT '{}',
        repeat_interval_seconds integer NOT NULL DEFAULT 0 CHECK (repeat_interval_seconds >= 0),
        channel_ids uuid[] NOT NULL DEFAULT '{}',
        enabled boolean NOT NULL DEFAULT true,
        created_by text NOT NULL DEFAULT '',
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`
      CREATE TABLE alert_silences (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        matchers jsonb NOT NULL,
        starts_at timestamptz NOT NULL DEFAULT now(),
        ends_at timestamptz NOT NULL,
        comment text NOT NULL DEFAULT '',
        created_by text NOT NULL DEFAULT '',
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CHECK (ends_at >= starts_at)
      )`);
    await queryRunner.query(`CREATE INDEX alert_silences_ends ON alert_silences (ends_at)`);
    await queryRunner.query(`
      CREATE TABLE alerts (
        id uuid PRIMARY KEY,
        rule_id uuid REFERENCES alert_rules(id) ON DELETE SET NULL,
        rule_name text NOT NULL,
        fingerprint text NOT NULL,
        state text NOT NULL CHECK (state IN ('pending', 'firing', 'acknowledged', 'resolved')),
        severity text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
        metric text NOT NULL,
        condition text NOT NULL,
        model_id text,
        series_labels jsonb NOT NULL,
        labels jsonb NOT NULL,
        value double precision,
        threshold double precision,
        baseline double precision,
        statistic double precision,
        p_value double precision,
        source jsonb NOT NULL,
        active_since timestamptz NOT NULL,
        fired_at timestamptz,
        acknowledged_at timestamptz,
        acknowledged_by text,
        resolved_at timestamptz,
        resolved_by text,
        resolution text,
        last_observed_at timestamptz NOT NULL,
        last_notified_at timestamptz,
        silenced_by uuid REFERENCES alert_silences(id) ON DELETE SET NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    // Dedup: at most one open alert per fingerprint, whichever replica sees the breach first.
    await queryRunner.query(
      `CREATE UNIQUE INDEX alerts_open_fingerprint ON alerts (fingerprint) WHERE state <> 'resolved'`,
    );
    await queryRunner.query(`CREATE INDEX alerts_state ON alerts (state, created_at DESC)`);
    await queryRunner.query(`CREATE INDEX alerts_model ON alerts (model_id, created_at DESC)`);
    await queryRunner.query(`CREATE INDEX alerts_rule ON alerts (rule_id) WHERE state <> 'resolved'`);
    await queryRunner.query(`
      CREATE TABLE notification_channels (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL UNIQUE,
        kind text NOT NULL CHECK (kind IN ('webhook', 'slack', 'pagerduty', 'email')),
        config jsonb NOT NULL,
        enabled boolean NOT NULL DEFAULT true,
        max_attempts integer NOT NULL DEFAULT 10 CHECK (max_attempts BETWEEN 1 AND 100),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`
      CREATE TABLE notification_deliveries (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        seq bigserial NOT NULL UNIQUE,
        channel_id uuid NOT NULL REFERENCES notification_channels(id) ON DELETE CASCADE,
        alert_ids uuid[] NOT NULL,
        rule_id uuid,
        event text NOT NULL CHECK (event IN ('firing', 'repeat', 'acknowledged', 'resolved')),
        group_key text NOT NULL,
        notification jsonb NOT NULL,
        status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
        attempts integer NOT NULL DEFAULT 0,
        max_attempts integer NOT NULL,
        last_error text,
        last_status integer,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        delivered_at timestamptz,
        failed_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(
      `CREATE INDEX notification_deliveries_due ON notification_deliveries (next_attempt_at) WHERE status = 'pending'`,
    );
    await queryRunner.query(
      `CREATE INDEX notification_deliveries_alerts ON notification_deliveries USING gin (alert_ids)`,
    );
    await queryRunner.query(
      `CREATE INDEX notification_deliveries_channel ON notification_deliveries (channel_id, seq DESC)`,
    );
    await queryRunner.query(`
      CREATE TABLE alert_event_outbox (
        seq bigserial PRIMARY KEY,
        key text,
        event jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of [
      'alert_event_outbox',
      'notification_deliveries',
      'notification_channels',
      'alerts',
      'alert_silences',
      'alert_rules',
    ]) {
      await queryRunner.query(`DROP TABLE IF EXISTS ${table} CASCADE`);
    }
  }
}
