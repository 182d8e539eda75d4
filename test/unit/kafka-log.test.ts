import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeKafkaLog } from '@tripline/transport';

describe('Kafka log lines', () => {
  it('carry the error, the broker and the topic kafkajs reports beside its message', () => {
    const line = describeKafkaLog(
      {
        message: 'Response ListOffsets(key: 2, version: 3)',
        error: 'This server does not host this topic-partition',
        broker: '127.0.0.1:9092',
        topic: 'tripline.inference.v1',
        partition: 2,
        clientId: 'tripline',
      },
      'Connection',
    );
    assert.equal(
      line,
      'Response ListOffsets(key: 2, version: 3): This server does not host this topic-partition [broker 127.0.0.1:9092, topic tripline.inference.v1, partition 2] (Connection)',
    );
  });

  it('leaves out what kafkajs did not say', () => {
    assert.equal(
      describeKafkaLog({ message: 'Consumer has joined the group' }, 'ConsumerGroup'),
      'Consumer has joined the group (ConsumerGroup)',
    );
  });
});
