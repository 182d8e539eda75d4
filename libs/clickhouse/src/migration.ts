import { createHash } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';

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

export function migrationChecksum(migration: ClickHouseMigration, database: string): string {
  return createHash('sha256').update(migration.statements(database).join(';\n')).digest('hex');
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
): Promise<MigrationReport> {
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${database}` });
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS ${database}.schema_migrations
      (version UInt32, name String, checksum String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3))
      ENGINE = ReplacingMergeTree ORDER BY version`,
  });
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
    const checksum = migrationChecksum(migration, database);
    const previous = recorded.get(migration.version);
    if (previous) {
      if (previous.checksum !== checksum) {
        throw new Error(
          `ClickHouse migration ${label} was changed after it was applied (checksum ${previous.checksum.slice(0, 12)} recorded, ${checksum.slice(0, 12)} now); add a new migration instead`,
        );
      }
      report.alreadyApplied.push(label);
      continue;
    }
    for (const statement of migration.statements(database)) {
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
