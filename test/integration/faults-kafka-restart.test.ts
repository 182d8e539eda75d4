/**
 * Fault suite (issue 8, item 4): the Kafka broker restarted mid-stream. The suite's index is in
 * test/support/dedicated-services.ts. The broker is a dedicated one: the shared broker of
 * `npm test` serves the other tests running at the same time and is never stopped.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EventBus } from '@tripline/transport';
import { eventually, generateStream, produceAll } from '@tripline/testing';
import { startKafkaFaultHarness, type KafkaFaultHarness } from '../support/kafka-fault-harness';

describe('the Kafka broker restarted while events stream in', () => {
  let harness: KafkaFaultHarness;

  before(async () => {
    harness = await startKafkaFaultHarness();
  });

  after(async () => {
    await harness?.close();
  });

  it('events sent before, during and after the restart are all stored exactly once; the ingestor resumes by itself', async () => {
    const { kafka, producer, topic } = harness;
    const bus = harness.ingestor.get(EventBus);
    // 5% exact redeliveries on top of whatever the outage makes the producer and consumer repeat,
    // and 2% malformed: the ingestor dead-letters those through its own producer, across the restart too.
    const stream = generateStream(9_000, 0.05, 0.02, 31);
    await produceAll(producer, topic, stream.messages.slice(0, 3_000), 500);
    await eventually(async () => ((await harness.rowsWritten()) > 0 ? true : undefined), 60_000, 100);

    await kafka.stop();
    let acknowledged = false;
    const during = produceAll(producer, topic, stream.messages.slice(3_000, 6_000), 500).then(
      () => (acknowledged = true),
    );
    const health = await bus.check();
    assert.equal(health.up, false, 'the ingestor reports the broker unavailable');
    assert.equal(acknowledged, false, 'nothing is acknowledged while the broker is down');
    await kafka.start();
    await during;
    await produceAll(producer, topic, stream.messages.slice(6_000), 500);

    await harness.caughtUp();
    assert.deepEqual(await harness.stored(stream.modelId), {
      rows: stream.uniqueValid,
      ids: stream.uniqueValid,
    });
    assert.equal((await bus.check()).up, true, 'and reports it available again');

    // Every malformed message is dead-lettered (at least once; a redelivery may repeat a letter).
    const lettered = new Set<string>();
    const reader = kafka.client().consumer({ groupId: `${harness.prefix}dlq-reader` });
    await reader.connect();
    try {
      await reader.subscribe({ topic: `${harness.prefix}dlq.v1`, fromBeginning: true });
      await reader.run({
        eachMessage: async ({ message }) => {
          const { source } = JSON.parse(message.value!.toString()) as {
            source: { partition: number; offset: string };
          };
          lettered.add(`${source.partition}:${source.offset}`);
        },
      });
      await eventually(async () => (lettered.size >= stream.malformed ? true : undefined), 60_000, 200);
    } finally {
      await reader.disconnect();
    }
    assert.equal(lettered.size, stream.malformed);
  });
});
