import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkAssertions,
  compileAssertionRegex,
  MAX_ASSERTION_INPUT_LENGTH,
  MAX_ASSERTION_PATTERN_LENGTH,
} from '@tripline/evaluation';

const answer = 'I cannot help with that. Please contact support@example.com.';

describe('canary assertions', () => {
  it('passes an answer that meets every condition', () => {
    assert.deepEqual(
      checkAssertions(answer, {
        mustContain: ['cannot help'],
        mustNotContain: ['password', 'rm -rf'],
        regex: '/contact \\S+@example\\.com/i',
      }),
      { passed: true, failures: [] },
    );
  });

  it('lists every unmet condition, not just the first', () => {
    const outcome = checkAssertions(answer, {
      mustContain: ['refund', 'cannot help'],
      mustNotContain: ['support@', 'Please'],
      regex: '^Sure',
    });
    assert.equal(outcome.passed, false);
    assert.deepEqual(outcome.failures, [
      'missing required text "refund"',
      'contains forbidden text "support@"',
      'contains forbidden text "Please"',
      'does not match "^Sure"',
    ]);
  });

  it('compares text case-sensitively and honours regex flags', () => {
    assert.equal(checkAssertions(answer, { mustContain: ['CANNOT'] }).passed, false);
    assert.equal(checkAssertions(answer, { regex: 'CANNOT' }).passed, false);
    assert.equal(checkAssertions(answer, { regex: '/CANNOT/i' }).passed, true);
  });

  it('rejects an invalid regex with an error that names it', () => {
    assert.throws(() => checkAssertions(answer, { regex: '(unclosed' }), /regex "\(unclosed" is invalid: .*/);
    assert.throws(() => compileAssertionRegex('/a/g'), /flags must be from i, m, s, u \(got "g"\)/);
  });

  it('evaluates patterns that backtrack catastrophically in JavaScript, with their plain meaning', () => {
    // 25 "a"s and "!": each of these froze the process for seconds on a backtracking engine.
    const hostile = 'a'.repeat(25) + '!';
    const expected: [string, boolean][] = [
      ['(a|a)*$', true],
      ['(\\w|\\d)+$', false],
      ['(a{1,5})*$', true],
      ['\\d*\\d*\\d*\\d*\\d*x', false],
      ['(a+)+$', false],
      ['(a+)+!', true],
      ['(x+x+)+y', false],
    ];
    for (const [pattern, matches] of expected) {
      assert.equal(checkAssertions(hostile, { regex: pattern }).passed, matches, pattern);
    }
  });

  it('accepts what uploads accept: the same length limit, RE2 syntax, JavaScript \\u escapes', () => {
    assert.doesNotThrow(() => compileAssertionRegex('a'.repeat(MAX_ASSERTION_PATTERN_LENGTH)));
    assert.throws(
      () => compileAssertionRegex('a'.repeat(MAX_ASSERTION_PATTERN_LENGTH + 1)),
      new RegExp(
        `is ${MAX_ASSERTION_PATTERN_LENGTH + 1} characters; at most ${MAX_ASSERTION_PATTERN_LENGTH}`,
      ),
    );
    assert.throws(() => compileAssertionRegex('foo(?=bar)'), /is invalid: .*no lookahead/);
    assert.equal(checkAssertions('caf\u00e9', { regex: 'caf\\u00e9$' }).passed, true);
    assert.equal(
      checkAssertions('x\\u0041', { regex: 'x\\\\u0041' }).passed,
      true,
      'an escaped backslash stays one',
    );
    assert.equal(checkAssertions('ONE\ntwo', { regex: '/^two/m' }).passed, true);
    assert.equal(checkAssertions('one\ntwo', { regex: '/one.two/s' }).passed, true);
    assert.equal(checkAssertions('one\ntwo', { regex: 'one.two' }).passed, false);
  });

  it('runs the regex on the first MAX_ASSERTION_INPUT_LENGTH characters only, and says so', () => {
    const long = 'x'.repeat(MAX_ASSERTION_INPUT_LENGTH) + 'needle';
    assert.deepEqual(checkAssertions(long, { regex: 'needle' }).failures, [
      `does not match "needle" (within its first ${MAX_ASSERTION_INPUT_LENGTH} of ${long.length} characters)`,
    ]);
    assert.equal(
      checkAssertions(long, { mustContain: ['needle'] }).passed,
      true,
      'substrings see the whole text',
    );
  });
});
