import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import {
  createTestDatabase,
  kafkaBrokers,
  startApp,
  temporaryDirectory,
  uniqueName,
  type RunningApp,
} from '@tripline/testing';

describe('api app against real Kafka and PostgreSQL', () => {
  const scratch = temporaryDirectory();
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let app: RunningApp;

  before(async () => {
    database = await createTestDatabase();
    app = await startApp('api', {
      TRIPLINE_DATA_DIR: scratch.path,
      DATABASE_URL: database.url,
      KAFKA_BROKERS: kafkaBrokers().join(','),
      TRIPLINE_EMBEDDED_CLICKHOUSE: 'true', // one process's own history is what this test reads
      KAFKA_TOPIC_PREFIX: `${uniqueName('api')}.`,
      KAFKA_PARTITIONS: '2',
      TRIPLINE_ADMIN_KEY: 'tl_distributed-admin-key-0123456789',
    });
  });

  after(async () => {
    await app?.stop();
    await database?.drop();
    scratch.remove();
  });

  it('reports Kafka, PostgreSQL and ClickHouse ready', async () => {
    const response = await fetch(`${app.baseUrl}/health`);
    const body = (await response.json()) as {
      status: string;
      details: Record<string, { status: string; detail: string }>;
    };
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.equal(body.details.kafka.status, 'up');
    assert.match(body.details.kafka.detail, /broker/);
    assert.equal(body.details.postgres.status, 'up');
    assert.equal(body.details.clickhouse.status, 'up');
  });

  it('guards /v1/ routes with keys stored in the real database', async () => {
    assert.equal((await fetch(`${app.baseUrl}/v1/keys`)).status, 401);
    const listed = await fetch(`${app.baseUrl}/v1/keys`, {
      headers: { authorization: 'Bearer tl_distributed-admin-key-0123456789' },
    });
    assert.equal(listed.status, 200);
    const client = new Client({ connectionString: database.url });
    await client.connect();
    const { rows } = await client.query<{ role: string; key_hash: string }>(
      'SELECT role, key_hash FROM api_keys',
    );
    await client.end();
    assert.deepEqual(
      rows.map((row) => row.role),
      ['admin'],
    );
    assert.match(rows[0].key_hash, /^[0-9a-f]{64}$/, 'stored hashed');
  });
});
