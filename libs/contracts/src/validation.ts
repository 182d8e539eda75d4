import { z } from 'zod';

export interface FieldError {
  field: string;
  message: string;
}

export type Validated<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

/** Validates one item and phrases each problem by field, for per-item answers and dead letters. */
export function validate<T extends z.ZodType>(schema: T, input: unknown): Validated<z.output<T>> {
  const polluting = pollutingKey(input, 0);
  if (polluting)
    return {
      ok: false,
      errors: [
        {
          field: polluting.join('.'),
          message: 'keys "__proto__", "constructor" and "prototype" are not allowed',
        },
      ],
    };
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
export function validateJson<T extends z.ZodType>(schema: T, bytes: Buffer | string): Validated<z.output<T>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof bytes === 'string' ? bytes : decodeUtf8(bytes));
  } catch (error) {
    return {
      ok: false,
      errors: [{ field: '(message)', message: `expected a JSON object: ${(error as Error).message}` }],
    };
  }
  return validate(schema, parsed);
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

/**
 * The path of the first own key that could pollute a prototype. Schemas would drop such a key
 * silently; refusing it names the problem to whoever sent it.
 */
function pollutingKey(value: unknown, depth: number): string[] | undefined {
  if (value === null || typeof value !== 'object' || depth > 32) return undefined;
  for (const key of Object.keys(value)) {
    if (POLLUTING_KEYS.has(key)) return [key];
    const nested = pollutingKey((value as Record<string, unknown>)[key], depth + 1);
    if (nested) {
      nested.unshift(key);
      return nested;
    }
  }
  return undefined;
}
