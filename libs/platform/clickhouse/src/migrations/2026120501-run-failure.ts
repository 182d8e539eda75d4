import type { ClickHouseMigration } from '../migration';

/**
 * Failed runs reach the history too (the evaluations message's `failure`): why a failed run
 * failed (`replay`, `error` or `reaped`) and the message PostgreSQL recorded for it; empty for a
 * run that succeeded.
 */
export const runFailure: ClickHouseMigration = {
  version: 2026120501,
  name: 'run-failure',
  statements: (db) => [
    `ALTER TABLE ${db}.eval_runs ADD COLUMN IF NOT EXISTS failure_kind LowCardinality(String) DEFAULT '' COMMENT 'replay | error | reaped, for a failed run' AFTER status`,
    `ALTER TABLE ${db}.eval_runs ADD COLUMN IF NOT EXISTS error String DEFAULT '' COMMENT 'why a failed run failed' AFTER failure_kind`,
  ],
};
