import { RE2JS } from 're2js';

export const MATCHER_OPERATORS = ['=', '!=', '=~', '!~'] as const;
export type MatcherOperator = (typeof MATCHER_OPERATORS)[number];

/** One condition on an alert label; a label the alert lacks counts as the empty string. */
export interface Matcher {
  name: string;
  op: MatcherOperator;
  value: string;
}

export interface Silence {
  id: string;
  matchers: Matcher[];
  /** Epoch ms; the silence applies in [startsAt, endsAt). */
  startsAt: number;
  endsAt: number;
}

/** Longest regular expression a matcher may hold: matchers run on every alert at every check. */
export const MAX_MATCHER_PATTERN = 512;

/** Compiled patterns by source: silences are checked against every alert at every tick. */
const compiledPatterns = new Map<string, RE2JS>();
const MAX_CACHED_PATTERNS = 1_000;

/**
 * The compiled pattern of a regex matcher. Matchers are user input checked against every alert on
 * every tick, so they run on RE2 (`re2js`), whose time is linear in the label's length whatever
 * the pattern: with JavaScript's backtracking engine `(a+)+` against a 28-character label froze
 * the alerter and the API for seconds. RE2 syntax is Alertmanager's own (Go's regexp).
 */
export function matcherPattern(matcher: Matcher): RE2JS {
  let pattern = compiledPatterns.get(matcher.value);
  if (!pattern) {
    pattern = RE2JS.compile(matcher.value);
    if (compiledPatterns.size >= MAX_CACHED_PATTERNS) compiledPatterns.clear();
    compiledPatterns.set(matcher.value, pattern);
  }
  return pattern;
}

/**
 * Anchored at both ends as in Alertmanager, so `model_id=~"fraud"` means exactly "fraud" and
 * `model_id=~"fraud-.*"` a prefix; `a|ab` matches "ab" as a whole.
 */
function patternMatches(matcher: Matcher, value: string): boolean {
  return matcherPattern(matcher).testExact(value);
}

/** Why a matcher is unusable, or undefined when it is fine. */
export function matcherProblem(matcher: Matcher): string | undefined {
  if (!/^[a-zA-Z_][a-zA-Z0-9_.]*$/.test(matcher.name))
    return `label name "${matcher.name}" must start with a letter or "_" and hold letters, digits, "_" or "."`;
  if (matcher.op === '=~' || matcher.op === '!~') {
    if (matcher.value.length > MAX_MATCHER_PATTERN)
      return `the pattern of ${matcher.name} is longer than ${MAX_MATCHER_PATTERN} characters`;
    try {
      matcherPattern(matcher);
    } catch (error) {
      return `the pattern of ${matcher.name} is not a valid regular expression: ${(error as Error).message}`;
    }
  }
  return undefined;
}

export function matcherMatches(matcher: Matcher, labels: Record<string, string>): boolean {
  const value = labels[matcher.name] ?? '';
  switch (matcher.op) {
    case '=':
      return value === matcher.value;
    case '!=':
      return value !== matcher.value;
    case '=~':
      return patternMatches(matcher, value);
    case '!~':
      return !patternMatches(matcher, value);
  }
}

export function silenceActive(silence: Silence, now: number): boolean {
  return silence.startsAt <= now && now < silence.endsAt;
}

/** Active at `now` and every matcher matches: a silence with no matcher silences nothing. */
export function silenceMatches(silence: Silence, labels: Record<string, string>, now: number): boolean {
  return (
    silenceActive(silence, now) &&
    silence.matchers.length > 0 &&
    silence.matchers.every((matcher) => matcherMatches(matcher, labels))
  );
}

/** The first active silence covering these labels (the one reported as silencing the alert). */
export function silencing(
  silences: readonly Silence[],
  labels: Record<string, string>,
  now: number,
): Silence | undefined {
  return silences.find((silence) => silenceMatches(silence, labels, now));
}

/** `model_id="fraud", alertname=~"drift.*"`: how a silence reads in a message. */
export function describeMatchers(matchers: readonly Matcher[]): string {
  return matchers.map((matcher) => `${matcher.name}${matcher.op}${JSON.stringify(matcher.value)}`).join(', ');
}
