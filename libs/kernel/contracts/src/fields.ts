import { z } from 'zod';
import { LIMITS } from './limits';

// Keys that would rewrite an object's prototype when copied with plain assignment.
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

// Control characters in an id break logs, terminals and CSV exports downstream.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

export const identifier = (what: string) =>
  z
    .string({ error: `expected ${what} as a string` })
    .min(1, `expected a non-empty ${what}`)
    .max(LIMITS.idLength, `expected ${what} of at most ${LIMITS.idLength} characters`)
    .refine((value) => !CONTROL_CHARACTERS.test(value), `expected ${what} without control characters`);

export const boundedText = (what: string, max: number) =>
  z
    .string({ error: `expected ${what} as a string` })
    .max(max, `expected ${what} of at most ${max} characters`);

const RFC_3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(?:[Zz]|[+-](\d{2}):(\d{2}))$/;

/**
 * Epoch milliseconds of an RFC 3339 timestamp (with Z or an offset), or NaN. Every field is
 * checked against the calendar first: Date.parse turns 2026-02-30 into 2 March without a word.
 */
export function parseRfc3339(value: string): number {
  const match = RFC_3339.exec(value);
  if (!match) return Number.NaN;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number);
  const [offsetHours, offsetMinutes] = [Number(match[8] ?? 0), Number(match[9] ?? 0)];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth) return Number.NaN;
  if (hour > 23 || minute > 59 || second > 59 || offsetHours > 23 || offsetMinutes > 59) return Number.NaN;
  return Date.parse(value.replace(' ', 'T'));
}

/**
 * A point in time as a person or a client sends it: epoch milliseconds (a non-negative integer,
 * as a number or a string of digits) or RFC 3339 (see parseRfc3339); NaN for anything else,
 * including negative epochs, which no event of this service can carry.
 */
export function parseInstant(value: string | number): number {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : Number.NaN;
  if (/^\d{1,16}$/.test(value)) return Number(value);
  return parseRfc3339(value);
}

/** RFC 3339 with an offset, or epoch milliseconds; normalised to epoch milliseconds. */
export const eventTime = z
  .union([z.string(), z.number()], { error: 'expected an RFC 3339 timestamp or epoch milliseconds' })
  .transform((value, context) => {
    const ms = typeof value === 'number' ? value : parseRfc3339(value);
    if (!Number.isFinite(ms)) {
      context.addIssue({
        code: 'custom',
        message: 'expected an RFC 3339 timestamp (with Z or an offset) or epoch milliseconds',
      });
      return z.NEVER;
    }
    if (ms < LIMITS.minTimestampMs || ms > LIMITS.maxTimestampMs) {
      context.addIssue({
        code: 'custom',
        message: 'expected a time between 2000-01-01 and 2100-01-01 (epoch milliseconds, not seconds)',
      });
      return z.NEVER;
    }
    return Math.round(ms);
  });

/** A string-keyed map with bounded size whose keys cannot pollute a prototype. */
export const boundedRecord = <T extends z.ZodType>(
  what: string,
  value: T,
  maxEntries: number,
  maxKeyLength: number,
) =>
  z
    .record(
      z
        .string()
        .max(maxKeyLength, `expected ${what} keys of at most ${maxKeyLength} characters`)
        // Checked on the key, before the value is copied: a copied "__proto__" would vanish into the prototype.
        .refine((key) => !FORBIDDEN_KEYS.has(key), {
          message: `"__proto__", "constructor" and "prototype" are not allowed as ${what} keys`,
        }),
      value,
    )
    .superRefine((record, context) => {
      const count = Object.keys(record).length;
      if (count > maxEntries)
        context.addIssue({
          code: 'custom',
          message: `expected at most ${maxEntries} ${what} entries (got ${count})`,
        });
    });

/** What an identifier looks like in a URL path: no control characters, at most 128 characters. */
// eslint-disable-next-line no-control-regex
export const identifierPattern = /^[^\u0000-\u001f\u007f]{1,128}$/;
