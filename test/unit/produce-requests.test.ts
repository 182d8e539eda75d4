import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { groupsWithin, PRODUCE_REQUEST_BYTES, produceRequests } from '@tripline/transport';

describe('a publish as produce requests the broker accepts', () => {
  it('keeps a small publish as one request', () => {
    const messages = Array.from({ length: 100 }, (_, i) => ({ key: 'm', value: `message ${i}` }));
    assert.deepEqual(produceRequests(messages), [messages]);
  });

  it('splits a large one in order, no request over the budget, an oversized message alone', () => {
    const part = 'x'.repeat(200 * 1024);
    const messages = [
      { key: 'sentiment', value: part },
      { key: 'sentiment', value: part },
      { key: 'sentiment', value: part },
      { key: null, value: 'y'.repeat(PRODUCE_REQUEST_BYTES + 1) },
      { key: 'sentiment', value: 'small', headers: { 'x-reason': 'r' } },
    ];
    const requests = produceRequests(messages);
    assert.deepEqual(
      requests.map((request) => request.map((message) => messages.indexOf(message))),
      [[0, 1], [2], [3], [4]],
    );
    assert.deepEqual(requests.flat(), messages, 'every message once, in order');
    assert.deepEqual(produceRequests([]), []);
  });

  it('groups by whichever limit comes first, bytes or items, keeping the order', () => {
    const sizes = [4, 4, 4, 1, 1, 1, 1, 9];
    const groups = groupsWithin(sizes, (size) => size, 8, 3);
    assert.deepEqual(groups, [[4, 4], [4, 1, 1], [1, 1], [9]]);
  });
});
