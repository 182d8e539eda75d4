import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inferenceEventSchema, type InferenceEvent } from '@tripline/contracts';
import { checkBatch, inferenceRow, predictedLabel, TableBuffer } from '@tripline/ingestion';

const event = (overrides: Partial<InferenceEvent>): InferenceEvent => ({
  event_id: 'e',
  model_id: 'm',
  timestamp: 0,
  ...overrides,
});

describe('table buffer', () => {
  it('writes once the row limit is reached, and resolves each caller after the write holding its rows', async () => {
    const writes: number[][] = [];
    const buffer = new TableBuffer<number>(async (rows) => void writes.push(rows), {
      maxRows: 3,
      maxWaitMs: 60_000,
    });
    const first = buffer.add([1, 2]);
    assert.equal(writes.length, 0);
    const second = buffer.add([3]);
    await Promise.all([first, second]);
    assert.deepEqual(writes, [[1, 2, 3]]);
  });

  it('writes after the wait time when the limit is not reached', async () => {
    const writes: number[][] = [];
    const buffer = new TableBuffer<number>(async (rows) => void writes.push(rows), {
      maxRows: 1_000,
      maxWaitMs: 10,
    });
    await buffer.add([7]);
    assert.deepEqual(writes, [[7]]);
  });

  it('rejects every caller of a failed write, so their batches are redelivered', async () => {
    const buffer = new TableBuffer<number>(async () => Promise.reject(new Error('ClickHouse is down')), {
      maxRows: 2,
      maxWaitMs: 60_000,
    });
    const results = await Promise.allSettled([buffer.add([1]), buffer.add([2])]);
    assert.deepEqual(
      results.map((result) => result.status),
      ['rejected', 'rejected'],
    );
    assert.equal(buffer.pending, 0);
  });
});

describe('rows and batches', () => {
  it('the predicted label is the given label, else the arg-max of the scores', () => {
    assert.deepEqual(predictedLabel(event({ output: { label: 'b', scores: { a: 0.7, b: 0.3 } } })), {
      label: 'b',
      confidence: 0.3,
    });
    assert.deepEqual(predictedLabel(event({ output: { scores: { a: 0.2, b: 0.8 } } })), {
      label: 'b',
      confidence: 0.8,
    });
    assert.deepEqual(predictedLabel(event({})), { label: '', confidence: null });
  });

  it('an inference row spreads RAG documents into parallel columns and formats time in UTC', () => {
    const row = inferenceRow(
      event({
        timestamp: Date.UTC(2026, 10, 24, 10, 0, 0, 5),
        rag: {
          documents: [
            { id: 'd1', source: 'wiki', score: 0.5 },
            { id: 'd2', source: 'kb' },
          ],
        },
      }),
    );
    assert.equal(row.timestamp, '2026-11-24 10:00:00.005');
    assert.deepEqual(
      [row.rag_document_ids, row.rag_sources, row.rag_scores],
      [
        ['d1', 'd2'],
        ['wiki', 'kb'],
        [0.5, 0],
      ],
    );
  });

  it('a batch check answers every item and publishes a repeated event_id once', () => {
    const { answer, valid } = checkBatch(inferenceEventSchema, [
      { event_id: 'a', model_id: 'm', timestamp: 1_795_510_800_000 },
      { event_id: 'a', model_id: 'm', timestamp: 1_795_510_800_000 },
      { event_id: 'b', model_id: 'm' },
      null,
    ]);
    assert.equal(valid.length, 1);
    assert.equal(answer.accepted, 2);
    assert.equal(answer.rejected, 2);
    assert.deepEqual(
      answer.results.map((result) => result.status),
      ['accepted', 'accepted', 'rejected', 'rejected'],
    );
    assert.equal(answer.results[2].event_id, 'b');
  });
});
