import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  contractJsonSchemas,
  feedbackSchema,
  inferenceEventSchema,
  LIMITS,
  parseInstant,
  validate,
  validateJson,
} from '@tripline/contracts';

const ROOT = path.resolve(__dirname, '..', '..', '..');

describe('inference event and feedback contracts', () => {
  it('the checked-in JSON Schemas match the zod schemas (run `npm run contracts:generate` after a change)', () => {
    for (const [file, schema] of Object.entries(contractJsonSchemas())) {
      const committed = JSON.parse(
        readFileSync(path.join(ROOT, 'libs', 'kernel', 'contracts', 'schemas', file), 'utf8'),
      );
      assert.deepEqual(committed, JSON.parse(JSON.stringify(schema)), `${file} is stale`);
    }
  });

  it('accepts RFC 3339 and epoch milliseconds, normalising both to epoch milliseconds', () => {
    const base = { event_id: 'e', model_id: 'm' };
    const rfc = validate(inferenceEventSchema, { ...base, timestamp: '2026-11-24T10:00:00.250+01:00' });
    const epoch = validate(inferenceEventSchema, {
      ...base,
      timestamp: Date.UTC(2026, 10, 24, 9, 0, 0, 250),
    });
    assert.ok(rfc.ok && epoch.ok);
    assert.equal(rfc.value.timestamp, epoch.value.timestamp);
  });

  it('refuses epoch seconds and timestamps without an offset, saying why', () => {
    const seconds = validate(inferenceEventSchema, {
      event_id: 'e',
      model_id: 'm',
      timestamp: 1_795_000_000,
    });
    assert.ok(!seconds.ok);
    assert.match(seconds.errors[0].message, /epoch milliseconds, not seconds/);
    const local = validate(inferenceEventSchema, {
      event_id: 'e',
      model_id: 'm',
      timestamp: '2026-11-24T10:00:00',
    });
    assert.ok(!local.ok);
    assert.equal(local.errors[0].field, 'timestamp');
  });

  it('refuses impossible calendar dates and times instead of rolling them over', () => {
    const at = (timestamp: string) =>
      validate(inferenceEventSchema, { event_id: 'e', model_id: 'm', timestamp });
    for (const impossible of [
      '2026-02-30T00:00:00Z',
      '2026-02-29T00:00:00Z',
      '2026-04-31T00:00:00Z',
      '2026-13-01T00:00:00Z',
      '2026-01-01T24:00:00Z',
      '2026-01-01T10:60:00Z',
      '2026-01-01T10:00:60Z',
      '2026-01-01T10:00:00+24:00',
    ]) {
      const result = at(impossible);
      assert.ok(!result.ok, `${impossible} was accepted`);
      assert.equal(result.errors[0].field, 'timestamp');
    }
    const leap = at('2024-02-29T23:59:59.5+01:00');
    assert.ok(leap.ok);
    assert.equal(leap.value.timestamp, Date.UTC(2024, 1, 29, 22, 59, 59, 500));
  });

  it('reads query times strictly: no negative epochs, no signs, no impossible dates', () => {
    assert.equal(parseInstant('1795510800000'), 1795510800000);
    assert.equal(parseInstant('2026-11-24T10:00:00Z'), Date.UTC(2026, 10, 24, 10));
    for (const bad of ['-1', '+5', '1e3', '2026-02-30T00:00:00Z', 'yesterday', '', ' 1'])
      assert.ok(Number.isNaN(parseInstant(bad)), bad);
    assert.ok(Number.isNaN(parseInstant(-1)));
  });

  it('takes scores as class probabilities: each 0..1, adding up to at most 1', () => {
    const scored = (scores: Record<string, number>) =>
      validate(inferenceEventSchema, {
        event_id: 'e',
        model_id: 'm',
        timestamp: Date.now(),
        output: { scores },
      });
    assert.ok(scored({ positive: 0.7, negative: 0.3 }).ok);
    assert.ok(scored({ positive: 0.6 }).ok, 'a top-k subset may add up to less than 1');
    assert.ok(scored({ a: 0.333334, b: 0.333334, c: 0.333334 }).ok, 'rounding is tolerated');
    for (const [scores, pattern] of [
      [{ positive: -5 }, /between 0 and 1/],
      [{ positive: 1e308 }, /between 0 and 1/],
      [{ positive: 2.3, negative: -1.1 }, /between 0 and 1/],
      [{ positive: 0.9, negative: 0.6 }, /adding up to at most 1 .*add up to 1\.5/],
    ] as const) {
      const result = scored(scores);
      assert.ok(!result.ok, JSON.stringify(scores));
      assert.match(result.errors[0].field, /^output\.scores/);
      assert.match(result.errors[0].message, pattern);
    }
  });

  it('enforces the documented size limits', () => {
    const scores = Object.fromEntries(
      Array.from({ length: LIMITS.scoreEntries + 1 }, (_, i) => [`l${i}`, 0.0001]),
    );
    const result = validate(inferenceEventSchema, {
      event_id: 'e',
      model_id: 'm',
      timestamp: Date.now(),
      output: { scores },
    });
    assert.ok(!result.ok);
    assert.match(result.errors[0].message, /at most 1000 score entries/);
  });

  it('refuses prototype-polluting keys at any depth, naming the path', () => {
    const result = validateJson(
      inferenceEventSchema,
      '{"event_id":"e","model_id":"m","timestamp":1795510800000,"input":{"features":{"constructor":1}}}',
    );
    assert.ok(!result.ok);
    assert.equal(result.errors[0].field, 'input.features.constructor');
  });

  it('reports invalid JSON and invalid UTF-8 as such', () => {
    const notJson = validateJson(feedbackSchema, Buffer.from('{"event_id":'));
    assert.ok(!notJson.ok);
    assert.match(notJson.errors[0].message, /expected a JSON object/);
    const notUtf8 = validateJson(feedbackSchema, Buffer.from([0x7b, 0xc3, 0x28, 0x7d]));
    assert.ok(!notUtf8.ok);
    assert.match(notUtf8.errors[0].message, /not valid UTF-8/);
  });
});
