import assert from 'node:assert/strict';
import { appendFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { SegmentLog } from '@tripline/transport';
import { temporaryDirectory } from '@tripline/testing';

const scratch = temporaryDirectory();
after(() => scratch.remove());

const record = (text: string) => ({ key: 'model-a', headers: { kind: 'test' }, value: Buffer.from(text) });

describe('segment log', () => {
  it('returns appended records in order with their key and headers', async () => {
    const log = await SegmentLog.open(path.join(scratch.path, 'order'));
    await log.append([record('one'), record('two')]);
    await log.append([{ value: Buffer.from('three') }]);
    const records = await log.read(log.startOffset);
    assert.deepEqual(
      records.map((r) => r.value.toString()),
      ['one', 'two', 'three'],
    );
    assert.equal(records[0].key, 'model-a');
    assert.deepEqual(records[0].headers, { kind: 'test' });
    assert.equal(records[2].key, null);
    assert.equal(records[2].next, log.endOffset);
    await log.close();
  });

  it('survives a reopen and cuts off a torn write at the tail', async () => {
    const directory = path.join(scratch.path, 'torn');
    const first = await SegmentLog.open(directory);
    await first.append([record('kept-1'), record('kept-2')]);
    const end = first.endOffset;
    await first.close();
    const segment = readdirSync(directory).find((name) => name.endsWith('.seg'))!;
    appendFileSync(path.join(directory, segment), Buffer.from([0, 0, 0, 50, 1, 2, 3])); // half a frame
    const reopened = await SegmentLog.open(directory);
    assert.equal(reopened.endOffset, end);
    const records = await reopened.read(reopened.startOffset);
    assert.deepEqual(
      records.map((r) => r.value.toString()),
      ['kept-1', 'kept-2'],
    );
    await reopened.append([record('after-recovery')]);
    assert.deepEqual(
      (await reopened.read(end)).map((r) => r.value.toString()),
      ['after-recovery'],
    );
    await reopened.close();
  });

  it('rolls segments and deletes one only after every group has committed past it', async () => {
    const directory = path.join(scratch.path, 'roll');
    const log = await SegmentLog.open(directory, 200);
    for (let i = 0; i < 10; i++) await log.append([record(`message-${i}-${'x'.repeat(40)}`)]);
    const segments = () => readdirSync(directory).filter((name) => name.endsWith('.seg')).length;
    const before = segments();
    assert.ok(before > 2, `expected several segments, got ${before}`);
    await log.commit('slow', log.startOffset);
    await log.commit('fast', log.endOffset);
    assert.equal(segments(), before, 'a lagging group keeps every segment');
    await log.commit('slow', log.endOffset);
    assert.equal(segments(), 1);
    assert.equal(await log.committed('slow'), log.endOffset);
    await log.close();
  });

  it('reads a record larger than the read budget whole', async () => {
    const log = await SegmentLog.open(path.join(scratch.path, 'large'));
    const big = 'y'.repeat(5000);
    await log.append([record(big), record('small')]);
    const records = await log.read(log.startOffset, 100);
    assert.equal(records[0].value.toString(), big);
    await log.close();
  });
});
