import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DataSource } from 'typeorm';
import { ApiKey } from '@tripline/auth';
import { dataSourceOptions, migratePostgres, POSTGRES_MIGRATIONS } from '@tripline/postgres';
import { createTestDatabase } from '@tripline/testing';

describe('TypeORM migrations against a real PostgreSQL server', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  const sources: DataSource[] = [];

  const connect = async () => {
    const source = await new DataSource(dataSourceOptions(database.url, [ApiKey], false)).initialize();
    sources.push(source);
    return source;
  };

  before(async () => {
    database = await createTestDatabase();
  });

  after(async () => {
    await Promise.all(sources.map((source) => source.destroy()));
    await database.drop();
  });

  it('two replicas migrating at once apply each migration exactly once', async () => {
    const [a, b] = await Promise.all([connect(), connect()]);
    const [appliedByA, appliedByB] = await Promise.all([
      migratePostgres(a, false),
      migratePostgres(b, false),
    ]);
    assert.deepEqual(
      [...appliedByA, ...appliedByB],
      POSTGRES_MIGRATIONS.map((migration) => migration.name),
    );
    const recorded = await a.query('SELECT name FROM schema_migrations ORDER BY id');
    assert.deepEqual(
      recorded.map((row: { name: string }) => row.name),
      POSTGRES_MIGRATIONS.map((migration) => migration.name),
    );
  });

  it('a restart applies nothing and the schema serves the entities', async () => {
    const source = await connect();
    assert.deepEqual(await migratePostgres(source, false), []);
    const keys = source.getRepository(ApiKey);
    await keys.insert({
      name: 'ci',
      prefix: 'tl_abc',
      keyHash: 'h'.repeat(64),
      role: 'viewer',
      scopes: ['ingest'],
    });
    const stored = await keys.findOneByOrFail({ name: 'ci' });
    assert.deepEqual(stored.scopes, ['ingest']);
    assert.equal(stored.role, 'viewer');
    await assert.rejects(
      keys.insert({ name: 'bad', prefix: 'x', keyHash: 'i'.repeat(64), role: null, scopes: [] }),
      /api_keys_grants_something/,
    );
  });

  it('never uses synchronize', () => {
    assert.equal(dataSourceOptions('postgres://x@localhost/db', [], false).synchronize, false);
  });
});
