import { LIMITS } from '@tripline/contracts';
import type { OverflowPolicy, RecorderOptions } from './types';

/** `{"feedback":[` plus `]}`: what a batch body adds around its items. */
export const ENVELOPE_BYTES = 16;

/** The recorder's options, checked and with their defaults filled in. */
export interface Settings {
  maxBatchSize: number;
  maxBatchBytes: number;
  flushIntervalMs: number;
  maxBufferedEvents: number;
  overflow: OverflowPolicy;
  maxRetries: number;
  retryBaseMs: number;
  maxRetryDelayMs: number;
  validate: boolean;
}

/** Checks every numeric option's range and the overflow policy; a bad option throws, naming it. */
export function settle(options: RecorderOptions): Settings {
  const integer = (name: keyof RecorderOptions, fallback: number, min: number, max: number): number => {
    const value = options[name] ?? fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
      throw new RangeError(`${name}: expected an integer from ${min} to ${max} (got ${String(value)})`);
    return value;
  };
  const overflow = options.overflow ?? 'drop-oldest';
  if (!['drop-oldest', 'drop-newest', 'block'].includes(overflow))
    throw new RangeError(
      `overflow: expected 'drop-oldest', 'drop-newest' or 'block' (got ${JSON.stringify(overflow)})`,
    );
  return {
    maxBatchSize: integer('maxBatchSize', 500, 1, LIMITS.batchEvents),
    maxBatchBytes: integer('maxBatchBytes', 1_000_000, 1_024, LIMITS.batchBytes - ENVELOPE_BYTES),
    flushIntervalMs: integer('flushIntervalMs', 1_000, 1, 2 ** 31 - 1),
    maxBufferedEvents: integer('maxBufferedEvents', 10_000, 1, 10_000_000),
    overflow,
    maxRetries: integer('maxRetries', 8, 0, 1_000),
    retryBaseMs: integer('retryBaseMs', 200, 1, 3_600_000),
    maxRetryDelayMs: integer('maxRetryDelayMs', 30_000, 1, 3_600_000),
    validate: options.validate ?? true,
  };
}
