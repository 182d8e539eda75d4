import {
  ConfigurationError,
  isolatedHistoryProblem,
  parseEnvironment,
  type Environment,
} from './environment';

/**
 * Validates the environment before Nest boots, so a bad variable ends the process with one
 * readable message instead of a stack trace from whichever provider touched it first.
 */
export function loadEnvironmentOrExit(source: Record<string, string | undefined> = process.env): Environment {
  try {
    return parseEnvironment(source);
  } catch (error) {
    if (error instanceof ConfigurationError) {
      process.stderr.write(`tripline: ${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
}

/** For the api and ingestor: exits 78 (EX_CONFIG) rather than start with a history of their own. */
export function requireSharedHistory(
  service: string,
  source: Record<string, string | undefined> = process.env,
): void {
  const problem = isolatedHistoryProblem(loadEnvironmentOrExit(source), service);
  if (!problem) return;
  process.stderr.write(`tripline: ${problem}\n`);
  process.exit(78); // EX_CONFIG
}
