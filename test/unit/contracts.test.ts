import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  contractJsonSchemas,
  feedbackSchema,
  inferenceEventSchema,
  LIMITS,
  validate,
  validateJson,
} from '@tripline/contracts';

const ROOT = path.resolve(__dirname, '..', '..', '..');

describe('inference event and feedback contracts', () => {
  it('the checked-in JSON Schemas match the zod schemas (run `npm run contracts:generate` after a change)', () => {
    for (const [file, schema] of Object.entries(contractJsonSchemas())) {
      const committed = JSON.parse(
        readFileSync(path.join(ROOT, 'libs', 'contracts', 'schemas', file), 'utf8'),
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

  it('enforces the documented size limits', () => {
    const scores = Object.fromEntries(
      Array.from({ length: LIMITS.scoreEntries + 1 }, (_, i) => [`l${i}`, 0.1]),
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
