import { DataSource, type DataSourceOptions, type EntitySchema, type MixedList } from 'typeorm';
import { POSTGRES_MIGRATIONS } from './migrations';

// Arbitrary but fixed: every replica contends for the same lock while migrating.
const MIGRATION_LOCK = 7_303_417_001;

export function dataSourceOptions(
  url: string,
  entities: MixedList<string | (new (...args: never[]) => unknown) | EntitySchema>,
  embedded: boolean,
): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities,
    migrations: POSTGRES_MIGRATIONS,
    migrationsTableName: 'schema_migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    // PGlite serves one session at a time: a second pooled connection would interleave transactions.
    extra: embedded ? { max: 1 } : { max: 10, connectionTimeoutMillis: 10_000 },
    applicationName: 'tripline',
  };
}

/**
 * Runs pending migrations under a session advisory lock, so replicas starting together apply
 * each migration once. The embedded engine has a single connection and a single process, so it
 * needs no lock (and taking one would hold the only connection).
 */
export async function migratePostgres(dataSource: DataSource, embedded: boolean): Promise<string[]> {
  if (embedded) return (await dataSource.runMigrations({ transaction: 'each' })).map((m) => m.name);
  const lock = dataSource.createQueryRunner();
  await lock.connect();
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    return (await dataSource.runMigrations({ transaction: 'each' })).map((m) => m.name);
  } finally {
    await lock.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await lock.release();
  }
}
