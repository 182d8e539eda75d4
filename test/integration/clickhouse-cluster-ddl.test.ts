import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  ClickHouse,
  CLICKHOUSE_MIGRATIONS,
  createDatabaseStatement,
  migrationStatements,
  schemaMigrationsStatement,
} from '@tripline/clickhouse';
import { temporaryDirectory } from '@tripline/testing';

/**
 * The embedded engine has no cluster and no Keeper, so the clustered DDL cannot run here; its
 * parser is the server's, though, and EXPLAIN AST proves every statement is one the server accepts
 * as written (a unit test checks what the statements say).
 */
describe('clustered ClickHouse DDL against the engine parser', () => {
  const scratch = temporaryDirectory();
  let clickHouse: ClickHouse;

  before(() => {
    clickHouse = new ClickHouse({
      database: 'tripline',
      dataDirectory: path.join(scratch.path, 'clickhouse'),
    });
  });

  after(async () => {
    await clickHouse.close();
    scratch.remove();
  });

  const ast = async (statement: string) =>
    (await clickHouse.client.query({ query: `EXPLAIN AST ${statement}`, format: 'TabSeparatedRaw' })).text();

  it('parses every statement the runner would send to a cluster', async () => {
    const statements = [
      createDatabaseStatement('tripline', 'tripline_cluster'),
      schemaMigrationsStatement('tripline', 'tripline_cluster'),
      ...CLICKHOUSE_MIGRATIONS.flatMap((migration) =>
        migrationStatements(migration, 'tripline', { cluster: 'tripline_cluster' }),
      ),
    ];
    let distributed = 0;
    for (const statement of statements) {
      const tree = await ast(statement);
      // Tables are created, and later migrations alter them (an added column goes to both the
      // local and the Distributed table).
      assert.match(tree, /(CreateQuery|AlterQuery) tripline/, statement.slice(0, 80));
      if (statement.includes('ENGINE = Distributed(')) {
        distributed += 1;
        assert.match(tree, /Function Distributed[\s\S]*Function cityHash64/, statement.slice(0, 80));
      }
      if (statement.includes('ENGINE = ReplicatedReplacingMergeTree('))
        assert.match(tree, /Function ReplicatedReplacingMergeTree/, statement.slice(0, 80));
    }
    assert.equal(
      distributed,
      7,
      'one Distributed table per table the sink writes: six histories and the model settings',
    );
  });

  it('rejects a malformed statement, so the check above can fail', async () => {
    await assert.rejects(
      ast('CREATE TABLE t ON CLUSTER c (a UInt8) ENGINE = ReplicatedMergeTree('),
      /Syntax error/,
    );
  });
});
