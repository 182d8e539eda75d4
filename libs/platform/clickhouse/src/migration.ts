import { createHash } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import { clusteredStatements, createDatabaseStatement, schemaMigrationsStatement } from './cluster';

export interface ClickHouseMigration {
  version: number;
  name: string;
  /** Idempotent DDL (IF NOT EXISTS), so a migration interrupted half-way can simply run again. */
  statements: (database: string) => string[];
}

export interface MigrationReport {
  applied: string[];
  alreadyApplied: string[];
}

export interface MigrationOptions {
  /**
   * A cluster name from the servers' remote_servers (CLICKHOUSE_CLUSTER): run every statement ON
   * CLUSTER in its replicated + distributed form (see cluster.ts). Unset: single-server DDL as written.
   */
  cluster?: string;
}

/** The DDL a migration runs: as written, or translated to its clustered form. */
export function migrationStatements(
  migration: ClickHouseMigration,
  database: string,
  options: MigrationOptions = {},
): string[] {
  const statements = migration.statements(database);
  const { cluster } = options;
  return cluster
    ? statements.flatMap((statement) => clusteredStatements(statement, database, cluster))
    : statements;
}

export function migrationChecksum(
  migration: ClickHouseMigration,
  database: string,
  options: MigrationOptions = {},
): string {
  return createHash('sha256')
    .update(migrationStatements(migration, database, options).join(';\n'))
    .digest('hex');
}

/**
 * Applies the migrations that are not yet recorded in `<database>.schema_migrations`. A recorded
 * migration whose text has changed since it was applied stops start-up: editing history silently
 * would leave servers with different schemas under the same version.
 */
export async function migrateClickHouse(
  client: ClickHouseClient,
  database: string,
  migrations: readonly ClickHouseMigration[],
  options: MigrationOptions = {},
): Promise<MigrationReport> {
  await client.command({ query: createDatabaseStatement(database, options.cluster) });
  await client.command({ query: schemaMigrationsStatement(database, options.cluster) });
  const result = await client.query({
    query: `SELECT version, name, checksum FROM ${database}.schema_migrations FINAL ORDER BY version`,
    format: 'JSONEachRow',
  });
  const recorded = new Map(
    (await result.json<{ version: number; name: string; checksum: string }>()).map((row) => [
      Number(row.version),
      row,
    ]),
  );
  const report: MigrationReport = { applied: [], alreadyApplied: [] };
  for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
    const label = `${String(migration.version).padStart(3, '0')}-${migration.name}`;
    const checksum = migrationChecksum(migration, database, options);
    const previous = recorded.get(migration.version);
    if (previous) {
      if (previous.checksum !== checksum) {
        // The clustered form has its own checksum: say so when that is the difference.
        const otherMode =
          Boolean(options.cluster) && previous.checksum === migrationChecksum(migration, database);
        throw new Error(
          otherMode
            ? `ClickHouse migration ${label} was applied to a single server, but CLICKHOUSE_CLUSTER is set now; an installation stays in the mode it was created in (see docs/operations.md)`
            : `ClickHouse migration ${label} was changed after it was applied (checksum ${previous.checksum.slice(0, 12)} recorded, ${checksum.slice(0, 12)} now); add a new migration instead${options.cluster ? '' : ', or set CLICKHOUSE_CLUSTER as it was when the database was created'}`,
        );
      }
      report.alreadyApplied.push(label);
      continue;
    }
    for (const statement of migrationStatements(migration, database, options)) {
      await client.command({ query: statement });
    }
    await client.insert({
      table: `${database}.schema_migrations`,
      values: [{ version: migration.version, name: migration.name, checksum }],
      format: 'JSONEachRow',
    });
    report.applied.push(label);
  }
  return report;
}
