import { applyDecorators, Param, Query } from '@nestjs/common';
import { ApiQuery } from '@nestjs/swagger';
import { z } from 'zod';
import { identifierPattern, parseInstant } from '@tripline/contracts';
import { ZodValidationPipe } from '@tripline/http';

/** A window of a model's history, in epoch ms: from inclusive, to exclusive. */
export interface ModelWindow {
  from: number;
  to: number;
}

const time = z.string().transform((value, context) => {
  // Strict: "-1" or 2026-02-30 is a mistake to report, not a time to guess (it became 2001-01-01).
  const ms = parseInstant(value);
  // Outside 1970..9999 a Date cannot be formatted for ClickHouse (RangeError, unparsable year): a 400, not a 500.
  if (!Number.isFinite(ms) || ms > 253_402_300_799_999) {
    context.addIssue({
      code: 'custom',
      message: `expected an RFC 3339 timestamp or non-negative epoch milliseconds, 1970 to 9999 (got ${JSON.stringify(value.slice(0, 40))})`,
    });
    return z.NEVER;
  }
  return ms;
});

export const statsQuerySchema = z
  .object({ from: time.optional(), to: time.optional() })
  .transform(({ from, to }) => {
    const end = to ?? Date.now();
    return { from: from ?? end - 24 * 3_600_000, to: end };
  })
  .refine(({ from, to }) => from < to, { message: 'expected from to be earlier than to', path: ['from'] });

/** The `:id` of the model read routes (stats, time series, drift). */
export const ModelIdParam = () =>
  Param('id', new ZodValidationPipe(z.string().regex(identifierPattern, 'expected a model id')));

/** The `from`/`to` query of the model read routes, default the last 24 hours. */
export const WindowQuery = () => Query(new ZodValidationPipe(statsQuerySchema));

/** The OpenAPI description of `from` and `to` as the stats and time-series routes read them. */
export const ApiWindowQuery = () =>
  applyDecorators(
    ApiQuery({ name: 'from', required: false, description: 'RFC 3339 or epoch ms (inclusive)' }),
    ApiQuery({ name: 'to', required: false, description: 'RFC 3339 or epoch ms (exclusive); default now' }),
  );
