import { CommanderError } from 'commander';

/** Exit codes scripts can rely on. */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  unreachable: 3,
  unauthorised: 4,
  notFound: 5,
  rejected: 6,
  runFailed: 10,
  regression: 11,
  suspiciousRows: 12,
  verificationFailed: 13,
  gateFailed: 14,
} as const;

/**
 * A mistake in the command line: main prints the message and exits with EXIT.usage. The code
 * 'tripline.usage' tells it apart from commander's own errors, which commander has printed already.
 */
export function usageError(message: string): CommanderError {
  return new CommanderError(EXIT.usage, 'tripline.usage', message);
}
