import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { TOPICS, type TopicKey } from '@tripline/contracts';
import { KafkaBus } from '@tripline/transport';
import { eventually, groupCaughtUp, kafkaBrokers, uniqueName } from '@tripline/testing';

describe('Kafka bus against a real broker', () => {
  const prefix = `${uniqueName('it')}.`;
  let bus: KafkaBus;

  before(async () => {
    bus = new KafkaBus({
      brokers: kafkaBrokers(),
      clientId: 'tripline-test',
      topicPrefix: prefix,
      partitions: 3,
      replicationFactor: 1,
    });
    await bus.ensureTopics();
  });

  after(async () => {
    await bus.onApplicationShutdown();
  });

  it('creates every topic of the design with the configured partitions, and a second call is a no-op', async () => {
    await bus.ensureTopics();
    const admin = new Kafka({ brokers: kafkaBrokers(), logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    const metadata = await admin.fetchTopicMetadata({
      topics: Object.values(TOPICS).map((topic) => prefix + topic),
    });
    await admin.disconnect();
    assert.equal(
      metadata.topics.length,
      8,
      'inference, feedback, evaluations, evaluation-samples, metrics, alerts, dlq, models',
    );
    for (const topic of metadata.topics) assert.equal(topic.partitions.length, 3, topic.name);
  });

  it('a fresh topic set created by two replicas at once, and again, carries messages on every topic right after', async () => {
    const freshPrefix = `${uniqueName('fresh')}.`;
    const replicas = ['a', 'b'].map(
      (name) =>
        new KafkaBus({
          brokers: kafkaBrokers(),
          clientId: `tripline-replica-${name}`,
          topicPrefix: freshPrefix,
          partitions: 3,
          replicationFactor: 1,
        }),
    );
    const admin = new Kafka({ brokers: kafkaBrokers(), logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    const names = Object.values(TOPICS).map((topic) => freshPrefix + topic);
    try {
      // Both start from nothing: whichever creates second meets TOPIC_ALREADY_EXISTS, which is success.
      await Promise.all(replicas.map((replica) => replica.ensureTopics()));
      await replicas[1].ensureTopics();
      const metadata = await admin.fetchTopicMetadata({ topics: names });
      assert.deepEqual(metadata.topics.map((topic) => topic.name).sort(), [...names].sort());
      for (const topic of metadata.topics) {
        assert.equal(topic.partitions.length, 3, topic.name);
        for (const partition of topic.partitions)
          assert.ok(partition.leader >= 0, `${topic.name} has a leader`);
      }

      // No wait between creation and use: the first publish and subscription go to the new topics.
      const keys = Object.keys(TOPICS) as TopicKey[];
      for (const key of keys) await replicas[0].publish(key, [{ key: 'model-f', value: key }]);
      const received = new Set<string>();
      const subscription = await replicas[1].subscribe({
        groupId: uniqueName('fresh-group'),
        topics: keys,
        fromBeginning: true,
        handleBatch: async (batch) => {
          for (const message of batch.messages) received.add(message.value.toString());
        },
      });
      await eventually(async () => (received.size === keys.length ? true : undefined), 60_000);
      await subscription.stop();
      assert.deepEqual([...received].sort(), [...keys].sort());
    } finally {
      await Promise.all(replicas.map((replica) => replica.onApplicationShutdown()));
      await admin.deleteTopics({ topics: names }).catch(() => undefined);
      await admin.disconnect();
    }
  });

  it('produces and consumes through the broker, keyed by model, every message exactly once to one group', async () => {
    const sent = Array.from({ length: 300 }, (_, i) => ({
      key: `model-${i % 7}`,
      value: JSON.stringify({ n: i }),
    }));
    await bus.publish('inference', sent);
    const received = new Map<number, { key: string | null; partition: number }>();
    const subscription = await bus.subscribe({
      groupId: uniqueName('group'),
      topics: ['inference'],
      fromBeginning: true,
      handleBatch: async (batch) => {
        for (const message of batch.messages)
          received.set(JSON.parse(message.value.toString()).n, {
            key: message.key,
            partition: message.partition,
          });
      },
    });
    await eventually(async () => (received.size === sent.length ? true : undefined), 60_000);
    await subscription.stop();
    const partitionsOfModel0 = new Set(
      [...received.entries()].filter(([n]) => n % 7 === 0).map(([, m]) => m.partition),
    );
    assert.equal(partitionsOfModel0.size, 1, 'one model always lands on one partition');
    assert.equal(received.get(5)?.key, 'model-5');
  });

  it('a failing handler is retried in place; the committed offset makes a restarted group resume without loss or repeat', async () => {
    const groupId = uniqueName('retry');
    const values = (count: number, from: number) =>
      Array.from({ length: count }, (_, i) => ({ key: 'model-r', value: String(from + i) }));
    await bus.publish('feedback', values(20, 0));
    const firstRun: string[] = [];
    let failed = 0;
    const first = await bus.subscribe({
      groupId,
      topics: ['feedback'],
      fromBeginning: true,
      onRetry: () => undefined,
      handleBatch: async (batch) => {
        if (failed < 2) {
          failed++;
          throw new Error('downstream unavailable');
        }
        firstRun.push(...batch.messages.map((m) => m.value.toString()));
      },
    });
    await eventually(async () => (firstRun.length === 20 ? true : undefined), 60_000);
    await first.stop();
    assert.equal(failed, 2);
    assert.deepEqual(
      firstRun.map(Number).sort((a, b) => a - b),
      Array.from({ length: 20 }, (_, i) => i),
    );

    await bus.publish('feedback', values(5, 20));
    const secondRun: string[] = [];
    const second = await bus.subscribe({
      groupId,
      topics: ['feedback'],
      fromBeginning: true,
      handleBatch: async (batch) => void secondRun.push(...batch.messages.map((m) => m.value.toString())),
    });
    await eventually(async () => (secondRun.length >= 5 ? true : undefined), 60_000);
    // Every message delivered and committed: nothing more can arrive, so a repeat would be in secondRun.
    await eventually(
      async () => ((await groupCaughtUp(groupId, [bus.topicName('feedback')])) ? true : undefined),
      60_000,
    );
    await second.stop();
    assert.deepEqual(
      secondRun.map(Number).sort((a, b) => a - b),
      [20, 21, 22, 23, 24],
    );
  });

  it('one publish of several MB to one partition is accepted, in order: far over the 1 MB a broker takes per request', async () => {
    // As the outbox drains a large evaluation's per-sample parts: all keyed by one model.
    const sent = Array.from({ length: 24 }, (_, i) => ({
      key: 'model-large',
      value: JSON.stringify({ n: i, pad: 'x'.repeat(200 * 1024) }),
    }));
    await bus.publish('evaluationSamples', sent);
    const received: number[] = [];
    const subscription = await bus.subscribe({
      groupId: uniqueName('large'),
      topics: ['evaluationSamples'],
      fromBeginning: true,
      handleBatch: async (batch) => {
        for (const message of batch.messages) received.push(JSON.parse(message.value.toString()).n);
      },
    });
    await eventually(async () => (received.length >= sent.length ? true : undefined), 60_000);
    await subscription.stop();
    assert.deepEqual(
      received,
      sent.map((_, i) => i),
    );
  });

  it('reports the broker healthy', async () => {
    const health = await bus.check();
    assert.equal(health.up, true, health.detail);
    assert.match(health.detail, /1 broker/);
  });
});
