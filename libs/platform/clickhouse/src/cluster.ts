/**
 * The clustered variant of the migrations. Migrations are written once, as single-server DDL; with
 * CLICKHOUSE_CLUSTER set, each statement is translated here into its clustered form, run ON CLUSTER:
 *
 * - `CREATE TABLE db.t (...) ENGINE = ReplacingMergeTree(v) ...` becomes a replicated local table
 *   `db.t_local` (ReplicatedReplacingMergeTree, same columns, partitioning and sorting key) on every
 *   host, plus `db.t`, a Distributed table over it. Readers and the sink keep using `db.t`.
 * - `ALTER TABLE db.t ...` is applied to `db.t_local` (and, for column changes, to `db.t` as well,
 *   whose column list mirrors the local table's).
 *
 * Anything else is refused with an error: a statement whose clustered form is not known must be
 * translated by hand, not run against one host of a cluster.
 */

/** Where replicas of one shard of one table meet in ClickHouse Keeper / ZooKeeper. */
export function replicaPath(database: string, table: string): string {
  return `/clickhouse/tables/{shard}/${database}/${table}`;
}

export const LOCAL_SUFFIX = '_local';

const CREATE_TABLE =
  /^\s*CREATE TABLE IF NOT EXISTS (\w+)\.(\w+)\s*(\([\s\S]*\))\s*ENGINE\s*=\s*(Replacing|Summing|Aggregating|Collapsing|VersionedCollapsing)?MergeTree\b(?:\(([^)]*)\))?([\s\S]*)$/;
const ALTER_TABLE = /^\s*ALTER TABLE (\w+)\.(\w+)\s+([\s\S]+)$/;
const COLUMN_CHANGE = /^(ADD|DROP|MODIFY|RENAME|COMMENT|CLEAR)\s+COLUMN\b/i;
const ORDER_BY = /\bORDER BY\s+(\([^)]*\)|[^\s]+)/;

/** The sharding key of a table: a hash of its sorting key, so rows that a ReplacingMergeTree must
 * collapse (same sorting key) always land on the same shard, where FINAL and merges can see them. */
export function shardingKey(orderBy: string): string {
  const inner = orderBy
    .trim()
    .replace(/^\(([\s\S]*)\)$/, '$1')
    .trim();
  return `cityHash64(${inner})`;
}

export function clusteredStatements(statement: string, database: string, cluster: string): string[] {
  const create = CREATE_TABLE.exec(statement);
  if (create) {
    const [, db, table, columns, variant = '', engineArguments = '', settings] = create;
    if (db !== database) throw new Error(`clustered DDL: ${db}.${table} is outside database ${database}`);
    const orderBy = ORDER_BY.exec(settings)?.[1];
    if (!orderBy) throw new Error(`clustered DDL: ${db}.${table} has no ORDER BY to shard by`);
    const local = `${table}${LOCAL_SUFFIX}`;
    const replicated = [`'${replicaPath(database, local)}'`, `'{replica}'`, engineArguments.trim()]
      .filter(Boolean)
      .join(', ');
    return [
      `CREATE TABLE IF NOT EXISTS ${database}.${local} ON CLUSTER ${cluster}
    ${columns}
    ENGINE = Replicated${variant}MergeTree(${replicated})${settings.trimEnd()}`,
      `CREATE TABLE IF NOT EXISTS ${database}.${table} ON CLUSTER ${cluster}
    AS ${database}.${local}
    ENGINE = Distributed(${cluster}, ${database}, ${local}, ${shardingKey(orderBy)})`,
    ];
  }
  const alter = ALTER_TABLE.exec(statement);
  if (alter) {
    const [, db, table, change] = alter;
    if (db !== database) throw new Error(`clustered DDL: ${db}.${table} is outside database ${database}`);
    const onLocal = `ALTER TABLE ${database}.${table}${LOCAL_SUFFIX} ON CLUSTER ${cluster} ${change.trim()}`;
    // A Distributed table holds no data: only its column list has to follow the local table.
    return COLUMN_CHANGE.test(change.trim())
      ? [onLocal, `ALTER TABLE ${database}.${table} ON CLUSTER ${cluster} ${change.trim()}`]
      : [onLocal];
  }
  throw new Error(
    `clustered DDL: no clustered form known for this statement; write one by hand:\n${statement.trim().slice(0, 200)}`,
  );
}

/** `CREATE DATABASE` for the migration runner, standalone or on every host of the cluster. */
export function createDatabaseStatement(database: string, cluster?: string): string {
  return cluster
    ? `CREATE DATABASE IF NOT EXISTS ${database} ON CLUSTER ${cluster}`
    : `CREATE DATABASE IF NOT EXISTS ${database}`;
}

/**
 * The migration ledger. On a cluster every host is a replica of one ledger (no {shard} in its
 * path), so whichever host a starting process reaches, it sees what every other process applied.
 */
export function schemaMigrationsStatement(database: string, cluster?: string): string {
  if (!cluster)
    return `CREATE TABLE IF NOT EXISTS ${database}.schema_migrations
      (version UInt32, name String, checksum String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3))
      ENGINE = ReplacingMergeTree ORDER BY version`;
  return `CREATE TABLE IF NOT EXISTS ${database}.schema_migrations ON CLUSTER ${cluster}
      (version UInt32, name String, checksum String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3))
      ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/${database}/schema_migrations', '{shard}-{replica}')
      ORDER BY version`;
}
