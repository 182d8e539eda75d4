import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Admin } from 'kafkajs';
import { createTopicsWithLeaders, isTopicAlreadyExists } from '@tripline/transport';

/** A broker's admin API as a fresh KRaft node answers it: metadata lags behind creation. */
function laggingAdmin(metadataAnswers: Array<'unknown' | 'leaderless' | 'ready'>) {
  const topics = new Set<string>();
  const calls = { created: [] as string[][], metadata: 0 };
  const admin = {
    listTopics: async () => [...topics],
    createTopics: async ({ topics: specs }: { topics: { topic: string }[] }) => {
      calls.created.push(specs.map((spec) => spec.topic));
      for (const spec of specs) topics.add(spec.topic);
      return true;
    },
    fetchTopicMetadata: async ({ topics: names }: { topics: string[] }) => {
      const answer = metadataAnswers[Math.min(calls.metadata++, metadataAnswers.length - 1)];
      if (answer === 'unknown')
        throw Object.assign(new Error('This server does not host this topic-partition'), {
          type: 'UNKNOWN_TOPIC_OR_PARTITION',
        });
      const leader = answer === 'ready' ? 1 : -1;
      return {
        topics: names.map((name) => ({
          name,
          partitions: [0, 1].map((partitionId) => ({ partitionId, leader, replicas: [1], isr: [1] })),
        })),
      };
    },
  };
  return { admin: admin as unknown as Admin, calls };
}

describe('Kafka topic creation', () => {
  it('waits out UNKNOWN_TOPIC_OR_PARTITION and leaderless partitions, creating each topic once', async () => {
    const { admin, calls } = laggingAdmin(['unknown', 'unknown', 'leaderless', 'ready']);
    const retries: string[] = [];
    const created = await createTopicsWithLeaders(
      admin,
      [
        { topic: 't.a', numPartitions: 2 },
        { topic: 't.b', numPartitions: 2 },
      ],
      { baseDelayMs: 1, capDelayMs: 2, onRetry: (reason) => retries.push(reason) },
    );
    assert.deepEqual(created, ['t.a', 't.b']);
    assert.deepEqual(calls.created, [['t.a', 't.b']]);
    assert.equal(retries.length, 3);
    assert.match(retries[0], /UNKNOWN_TOPIC_OR_PARTITION/);
    assert.match(retries[2], /without a leader yet in t\.a, t\.b/);
  });

  it('gives up after the bounded attempts with an error naming the topics and the last reason', async () => {
    const { admin } = laggingAdmin(['leaderless']);
    await assert.rejects(
      createTopicsWithLeaders(admin, [{ topic: 't.c', numPartitions: 2 }], {
        attempts: 3,
        baseDelayMs: 1,
        capDelayMs: 2,
      }),
      /Kafka topics t\.c not ready after 3 attempt\(s\): partitions without a leader yet in t\.c/,
    );
  });

  it('counts a concurrent creator as success', async () => {
    const { admin } = laggingAdmin(['ready']);
    const raced = Object.assign(admin, {
      createTopics: async () => {
        throw Object.assign(new Error('Topic creation errors'), {
          name: 'KafkaJSAggregateError',
          errors: [{ type: 'TOPIC_ALREADY_EXISTS' }, { type: 'TOPIC_ALREADY_EXISTS' }],
        });
      },
    });
    await createTopicsWithLeaders(raced, [{ topic: 't.d', numPartitions: 2 }], { baseDelayMs: 1 });
  });

  it('recognises TOPIC_ALREADY_EXISTS alone, in an aggregate or as a cause, and nothing else', () => {
    assert.equal(isTopicAlreadyExists({ type: 'TOPIC_ALREADY_EXISTS' }), true);
    assert.equal(isTopicAlreadyExists({ errors: [{ type: 'TOPIC_ALREADY_EXISTS' }] }), true);
    assert.equal(isTopicAlreadyExists({ cause: { type: 'TOPIC_ALREADY_EXISTS' } }), true);
    assert.equal(
      isTopicAlreadyExists({
        errors: [{ type: 'TOPIC_ALREADY_EXISTS' }, { type: 'INVALID_REPLICATION_FACTOR' }],
      }),
      false,
    );
    assert.equal(isTopicAlreadyExists({ errors: [] }), false);
    assert.equal(isTopicAlreadyExists(new Error('TOPIC_ALREADY_EXISTS')), false);
  });
});
