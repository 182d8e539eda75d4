import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { DataSource } from 'typeorm';
import { ConfigModule } from '@tripline/config';
import { modelSettingsSchema, type ModelSettingsMessage } from '@tripline/contracts';
import { OutboxPublisher } from '@tripline/outbox';
import { PostgresModule } from '@tripline/postgres';
import { ModelRegistry, RegistryModule } from '@tripline/registry';
import { OperabilityModule } from '@tripline/server';
import { TransportModule } from '@tripline/transport';
import { createTestDatabase, eventually, temporaryDirectory, uniqueName } from '@tripline/testing';
import { startDedicatedKafka, type DedicatedKafka } from '../support/dedicated-services';

/**
 * The registry writes a model's settings message (models.v1) into the outbox in the transaction
 * that changes the model, and the outbox publisher delivers it: on real PostgreSQL and a broker of
 * the test's own, which it stops to show that a registry write no longer needs Kafka.
 */
describe('model settings leave the registry through the outbox', () => {
  const scratch = temporaryDirectory();
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let kafka: DedicatedKafka;
  let app: INestApplication;
  let prefix: string;

  before(async () => {
    database = await createTestDatabase();
    kafka = await startDedicatedKafka();
    prefix = `${uniqueName('settings')}.`;
    Object.assign(process.env, {
      DATABASE_URL: database.url,
      KAFKA_BROKERS: kafka.brokers.join(','),
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_PARTITIONS: '1',
      TRIPLINE_DATA_DIR: scratch.path,
      TRIPLINE_OUTBOX_POLL_MS: '100',
      LOG_LEVEL: 'error',
    });
    const module = await Test.createTestingModule({
      imports: [ConfigModule, OperabilityModule, PostgresModule, TransportModule, RegistryModule],
    }).compile();
    app = module.createNestApplication({ logger: ['error'] });
    await app.init();
  });

  after(async () => {
    await app?.close();
    await kafka?.remove();
    await database?.drop();
    scratch.remove();
  });

  const sql = <T>(query: string, parameters: unknown[] = []) =>
    app.get(DataSource).query(query, parameters) as Promise<T[]>;

  const waiting = async (modelId: string): Promise<ModelSettingsMessage[]> =>
    (await sql<{ value: string }>(`SELECT value FROM event_outbox WHERE topic = 'models' ORDER BY seq`))
      .map((row) => JSON.parse(row.value) as ModelSettingsMessage)
      .filter((message) => message.model_id === modelId);

  /** Every message on the models topic, read from the beginning to the end, each checked against the contract. */
  async function modelsTopic(modelId: string): Promise<ModelSettingsMessage[]> {
    const client = kafka.client('settings-test-reader');
    const topic = `${prefix}models.v1`;
    const admin = client.admin();
    await admin.connect();
    const ends = await admin.fetchTopicOffsets(topic);
    await admin.disconnect();
    const total = ends.reduce((sum, partition) => sum + Number(partition.high) - Number(partition.low), 0);
    if (total === 0) return [];
    const consumer = client.consumer({ groupId: uniqueName('reader') });
    const seen: { key: string; message: ModelSettingsMessage }[] = [];
    try {
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          seen.push({
            key: message.key!.toString(),
            message: modelSettingsSchema.parse(JSON.parse(message.value!.toString())),
          });
        },
      });
      await eventually(async () => (seen.length >= total ? true : undefined), 60_000, 100);
    } finally {
      await consumer.disconnect();
    }
    const ours = seen.filter((entry) => entry.message.model_id === modelId);
    for (const entry of ours) assert.equal(entry.key, modelId, 'keyed by model id');
    return ours.map((entry) => entry.message);
  }

  it('a created and then changed model reaches models.v1 in order, and the outbox empties', async () => {
    const registry = app.get(ModelRegistry);
    const id = uniqueName('tabular');
    await registry.create({
      id,
      task: 'text-classification',
      labels: ['no', 'yes'],
      featureTypes: { age: 'numeric' },
    });
    await registry.update(id, { featureTypes: { age: 'numeric', region: 'categorical' } });
    await eventually(async () => ((await waiting(id)).length === 0 ? true : undefined), 60_000, 100);
    const messages = await modelsTopic(id);
    assert.deepEqual(
      messages.map((message) => message.feature_types),
      [{ age: 'numeric' }, { age: 'numeric', region: 'categorical' }],
    );
    assert.ok(messages[0].updated_at <= messages[1].updated_at, 'the later change carries the later time');
  });

  it('a change PostgreSQL refuses leaves no message behind', async () => {
    const id = uniqueName('refused');
    await sql(`CREATE FUNCTION refuse_model() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.id = '${id}' THEN RAISE EXCEPTION 'model refused by the test'; END IF;
        RETURN NEW;
      END $$`);
    await sql(
      `CREATE TRIGGER refuse_model BEFORE INSERT ON models FOR EACH ROW EXECUTE FUNCTION refuse_model()`,
    );
    try {
      await assert.rejects(
        app.get(ModelRegistry).create({
          id,
          task: 'text-classification',
          labels: ['no', 'yes'],
          featureTypes: { age: 'numeric' },
        }),
        /model refused by the test/,
      );
    } finally {
      await sql(`DROP TRIGGER refuse_model ON models`);
      await sql(`DROP FUNCTION refuse_model()`);
    }
    assert.deepEqual(await waiting(id), [], 'the message rolled back with the model');
  });

  it('a registry write succeeds while Kafka is unreachable, and its message is delivered once the broker is back', async () => {
    const registry = app.get(ModelRegistry);
    const id = uniqueName('offline');
    await registry.create({ id, task: 'text-classification', labels: ['no', 'yes'] });
    await eventually(async () => ((await waiting(id)).length === 0 ? true : undefined), 60_000, 100);
    await kafka.stop();
    try {
      const changed = await registry.update(id, { featureTypes: { income: 'numeric' } });
      assert.deepEqual(changed.featureTypes, { income: 'numeric' }, 'saved without the broker');
      const deleted = uniqueName('offline-deleted');
      await registry.create({
        id: deleted,
        task: 'text-classification',
        labels: ['a', 'b'],
        featureTypes: { x: 'numeric' },
      });
      await registry.remove(deleted);
      // An attempt made while the broker is down fails, and the messages stay in the outbox.
      await app.get(OutboxPublisher).drain();
      assert.deepEqual(
        (await waiting(id)).map((message) => message.feature_types),
        [{ income: 'numeric' }],
      );
      assert.deepEqual(
        (await waiting(deleted)).map((message) => message.deleted ?? false),
        [false, true],
        'the creation and the deletion both wait, in order',
      );
    } finally {
      await kafka.start();
    }
    await eventually(async () => ((await waiting(id)).length === 0 ? true : undefined), 120_000, 200);
    const messages = await modelsTopic(id);
    assert.deepEqual(messages.at(-1)?.feature_types, { income: 'numeric' }, 'published after the outage');
  });
});
