/**
 * Fault suite (issue 8, item 4): the Kafka broker SIGKILLed mid-stream (no controlled shutdown;
 * the broker recovers its log at the next start). The suite's index is in
 * test/support/dedicated-services.ts. The broker is a dedicated one, never the shared broker.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, generateStream, produceAll } from '@tripline/testing';
import { startKafkaFaultHarness, type KafkaFaultHarness } from '../support/kafka-fault-harness';

describe('the Kafka broker killed while events stream in', () => {
  let harness: KafkaFaultHarness;

  before(async () => {
    harness = await startKafkaFaultHarness();
  });

  after(async () => {
    await harness?.close();
  });

  it('after a SIGKILL and a restart, every event is stored exactly once and consumption resumes by itself', async () => {
    const { kafka, producer, topic } = harness;
    const stream = generateStream(6_000, 0.05, 0, 32);
    await produceAll(producer, topic, stream.messages.slice(0, 3_000), 500);
    // Killed while the ingestor is mid-way through the first half.
    await eventually(async () => ((await harness.rowsWritten()) > 0 ? true : undefined), 60_000, 50);
    await kafka.kill();
    const during = produceAll(producer, topic, stream.messages.slice(3_000), 500);
    await kafka.start();
    await during;

    await harness.caughtUp();
    assert.deepEqual(await harness.stored(stream.modelId), {
      rows: stream.uniqueValid,
      ids: stream.uniqueValid,
    });
  });
});
