import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ESLint } from 'eslint';

/**
 * The layer boundaries are lint rules, not a convention: these cases put a violating line in a
 * file of each layer and check that `npm run lint` (the same configuration) refuses it, and that
 * the allowed forms pass.
 */
const ROOT = path.resolve(__dirname, '..', '..', '..');
// Built at run time: the build's alias rewriter would otherwise turn the fixture's specifiers into paths.
const alias = (lib: string) => ['@tripline', lib].join('/');

async function problems(file: string, code: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: ROOT });
  const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, file) });
  return result.messages.filter((m) => /(^|\/)no-restricted-/.test(m.ruleId ?? '')).map((m) => m.message);
}

describe('layer boundaries enforced by lint', () => {
  const domainViolations: [string, string][] = [
    ['a Nest import', "import { Injectable } from '@nestjs/common';\nexport const x = Injectable;\n"],
    ['TypeORM', "import { DataSource } from 'typeorm';\nexport const x = DataSource;\n"],
    ['the file system', "import { readFileSync } from 'node:fs';\nexport const x = readFileSync;\n"],
    ['the network', "import net from 'node:net';\nexport const x = net;\n"],
    ['the clock', 'export const now = () => Date.now();\n'],
    ['a clock read through new Date()', 'export const now = () => new Date();\n'],
    ['unseeded randomness', 'export const pick = () => Math.random();\n'],
  ];
  for (const [what, code] of domainViolations) {
    it(`refuses ${what} in a domain lib`, async () => {
      const found = await problems('libs/drift/src/boundary-fixture.ts', code);
      assert.equal(found.length, 1, `expected one boundary error, got ${JSON.stringify(found)}`);
    });
  }

  it('allows the same imports in an infrastructure or feature lib', async () => {
    const code =
      "import { Injectable } from '@nestjs/common';\nimport { readFileSync } from 'node:fs';\nexport const x = [Injectable, readFileSync, Date.now()];\n";
    assert.deepEqual(await problems('libs/registry/src/boundary-fixture.ts', code), []);
  });

  it('allows a domain lib to use another domain lib through its alias, and a date built from a value', async () => {
    const code = `import { ksTest } from '${alias('drift')}';\nexport const x = [ksTest, new Date(0)];\n`;
    assert.deepEqual(await problems('libs/detectors/src/boundary-fixture.ts', code), []);
  });

  it('refuses a relative import out of a lib', async () => {
    const code = "import { x } from '../../alerting/src';\nexport const y = x;\n";
    assert.equal((await problems('libs/alerter/src/boundary-fixture.ts', code)).length, 1);
    const deeper = "import { x } from '../../../libs/alerter/src';\nexport const y = x;\n";
    assert.equal((await problems('libs/registry/src/sub/boundary-fixture.ts', deeper)).length, 1);
  });

  it('refuses a demo import in production code, and allows it in the demo', async () => {
    const code = `import { startModelServer } from '${alias('demo-models')}';\nexport const y = startModelServer;\n`;
    assert.equal((await problems('libs/adapters/src/boundary-fixture.ts', code)).length, 1);
    assert.deepEqual(await problems('libs/demo-workspace/src/boundary-fixture.ts', code), []);
  });

  it("refuses SQL naming another lib's table, and allows the owner's own", async () => {
    const query = (table: string) =>
      `export const read = (db: { query(sql: string): unknown }) => db.query(\`SELECT id FROM ${table} WHERE state <> 'pending'\`);\n`;
    const found = await problems('libs/evidence/src/boundary-fixture.ts', query('alerts'));
    assert.equal(found.length, 1);
    assert.match(found[0], /libs\/alerter/);
    assert.equal(
      (await problems('libs/alerter/src/boundary-fixture.ts', query('evaluation_runs'))).length,
      1,
      'the alerter re-reading the run queue',
    );
    assert.equal((await problems('libs/rag-guard/src/boundary-fixture.ts', query('models'))).length, 1);
    assert.deepEqual(await problems('libs/alerter/src/boundary-fixture.ts', query('alerts')), []);
    assert.deepEqual(await problems('libs/registry/src/boundary-fixture.ts', query('evaluation_runs')), []);
    const prose = "export const message = 'samples from datasets that were deleted';\n";
    assert.deepEqual(await problems('libs/evidence/src/boundary-fixture.ts', prose), [], 'prose is not SQL');
  });

  it("refuses another lib's entity classes as values, and allows their types", async () => {
    const repository = `import { Dataset } from '${alias('registry')}';\nexport const entity = Dataset;\n`;
    assert.equal((await problems('libs/evidence/src/boundary-fixture.ts', repository)).length, 1);
    const alerts = `import { AlertEntity } from '${alias('alerter')}';\nexport const entity = AlertEntity;\n`;
    assert.equal((await problems('libs/evidence/src/boundary-fixture.ts', alerts)).length, 1);
    const typed = `import { ModelRegistry, type ModelVersion } from '${alias('registry')}';\nexport type Version = ModelVersion;\nexport const registry = ModelRegistry;\n`;
    assert.deepEqual(await problems('libs/evaluator/src/boundary-fixture.ts', typed), []);
  });

  it('keeps the line readers dependency-free: no package, Node module or other lib, only their own files', async () => {
    const file = 'libs/line-readers/src/boundary-fixture.ts';
    for (const specifier of ['node:fs', 'node:readline', '@nestjs/common', 'csv-parse', alias('contracts')]) {
      const code = `import * as m from '${specifier}';\nexport const x = m;\n`;
      assert.equal((await problems(file, code)).length, 1, specifier);
    }
    assert.deepEqual(
      await problems(file, "import { readLines } from './lines';\nexport const x = readLines;\n"),
      [],
    );
  });

  it('refuses an app import in a lib', async () => {
    const code = "import { x } from '../../../apps/api/src/main';\nexport const y = x;\n";
    assert.ok((await problems('libs/registry/src/boundary-fixture.ts', code)).length >= 1);
  });
});
