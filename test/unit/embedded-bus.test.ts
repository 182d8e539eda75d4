import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { EmbeddedBus, type BusMessage } from '@tripline/transport';
import { eventually, temporaryDirectory } from '@tripline/testing';

const scratch = temporaryDirectory();
after(() => scratch.remove());

describe('embedded bus', () => {
  it('delivers published messages to a group and, after a failed batch, redelivers it rather than skip it', async () => {
    const bus = new EmbeddedBus({ directory: path.join(scratch.path, 'retry'), topicPrefix: 't.' });
    await bus.publish('inference', [
      { key: 'm', value: 'a' },
      { key: 'm', value: 'b' },
    ]);
    const seen: string[] = [];
    let failures = 0;
    const subscription = await bus.subscribe({
      groupId: 'g',
      topics: ['inference'],
      fromBeginning: true,
      onRetry: () => undefined,
      handleBatch: async (batch) => {
        if (failures++ === 0) throw new Error('store unavailable');
        seen.push(...batch.messages.map((m) => m.value.toString()));
      },
    });
    await eventually(async () => (seen.length === 2 ? true : undefined), 10_000);
    assert.deepEqual(seen, ['a', 'b']);
    assert.ok(failures >= 2);
    await subscription.stop();
    await bus.onApplicationShutdown();
  });

  it('a restarted process resumes after the last committed batch: nothing lost, nothing repeated', async () => {
    const directory = path.join(scratch.path, 'resume');
    const first = new EmbeddedBus({ directory, topicPrefix: 't.' });
    await first.publish(
      'feedback',
      ['1', '2', '3'].map((value) => ({ value })),
    );
    const received: BusMessage[] = [];
    const subscription = await first.subscribe({
      groupId: 'sink',
      topics: ['feedback'],
      fromBeginning: true,
      handleBatch: async (batch) => void received.push(...batch.messages),
    });
    await eventually(async () => (received.length === 3 ? true : undefined), 10_000);
    await subscription.stop();
    await first.onApplicationShutdown();

    const second = new EmbeddedBus({ directory, topicPrefix: 't.' });
    await second.publish('feedback', [{ value: '4' }]);
    const afterRestart: string[] = [];
    const resumed = await second.subscribe({
      groupId: 'sink',
      topics: ['feedback'],
      fromBeginning: true,
      handleBatch: async (batch) => void afterRestart.push(...batch.messages.map((m) => m.value.toString())),
    });
    await eventually(async () => (afterRestart.length >= 1 ? true : undefined), 10_000);
    assert.deepEqual(afterRestart, ['4']);
    assert.equal(received[0].topic, 't.feedback.v1');
    await resumed.stop();
    await second.onApplicationShutdown();
  });

  it('refuses a second consumer of one group in the same process', async () => {
    const bus = new EmbeddedBus({ directory: path.join(scratch.path, 'twice'), topicPrefix: 't.' });
    const first = await bus.subscribe({
      groupId: 'g',
      topics: ['alerts'],
      handleBatch: async () => undefined,
    });
    await assert.rejects(
      bus.subscribe({ groupId: 'g', topics: ['alerts'], handleBatch: async () => undefined }),
      /already consumes t\.alerts\.v1/,
    );
    await first.stop();
    await bus.onApplicationShutdown();
  });
});
