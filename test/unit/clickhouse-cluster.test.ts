import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import type { ClickHouseClient } from '@clickhouse/client';
import {
  CLICKHOUSE_MIGRATIONS,
  clusteredStatements,
  createDatabaseStatement,
  migrateClickHouse,
  migrationChecksum,
  migrationStatements,
  schemaMigrationsStatement,
  shardingKey,
} from '@tripline/clickhouse';
import { parseEnvironment } from '@tripline/config';

const DB = 'tripline';
const CLUSTER = 'tripline_cluster';
const [initial] = CLICKHOUSE_MIGRATIONS;

/** The parts of a CREATE TABLE that must survive the translation unchanged. */
function anatomy(statement: string) {
  const match =
    /CREATE TABLE IF NOT EXISTS (\w+)\.(\w+)(?: ON CLUSTER (\w+))?\s*(\([\s\S]*\))\s*ENGINE\s*=\s*(\w+)(?:\(([^)]*)\))?\s*PARTITION BY (\S+)\s*ORDER BY (.+)$/.exec(
      statement.trim(),
    );
  assert.ok(match, `not a MergeTree CREATE TABLE:\n${statement}`);
  const [, database, table, cluster, columns, engine, engineArguments, partitionBy, orderBy] = match;
  return { database, table, cluster, columns, engine, engineArguments, partitionBy, orderBy: orderBy.trim() };
}

describe('clustered ClickHouse DDL (CLICKHOUSE_CLUSTER)', () => {
  it('leaves the standalone migration exactly as written, checksum included', () => {
    assert.deepEqual(migrationStatements(initial, DB), initial.statements(DB));
    assert.deepEqual(migrationStatements(initial, DB, { cluster: undefined }), initial.statements(DB));
    // Pinned: a different standalone checksum would stop every existing installation at start-up.
    assert.equal(
      migrationChecksum(initial, DB),
      'c29cdac2c29f523c115931277a7dee6e43198c0046b55a1966e36242cddaf627',
    );
    assert.equal(
      migrationChecksum(initial, DB),
      createHash('sha256').update(initial.statements(DB).join(';\n')).digest('hex'),
    );
    assert.equal(createDatabaseStatement(DB), 'CREATE DATABASE IF NOT EXISTS tripline');
    assert.doesNotMatch(schemaMigrationsStatement(DB), /CLUSTER|Replicated/);
  });

  it('turns every table into a replicated local table plus a Distributed table of the same name', () => {
    const standalone = initial.statements(DB);
    const clustered = migrationStatements(initial, DB, { cluster: CLUSTER });
    assert.equal(clustered.length, standalone.length * 2);
    for (const [index, original] of standalone.entries()) {
      const source = anatomy(original);
      const local = anatomy(clustered[index * 2]);
      const distributed = clustered[index * 2 + 1];

      assert.equal(local.table, `${source.table}_local`);
      assert.equal(local.cluster, CLUSTER);
      assert.equal(local.columns, source.columns, `${source.table}: columns`);
      assert.equal(local.partitionBy, source.partitionBy, `${source.table}: partitioning`);
      assert.equal(local.orderBy, source.orderBy, `${source.table}: sorting key`);
      assert.equal(local.engine, `Replicated${source.engine}`);
      const replicaArguments = [
        `'/clickhouse/tables/{shard}/tripline/${source.table}_local'`,
        `'{replica}'`,
        ...(source.engineArguments ? [source.engineArguments] : []),
      ];
      assert.equal(local.engineArguments, replicaArguments.join(', '), `${source.table}: engine arguments`);

      const key = source.orderBy.replace(/^\((.*)\)$/, '$1');
      assert.equal(
        distributed.replace(/\s+/g, ' ').trim(),
        `CREATE TABLE IF NOT EXISTS tripline.${source.table} ON CLUSTER ${CLUSTER} AS tripline.${source.table}_local ENGINE = Distributed(${CLUSTER}, tripline, ${source.table}_local, cityHash64(${key}))`,
      );
    }
  });

  it('shards by a hash of the sorting key, so rows a ReplacingMergeTree collapses share a shard', () => {
    assert.equal(shardingKey('(model_id, event_id)'), 'cityHash64(model_id, event_id)');
    assert.equal(shardingKey('version'), 'cityHash64(version)');
    const byTable = Object.fromEntries(
      migrationStatements(initial, DB, { cluster: CLUSTER })
        .filter((statement) => statement.includes('Distributed('))
        .map((statement) => {
          const [, table, key] = /tripline\.(\w+) ON CLUSTER[\s\S]*, (cityHash64\(.*\))\)$/.exec(
            statement.trim(),
          )!;
          return [table, key];
        }),
    );
    // Feedback joins inference events on event_id: the same key keeps a pair on one shard.
    assert.equal(byTable.inference_events, 'cityHash64(model_id, event_id)');
    assert.equal(byTable.feedback, byTable.inference_events);
    assert.deepEqual(Object.keys(byTable).sort(), [
      'alert_events',
      'drift_metrics',
      'eval_runs',
      'eval_samples',
      'feedback',
      'inference_events',
    ]);
  });

  it('gives the clustered form its own checksum and a ledger replicated to every host', () => {
    assert.notEqual(migrationChecksum(initial, DB, { cluster: CLUSTER }), migrationChecksum(initial, DB));
    assert.equal(
      createDatabaseStatement(DB, CLUSTER),
      'CREATE DATABASE IF NOT EXISTS tripline ON CLUSTER tripline_cluster',
    );
    const ledger = schemaMigrationsStatement(DB, CLUSTER);
    assert.match(ledger, /tripline\.schema_migrations ON CLUSTER tripline_cluster/);
    // No {shard} in the path: one ledger for the whole cluster, whichever host a process reaches.
    assert.match(
      ledger,
      /ReplicatedReplacingMergeTree\('\/clickhouse\/tables\/tripline\/schema_migrations', '\{shard\}-\{replica\}'\)/,
    );
  });

  it('applies column changes to both tables and other ALTERs to the local table only', () => {
    assert.deepEqual(
      clusteredStatements('ALTER TABLE tripline.feedback ADD COLUMN IF NOT EXISTS note String', DB, CLUSTER),
      [
        'ALTER TABLE tripline.feedback_local ON CLUSTER tripline_cluster ADD COLUMN IF NOT EXISTS note String',
        'ALTER TABLE tripline.feedback ON CLUSTER tripline_cluster ADD COLUMN IF NOT EXISTS note String',
      ],
    );
    assert.deepEqual(
      clusteredStatements(
        'ALTER TABLE tripline.inference_events MODIFY TTL toDateTime(timestamp) + INTERVAL 90 DAY',
        DB,
        CLUSTER,
      ),
      [
        'ALTER TABLE tripline.inference_events_local ON CLUSTER tripline_cluster MODIFY TTL toDateTime(timestamp) + INTERVAL 90 DAY',
      ],
    );
  });

  it('refuses statements it has no clustered form for, instead of running them on one host', () => {
    assert.throws(
      () =>
        clusteredStatements(
          'CREATE MATERIALIZED VIEW IF NOT EXISTS tripline.hourly AS SELECT 1',
          DB,
          CLUSTER,
        ),
      /no clustered form known/,
    );
    assert.throws(
      () =>
        clusteredStatements(
          'CREATE TABLE IF NOT EXISTS other.t (a UInt8) ENGINE = MergeTree ORDER BY a',
          DB,
          CLUSTER,
        ),
      /outside database tripline/,
    );
    assert.throws(
      () =>
        clusteredStatements(
          'CREATE TABLE IF NOT EXISTS tripline.t (a UInt8) ENGINE = MergeTree',
          DB,
          CLUSTER,
        ),
      /no ORDER BY/,
    );
  });

  it('names the mode mismatch when a database created standalone is migrated with a cluster', async () => {
    // A ledger that recorded the standalone checksum; DDL is accepted and ignored.
    const ledger = (checksum: string) =>
      ({
        command: async () => ({}),
        insert: async () => ({}),
        query: async () => ({ json: async () => [{ version: 1, name: initial.name, checksum }] }),
      }) as unknown as ClickHouseClient;
    const standalone = migrationChecksum(initial, DB);
    await assert.rejects(
      migrateClickHouse(ledger(standalone), DB, [initial], { cluster: CLUSTER }),
      /001-initial-tables was applied to a single server, but CLICKHOUSE_CLUSTER is set now/,
    );
    const clustered = migrationChecksum(initial, DB, { cluster: CLUSTER });
    await assert.rejects(
      migrateClickHouse(ledger(clustered), DB, [initial]),
      /001-initial-tables was changed after it was applied .*or set CLICKHOUSE_CLUSTER as it was/,
    );
    assert.deepEqual(
      (await migrateClickHouse(ledger(clustered), DB, [initial], { cluster: CLUSTER })).alreadyApplied,
      ['001-initial-tables'],
    );
  });

  it('reads CLICKHOUSE_CLUSTER from the environment, empty meaning standalone', () => {
    assert.equal(parseEnvironment({}).CLICKHOUSE_CLUSTER, undefined);
    assert.equal(parseEnvironment({ CLICKHOUSE_CLUSTER: '' }).CLICKHOUSE_CLUSTER, undefined);
    assert.equal(parseEnvironment({ CLICKHOUSE_CLUSTER: 'analytics' }).CLICKHOUSE_CLUSTER, 'analytics');
    assert.throws(
      () => parseEnvironment({ CLICKHOUSE_CLUSTER: 'a b; DROP' }),
      /CLICKHOUSE_CLUSTER: expected a cluster name/,
    );
  });
});
