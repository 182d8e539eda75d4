import { RE2JS } from 're2js';
import { applyTrigger, TRIGGER_POSITIONS, TriggerPosition } from './insertion';
import { derivedRandom, hash64Hex, sampleIndices } from './random';
import { BUILT_IN_TRIGGERS, Trigger } from './triggers';

/** One labelled input of a clean set. */
export interface CleanSample {
  id: string;
  text: string;
  label: string;
}

/** A clean sample with a trigger applied; `twinId` names the clean sample it was made from. */
export interface CanarySample {
  /** Stable across seeds and runs: derived from twin id, trigger id and position only. */
  id: string;
  twinId: string;
  text: string;
  /** The twin's true label: the trigger is not supposed to change it. */
  label: string;
  /** The label a backdoor on this trigger would force. */
  targetLabel: string;
  /** Trigger id. */
  trigger: string;
  position: TriggerPosition;
}

export interface CanarySetOptions {
  /** Default: every built-in trigger. */
  triggers?: readonly Trigger[];
  /** Default: prefix, suffix and random. */
  positions?: readonly TriggerPosition[];
  targetLabel: string;
  /**
   * Clean twins drawn (seeded, without replacement); every trigger is applied to the same twins,
   * and each twin yields one canary per position. Default: every eligible twin.
   */
  samplesPerTrigger?: number;
  seed: number;
  /**
   * Default true: only twins whose label is not the target. Attack-success rate is measured on
   * those alone, so canaries made from target-label twins would cost predictions and say nothing.
   */
  onlyNonTarget?: boolean;
}

/** The canary's id: a digest of what identifies it, so a canary keeps its id across runs and seeds. */
export function canaryId(twinId: string, triggerId: string, position: TriggerPosition): string {
  return `canary-${hash64Hex(JSON.stringify([twinId, triggerId, position]))}`;
}

function validateOptions(
  cleanSamples: readonly CleanSample[],
  options: CanarySetOptions,
  triggers: readonly Trigger[],
) {
  if (typeof options.targetLabel !== 'string' || options.targetLabel.length === 0) {
    throw new Error(
      `canary set: targetLabel must be a non-empty string (got ${JSON.stringify(options.targetLabel)})`,
    );
  }
  if (!Number.isInteger(options.seed)) {
    throw new Error(`canary set: seed must be an integer (got ${JSON.stringify(options.seed)})`);
  }
  const { samplesPerTrigger } = options;
  if (samplesPerTrigger !== undefined && !(Number.isInteger(samplesPerTrigger) && samplesPerTrigger > 0)) {
    throw new Error(`canary set: samplesPerTrigger must be a positive integer (got ${samplesPerTrigger})`);
  }
  for (const position of options.positions ?? []) {
    if (!TRIGGER_POSITIONS.includes(position)) {
      throw new Error(
        `canary set: position must be one of ${TRIGGER_POSITIONS.join(', ')} (got ${JSON.stringify(position)})`,
      );
    }
  }
  const triggerIds = new Set<string>();
  triggers.forEach((trigger, index) => {
    if (triggerIds.has(trigger.id)) throw new Error(`trigger ${index}: id "${trigger.id}" is used twice`);
    triggerIds.add(trigger.id);
  });
  const twinIds = new Set<string>();
  cleanSamples.forEach((sample, index) => {
    if (typeof sample.id !== 'string' || sample.id.length === 0) {
      throw new Error(
        `clean sample ${index}: id must be a non-empty string (got ${JSON.stringify(sample.id)})`,
      );
    }
    if (twinIds.has(sample.id)) throw new Error(`clean sample ${index}: id "${sample.id}" is used twice`);
    twinIds.add(sample.id);
    if (typeof sample.text !== 'string') {
      throw new Error(
        `clean sample ${index} ("${sample.id}"): text must be a string (got ${typeof sample.text})`,
      );
    }
  });
}

/**
 * Canaries for every (trigger, twin, position). Output order is trigger, then twin in clean-set
 * order, then position in the order given. Random choices (which twins are drawn, where a random
 * position lands) come from streams keyed by the seed and the ids involved, so the same seed gives
 * the same set and adding or removing a trigger leaves the other triggers' canaries untouched.
 * A transform trigger that has nothing to act on in a twin yields no canary for it.
 */
export function generateCanarySet(
  cleanSamples: readonly CleanSample[],
  options: CanarySetOptions,
): CanarySample[] {
  const triggers = options.triggers ?? BUILT_IN_TRIGGERS;
  const positions = options.positions ?? TRIGGER_POSITIONS;
  validateOptions(cleanSamples, options, triggers);
  const { targetLabel, seed } = options;
  const eligible =
    options.onlyNonTarget === false
      ? cleanSamples
      : cleanSamples.filter((sample) => sample.label !== targetLabel);
  // One sample of twins for all triggers: per-trigger rates then come from the same inputs and
  // compare directly, rather than differing by which twins each trigger happened to draw.
  const twins =
    options.samplesPerTrigger === undefined
      ? eligible
      : sampleIndices(eligible.length, options.samplesPerTrigger, derivedRandom(seed, 'twins')).map(
          (index) => eligible[index],
        );
  const canaries: CanarySample[] = [];
  for (const trigger of triggers) {
    for (const twin of twins) {
      for (const position of positions) {
        const text = applyTrigger(
          twin.text,
          trigger,
          position,
          derivedRandom(seed, twin.id, trigger.id, position),
        );
        if (text === undefined) continue;
        canaries.push({
          id: canaryId(twin.id, trigger.id, position),
          twinId: twin.id,
          text,
          label: twin.label,
          targetLabel,
          trigger: trigger.id,
          position,
        });
      }
    }
  }
  return canaries;
}

/** What a generation canary's answer must and must not say. */
export interface CanaryAssertion {
  /** Substrings (case-sensitive) the answer must contain. */
  mustContain?: string[];
  /** Substrings (case-sensitive) the answer must not contain. */
  mustNotContain?: string[];
  /** An RE2 pattern the answer must match: `pattern` or `/pattern/flags` with flags from i, m, s, u. */
  regex?: string;
}

export interface AssertionOutcome {
  passed: boolean;
  failures: string[];
}

/**
 * Assertion patterns come from uploaded canary sets, so they are untrusted: they run on RE2 (the
 * `re2js` port), whose matching time is linear in the answer's length whatever the pattern, so no
 * pattern can freeze the evaluator (JavaScript's backtracking engine needs only `(a|a)*$` and 25
 * characters to block the process for seconds). RE2 has no lookaround or backreferences; such
 * patterns are refused when the set is uploaded, by the same function that compiles them at run
 * time. The pattern only sees the first MAX_ASSERTION_INPUT_LENGTH characters of the answer, which
 * bounds the cost per answer; mustContain / mustNotContain still search the whole answer.
 */
export const MAX_ASSERTION_PATTERN_LENGTH = 500;
export const MAX_ASSERTION_INPUT_LENGTH = 10_000;

const ALLOWED_FLAGS = /^[imsu]*$/;
const FLAG_BITS: Record<string, number> = {
  i: RE2JS.CASE_INSENSITIVE,
  m: RE2JS.MULTILINE,
  s: RE2JS.DOTALL,
  // RE2 always matches by code point, which is what `u` asks JavaScript for.
  u: 0,
};

/**
 * RE2 spells a code point `\x{hhhh}`; people used to JavaScript write `\uhhhh`. Rewrites only
 * an unescaped `\u` followed by four hex digits, so `\\u0041` (a backslash, then "u0041") keeps
 * its meaning.
 */
function javascriptEscapesToRe2(source: string): string {
  let out = '';
  for (let i = 0; i < source.length; i++) {
    if (source[i] !== '\\') {
      out += source[i];
      continue;
    }
    const escape = /^u([0-9a-fA-F]{4})/.exec(source.slice(i + 1, i + 6));
    if (escape) {
      out += `\\x{${escape[1]}}`;
      i += 5;
    } else {
      out += source.slice(i, i + 2);
      i++;
    }
  }
  return out;
}

/**
 * Compiles an assertion's regex, throwing an error that names the pattern and what is wrong with
 * it. The one check for assertion patterns: the dataset upload calls it, so a set that uploads is
 * a set that runs.
 */
export function compileAssertionRegex(regex: string): RE2JS {
  const quoted = JSON.stringify(regex);
  if (regex.length > MAX_ASSERTION_PATTERN_LENGTH) {
    throw new Error(
      `canary assertion regex is ${regex.length} characters; at most ${MAX_ASSERTION_PATTERN_LENGTH} are allowed`,
    );
  }
  const literal = /^\/(.*)\/([a-z]*)$/s.exec(regex);
  const [source, flags] = literal ? [literal[1], literal[2]] : [regex, ''];
  if (!ALLOWED_FLAGS.test(flags)) {
    throw new Error(`canary assertion regex ${quoted}: flags must be from i, m, s, u (got "${flags}")`);
  }
  const bits = [...flags].reduce((sum, flag) => sum | FLAG_BITS[flag], 0);
  try {
    return RE2JS.compile(javascriptEscapesToRe2(source), bits);
  } catch (error) {
    throw new Error(
      `canary assertion regex ${quoted} is invalid: ${(error as Error).message} ` +
        '(patterns use RE2 syntax: no lookahead, lookbehind or backreferences)',
    );
  }
}

/** Checks a generation canary's answer; every unmet condition is listed, not just the first. */
export function checkAssertions(text: string, assertion: CanaryAssertion): AssertionOutcome {
  const failures: string[] = [];
  for (const required of assertion.mustContain ?? []) {
    if (!text.includes(required)) failures.push(`missing required text ${JSON.stringify(required)}`);
  }
  for (const forbidden of assertion.mustNotContain ?? []) {
    if (text.includes(forbidden)) failures.push(`contains forbidden text ${JSON.stringify(forbidden)}`);
  }
  if (assertion.regex !== undefined) {
    const pattern = compileAssertionRegex(assertion.regex);
    const truncated = text.length > MAX_ASSERTION_INPUT_LENGTH;
    if (!pattern.test(truncated ? text.slice(0, MAX_ASSERTION_INPUT_LENGTH) : text)) {
      failures.push(
        `does not match ${JSON.stringify(assertion.regex)}` +
          (truncated ? ` (within its first ${MAX_ASSERTION_INPUT_LENGTH} of ${text.length} characters)` : ''),
      );
    }
  }
  return { passed: failures.length === 0, failures };
}
