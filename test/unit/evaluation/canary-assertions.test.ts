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

  it('refuses patterns that can backtrack exponentially, and over-long patterns', () => {
    for (const pattern of ['(a+)+$', '(?:a*)*b', '(x|y+)+', '((ab)*c)*', '(a+){2,}']) {
      assert.throws(
        () => compileAssertionRegex(pattern),
        /repeated group that itself contains a repetition/,
        pattern,
      );
    }
    for (const pattern of ['(a+)?b', '(ab)+', '[(a+)]+', '\\(a+\\)+', '(a{2})*']) {
      assert.doesNotThrow(() => compileAssertionRegex(pattern), pattern);
    }
    assert.throws(
      () => compileAssertionRegex('a'.repeat(MAX_ASSERTION_PATTERN_LENGTH + 1)),
      new RegExp(
        `is ${MAX_ASSERTION_PATTERN_LENGTH + 1} characters; at most ${MAX_ASSERTION_PATTERN_LENGTH}`,
      ),
    );
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
