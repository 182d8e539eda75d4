import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { topicName } from '@tripline/contracts';
import { createTopicsWithLeaders } from '@tripline/transport';
import { createRecorder, type RecorderError, type RecorderLogger } from '@tripline/sdk';
import { eventually, freePort, kafkaBrokers, uniqueName } from '@tripline/testing';

const quiet: RecorderLogger = { warn: () => undefined, error: () => undefined };

describe('SDK Kafka transport against a real broker', () => {
  const prefix = `${uniqueName('sdk')}.`;
  const kafka = new Kafka({ brokers: kafkaBrokers(), logLevel: logLevel.NOTHING });
  let admin: Admin;

  before(async () => {
    admin = kafka.admin();
    await admin.connect();
    // As the ingestor would: the SDK's producer does not create topics.
    await createTopicsWithLeaders(
      admin,
      [topicName(prefix, 'inference'), topicName(prefix, 'feedback')].map((topic) => ({
        topic,
        numPartitions: 3,
        replicationFactor: 1,
      })),
    );
  });

  after(async () => {
    await admin.deleteTopics({ topics: [topicName(prefix, 'inference'), topicName(prefix, 'feedback')] });
    await admin.disconnect();
  });

  async function highWatermarkSum(topic: string): Promise<number> {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, partition) => sum + Number(partition.high), 0);
  }

  it('delivers 1,000 recorded events exactly once, keyed by model_id', async () => {
    const models = Array.from({ length: 7 }, (_, i) => `model-${i}`);
    const recorder = createRecorder({
      transport: { kind: 'kafka', brokers: kafkaBrokers(), topicPrefix: prefix, clientId: 'sdk-it' },
      maxBatchSize: 100,
      logger: quiet,
    });
    const now = Date.now();
    for (let i = 0; i < 1_000; i++) {
      recorder.record({
        event_id: `evt-${i}`,
        model_id: models[i % models.length],
        timestamp: now,
        output: { label: i % 2 ? 'positive' : 'negative' },
      });
    }
    await recorder.close();
    const stats = recorder.stats();
    assert.equal(stats.sent, 1_000);
    assert.equal(stats.failed, 0);
    assert.equal(stats.dropped, 0);
    assert.equal(stats.buffered, 0);

    const topic = topicName(prefix, 'inference');
    assert.equal(await highWatermarkSum(topic), 1_000, 'exactly 1,000 messages in the log');
    const received: {
      key: string | null;
      partition: number;
      value: { event_id: string; model_id: string };
    }[] = [];
    const consumer = kafka.consumer({ groupId: uniqueName('sdk-check') });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message, partition }) => {
        received.push({
          key: message.key?.toString('utf8') ?? null,
          partition,
          value: JSON.parse(message.value!.toString('utf8')),
        });
      },
    });
    try {
      await eventually(async () => (received.length >= 1_000 ? true : undefined), 60_000);
    } finally {
      await consumer.disconnect();
    }
    assert.equal(new Set(received.map((message) => message.value.event_id)).size, 1_000);
    for (const message of received) assert.equal(message.key, message.value.model_id);
    for (const model of models) {
      const partitions = new Set(received.filter((m) => m.key === model).map((m) => m.partition));
      assert.equal(partitions.size, 1, `${model} lands on one partition`);
    }
    assert.ok(
      new Set(received.map((message) => message.partition)).size > 1,
      'models spread over partitions',
    );
  });

  it('sends feedback to the feedback topic', async () => {
    const recorder = createRecorder({
      transport: { kind: 'kafka', brokers: kafkaBrokers(), topicPrefix: prefix },
      logger: quiet,
    });
    for (let i = 0; i < 10; i++)
      recorder.recordFeedback({
        event_id: `evt-${i}`,
        model_id: 'model-0',
        label: 'positive',
        timestamp: Date.now(),
      });
    await recorder.close();
    assert.equal(recorder.stats().sent, 10);
    assert.equal(await highWatermarkSum(topicName(prefix, 'feedback')), 10);
  });

  it('reports a batch for a topic that does not exist once retries are spent, and flush still ends', async () => {
    const failures: RecorderError[] = [];
    const recorder = createRecorder({
      transport: { kind: 'kafka', brokers: kafkaBrokers(), topicPrefix: `${uniqueName('missing')}.` },
      maxRetries: 1,
      retryBaseMs: 10,
      logger: quiet,
      onError: (error) => void failures.push(error),
    });
    recorder.record({ event_id: 'lost-1', model_id: 'model-0', timestamp: Date.now() });
    await recorder.close();
    assert.deepEqual(recorder.stats(), {
      buffered: 0,
      sent: 0,
      failed: 1,
      dropped: 0,
      retries: 1,
      rejected: 0,
    });
    assert.equal(failures.length, 1);
    assert.match(failures[0].message, /1 events not delivered/);
  });

  it('reports a batch when no broker answers, rather than waiting forever', async () => {
    const failures: RecorderError[] = [];
    const recorder = createRecorder({
      transport: { kind: 'kafka', brokers: [`127.0.0.1:${await freePort()}`] },
      maxRetries: 1,
      retryBaseMs: 10,
      logger: quiet,
      onError: (error) => void failures.push(error),
    });
    recorder.record({ event_id: 'lost-2', model_id: 'model-0', timestamp: Date.now() });
    await recorder.close();
    assert.equal(recorder.stats().failed, 1);
    assert.match(failures[0].message, /connecting to Kafka failed/);
  });
});
