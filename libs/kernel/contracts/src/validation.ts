import { z } from 'zod';
import type { AcceptanceCheck } from './inference-event-check';
import { LIMITS } from './limits';

export interface FieldError {
  field: string;
  message: string;
}

export type Validated<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

/**
 * Validates one item and phrases each problem by field, for per-item answers and dead letters.
 * `accept`, a precompiled check of the same schema, answers first when it can: what it accepts is
 * accepted without the schema; everything else, valid or not, goes through the schema as before.
 */
export function validate<T extends z.ZodType>(
  schema: T,
  input: unknown,
  accept?: AcceptanceCheck<z.output<T>>,
): Validated<z.output<T>> {
  const accepted = accept?.(input);
  if (accepted !== undefined) return { ok: true, value: accepted };
  const unsafe = findUnsafeValue(input);
  if (unsafe) return { ok: false, errors: [unsafe] };
  const result = schema.safeParse(input);
  if (result.success) return { ok: true, value: result.data };
  return {
    ok: false,
    errors: result.error.issues.slice(0, 20).map((issue) => {
      const field = issue.path.length > 0 ? issue.path.map(String).join('.') : '(event)';
      const got = describeReceived(valueAt(input, issue.path));
      return {
        field,
        message: issue.code === 'unrecognized_keys' ? `${issue.message}` : `${issue.message} (${got})`,
      };
    }),
  };
}

/** Parses JSON bytes, then validates; a message that is not JSON gets one error saying so. */
export function validateJson<T extends z.ZodType>(
  schema: T,
  bytes: Buffer | string,
  accept?: AcceptanceCheck<z.output<T>>,
): Validated<z.output<T>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof bytes === 'string' ? bytes : decodeUtf8(bytes));
  } catch (error) {
    return {
      ok: false,
      errors: [{ field: '(message)', message: `expected a JSON object: ${(error as Error).message}` }],
    };
  }
  return validate(schema, parsed, accept);
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function decodeUtf8(bytes: Buffer): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw new Error('the message is not valid UTF-8');
  }
}

function valueAt(input: unknown, path: PropertyKey[]): unknown {
  let current = input;
  for (const part of path) {
    if (
      current === null ||
      typeof current !== 'object' ||
      !Object.prototype.hasOwnProperty.call(current, part)
    )
      return undefined;
    current = (current as Record<PropertyKey, unknown>)[part];
  }
  return current;
}

function describeReceived(value: unknown): string {
  if (value === undefined) return 'it is missing';
  if (value === null) return 'got null';
  if (typeof value === 'string')
    return `got ${JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value)}`;
  if (typeof value === 'number' || typeof value === 'boolean') return `got ${String(value)}`;
  return `got ${Array.isArray(value) ? 'an array' : 'an object'}`;
}

const POLLUTING_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
// An unpaired UTF-16 surrogate is not Unicode text: ClickHouse refuses it and JSON tools mangle it.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const MAX_DEPTH = LIMITS.itemDepth;

function textProblem(text: string): string | undefined {
  if (text.includes('\u0000')) return 'contains a NUL character (U+0000), which cannot be stored';
  if (LONE_SURROGATE.test(text)) return 'contains an unpaired UTF-16 surrogate: not valid Unicode text';
  return undefined;
}

/**
 * The first key or string anywhere in the input that must not pass: keys that could pollute a
 * prototype (schemas drop "__proto__" silently; refusing it names the problem to its sender),
 * text a store would refuse or alter (NUL, unpaired surrogates), and nesting deeper than any
 * contract needs (which would otherwise exhaust the stack of whatever walks it next).
 */
export function findUnsafeValue(input: unknown): FieldError | undefined {
  // One path stack for the whole walk: this runs on every event on the ingest hot path.
  const path: string[] = [];
  const at = (key?: string) => [...path, ...(key === undefined ? [] : [key])].join('.') || '(value)';
  const walk = (value: unknown): FieldError | undefined => {
    if (typeof value === 'string') {
      const problem = textProblem(value);
      return problem ? { field: at(), message: problem } : undefined;
    }
    if (value === null || typeof value !== 'object') return undefined;
    if (path.length >= MAX_DEPTH) return { field: at(), message: `nested deeper than ${MAX_DEPTH} levels` };
    for (const key of Object.keys(value)) {
      if (POLLUTING_KEYS.has(key)) {
        return { field: at(key), message: 'keys "__proto__", "constructor" and "prototype" are not allowed' };
      }
      const keyProblem = textProblem(key);
      if (keyProblem) return { field: at(key), message: `the key ${keyProblem}` };
      path.push(key);
      const nested = walk((value as Record<string, unknown>)[key]);
      path.pop();
      if (nested) return nested;
    }
    return undefined;
  };
  return walk(input);
}
