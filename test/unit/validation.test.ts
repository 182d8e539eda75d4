import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BadRequestException } from '@nestjs/common';
import { z } from 'zod';
import { JsonDepthGauge, jsonDepthProblem, LIMITS } from '@tripline/contracts';
import { ZodValidationPipe } from '@tripline/http';

describe('request validation', () => {
  const pipe = new ZodValidationPipe(
    z
      .object({ name: z.string().min(1, 'expected a non-empty name'), limit: z.number().int().max(10) })
      .strict(),
  );

  it('passes a valid body through parsed', () => {
    assert.deepEqual(pipe.transform({ name: 'x', limit: 3 }), { name: 'x', limit: 3 });
  });

  it('answers 400 naming each field, what was expected and what came', () => {
    try {
      pipe.transform({ name: '', limit: 11, extra: true });
      assert.fail('expected a rejection');
    } catch (error) {
      assert.ok(error instanceof BadRequestException);
      const body = error.getResponse() as {
        message: string[];
        problems: { field: string; message: string }[];
      };
      const fields = body.problems.map((p) => p.field).sort();
      assert.deepEqual(fields, ['(body)', 'limit', 'name']);
      assert.ok(
        body.message.some((m) => m.startsWith('name: expected a non-empty name (got "")')),
        body.message.join('\n'),
      );
      assert.ok(
        body.message.some((m) => /^limit: .*10.*\(got 11\)/.test(m)),
        body.message.join('\n'),
      );
    }
  });
});

describe('JSON nesting is measured on the bytes, before parsing (issue 11)', () => {
  it('refuses one level past the limit and accepts the limit itself', () => {
    const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
    assert.equal(jsonDepthProblem(nested(LIMITS.bodyDepth), LIMITS.bodyDepth), undefined);
    assert.match(
      jsonDepthProblem(nested(LIMITS.bodyDepth + 1), LIMITS.bodyDepth) ?? '',
      new RegExp(`nested deeper than ${LIMITS.bodyDepth} levels \\(at byte ${LIMITS.bodyDepth}\\)`),
    );
  });

  it('ignores brackets inside strings, escaped quotes included, and multi-byte text', () => {
    const text = JSON.stringify({ a: '[[[[[[[[ \\" {{{{{ ü 🙂 [[[[' });
    assert.equal(jsonDepthProblem(text, 1), undefined);
    assert.match(jsonDepthProblem('{"a":{"b":"[[["}}', 1) ?? '', /deeper than 1 levels/);
  });

  it('measures across chunks the way a body arrives', () => {
    const gauge = new JsonDepthGauge(3);
    assert.equal(gauge.feed(Buffer.from('{"x":"[')), true);
    assert.equal(gauge.feed(Buffer.from('[[","y":[[')), true);
    assert.equal(gauge.feed(Buffer.from('[')), false);
    assert.equal(gauge.exceededAt, 17);
  });

  it('counts objects, arrays and strings (keys included), not numbers, against a value limit', () => {
    const gauge = new JsonDepthGauge(LIMITS.bodyDepth, 6);
    // { "a" [ "b" "c" "[x": six values; the numbers and the bracket inside a string do not count.
    assert.equal(gauge.feed(Buffer.from('{"a":[1,2,3,"b"],"c":"[x"')), true);
    assert.equal(gauge.exceeded, undefined);
    assert.equal(gauge.feed(Buffer.from(',"d":0}')), false);
    assert.equal(gauge.exceeded, 'values');
    assert.equal(gauge.exceededAt, 26);
    const flat = new JsonDepthGauge(LIMITS.bodyDepth, LIMITS.bodyValues);
    assert.equal(flat.feed(Buffer.from(`[${'[],'.repeat(LIMITS.bodyValues - 2)}[]]`)), true);
    assert.equal(flat.feed(Buffer.from('[')), false);
    assert.equal(flat.exceeded, 'values');
  });
});
