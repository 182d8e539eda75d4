import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * One transactional outbox for every topic (libs/platform/outbox), replacing the alerter's own: a row
 * names its topic, and keeps the key and the exact bytes to publish. Alert events still waiting in
 * the old table move over in their order.
 */
export class EventOutbox1732520000000 implements MigrationInterface {
  name = 'EventOutbox1732520000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE event_outbox (
        seq bigserial PRIMARY KEY,
        topic text NOT NULL,
        key text,
        value text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`
      INSERT INTO event_outbox (topic, key, value, created_at)
      SELECT 'alerts', key, event::text, created_at FROM alert_event_outbox ORDER BY seq`);
    await queryRunner.query(`DROP TABLE alert_event_outbox`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE alert_event_outbox (
        seq bigserial PRIMARY KEY,
        key text,
        event jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`
      INSERT INTO alert_event_outbox (key, event, created_at)
      SELECT key, value::jsonb, created_at FROM event_outbox WHERE topic = 'alerts' ORDER BY seq`);
    await queryRunner.query(`DROP TABLE event_outbox`);
  }
}
