import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelay, parseRetryAfter, sleep } from '@tripline/retry';

describe('backoff', () => {
  it('waits between half and all of a ceiling that doubles from the base up to the cap', () => {
    assert.equal(
      backoffDelay(1, 200, 5_000, () => 0),
      100,
    );
    assert.equal(
      backoffDelay(1, 200, 5_000, () => 0.999_999),
      200,
    );
    assert.equal(
      backoffDelay(3, 200, 5_000, () => 0),
      400,
    );
    assert.equal(
      backoffDelay(30, 200, 5_000, () => 0),
      2_500,
      'capped',
    );
    assert.equal(
      backoffDelay(1_000, 200, 5_000, () => 0.999_999),
      5_000,
      'no overflow on a long outage',
    );
  });
});

describe('Retry-After', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  it('reads delta-seconds and HTTP dates, in milliseconds', () => {
    assert.equal(parseRetryAfter(' 7 ', now), 7_000);
    assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now), 30_000);
    assert.equal(parseRetryAfter('Wed, 31 Dec 2025 23:59:00 GMT', now), 0, 'a date in the past: now');
  });
  it('takes the first of a repeated header, and says nothing when absent or unreadable', () => {
    assert.equal(parseRetryAfter(['2', '9'], now), 2_000);
    assert.equal(parseRetryAfter(undefined, now), undefined);
    assert.equal(parseRetryAfter(null, now), undefined);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter('', now), undefined);
  });
});

describe('sleep', () => {
  it('resolves at once when its signal aborts', async () => {
    const controller = new AbortController();
    const slept = sleep(3_600_000, controller.signal);
    controller.abort();
    await slept;
    await sleep(10, controller.signal);
  });
});
