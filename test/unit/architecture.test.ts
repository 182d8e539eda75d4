import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
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

/** The layer folders of libs/, lowest first (eslint.config.mjs LAYERS, docs/architecture.md). */
const LAYERS = ['kernel', 'domain', 'platform', 'features', 'demo', 'client'];

let linter: ESLint | undefined;
async function problems(file: string, code: string): Promise<string[]> {
  const eslint = (linter ??= new ESLint({ cwd: ROOT }));
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
      const found = await problems('libs/domain/drift/src/boundary-fixture.ts', code);
      assert.equal(found.length, 1, `expected one boundary error, got ${JSON.stringify(found)}`);
    });
  }

  it('refuses a print in a domain lib, and allows it in an app that owns its terminal', async () => {
    const eslint = (linter ??= new ESLint({ cwd: ROOT }));
    const prints = async (file: string) => {
      const code = 'export const report = (line: string) => console.error(line);\n';
      const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, file) });
      return result.messages.filter((m) => m.ruleId === 'no-console').length;
    };
    assert.equal(await prints('libs/domain/evaluation/src/boundary-fixture.ts'), 1);
    assert.equal(await prints('apps/cli/src/boundary-fixture.ts'), 0);
  });

  it('allows the same imports in an infrastructure or feature lib', async () => {
    const code =
      "import { Injectable } from '@nestjs/common';\nimport { readFileSync } from 'node:fs';\nexport const x = [Injectable, readFileSync, Date.now()];\n";
    assert.deepEqual(await problems('libs/features/registry/src/boundary-fixture.ts', code), []);
  });

  it('allows a domain lib to use another domain lib through its alias, and a date built from a value', async () => {
    const code = `import { ksTest } from '${alias('drift')}';\nexport const x = [ksTest, new Date(0)];\n`;
    assert.deepEqual(await problems('libs/domain/detectors/src/boundary-fixture.ts', code), []);
  });

  it('refuses a relative import out of a lib', async () => {
    const code = "import { x } from '../../../domain/alert-rules/src';\nexport const y = x;\n";
    assert.equal((await problems('libs/features/alerts/src/boundary-fixture.ts', code)).length, 1);
    const deeper = "import { x } from '../../../alerts/src';\nexport const y = x;\n";
    assert.equal((await problems('libs/features/registry/src/sub/boundary-fixture.ts', deeper)).length, 1);
  });

  it('refuses a demo import in production code, and allows it in the demo', async () => {
    const code = `import { startModelServer } from '${alias('demo-models')}';\nexport const y = startModelServer;\n`;
    assert.equal((await problems('libs/platform/adapters/src/boundary-fixture.ts', code)).length, 1);
    assert.deepEqual(await problems('libs/demo/demo-workspace/src/boundary-fixture.ts', code), []);
  });

  it("refuses SQL naming another lib's table, and allows the owner's own", async () => {
    const query = (table: string) =>
      `export const read = (db: { query(sql: string): unknown }) => db.query(\`SELECT id FROM ${table} WHERE state <> 'pending'\`);\n`;
    const found = await problems('libs/features/evidence/src/boundary-fixture.ts', query('alerts'));
    assert.equal(found.length, 1);
    assert.match(found[0], /libs\/features\/alerts/);
    assert.equal(
      (await problems('libs/features/alerts/src/boundary-fixture.ts', query('evaluation_runs'))).length,
      1,
      'the alerter re-reading the run queue',
    );
    assert.equal(
      (await problems('libs/features/rag-guard/src/boundary-fixture.ts', query('models'))).length,
      1,
    );
    assert.deepEqual(await problems('libs/features/alerts/src/boundary-fixture.ts', query('alerts')), []);
    assert.deepEqual(
      await problems('libs/features/runs/src/boundary-fixture.ts', query('evaluation_runs')),
      [],
    );
    const prose = "export const message = 'samples from datasets that were deleted';\n";
    assert.deepEqual(
      await problems('libs/features/evidence/src/boundary-fixture.ts', prose),
      [],
      'prose is not SQL',
    );
  });

  it("refuses another lib's entity classes as values, and allows their types", async () => {
    const repository = `import { Dataset } from '${alias('registry')}';\nexport const entity = Dataset;\n`;
    assert.equal((await problems('libs/features/evidence/src/boundary-fixture.ts', repository)).length, 1);
    const alerts = `import { AlertEntity } from '${alias('alerts')}';\nexport const entity = AlertEntity;\n`;
    assert.equal((await problems('libs/features/evidence/src/boundary-fixture.ts', alerts)).length, 1);
    const typed = `import { ModelRegistry, type ModelVersion } from '${alias('registry')}';\nexport type Version = ModelVersion;\nexport const registry = ModelRegistry;\n`;
    assert.deepEqual(await problems('libs/features/evaluation-runner/src/boundary-fixture.ts', typed), []);
  });

  it('keeps the line readers dependency-free: no package, Node module or other lib, only their own files', async () => {
    const file = 'libs/kernel/line-readers/src/boundary-fixture.ts';
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
    const code = "import { x } from '../../../../apps/api/src/main';\nexport const y = x;\n";
    assert.ok((await problems('libs/features/registry/src/boundary-fixture.ts', code)).length >= 1);
  });

  // Which layer may import which (eslint.config.mjs LAYERS): a lib of each layer importing one lib
  // of every other layer. Dependencies point down: kernel < domain < platform < features < demo;
  // the published SDK (client) carries only the kernel.
  const sample: Record<string, { file: string; lib: string }> = {
    kernel: { file: 'libs/kernel/contracts/src/boundary-fixture.ts', lib: 'retry' },
    domain: { file: 'libs/domain/detectors/src/boundary-fixture.ts', lib: 'drift' },
    platform: { file: 'libs/platform/server/src/boundary-fixture.ts', lib: 'transport' },
    features: { file: 'libs/features/evidence/src/boundary-fixture.ts', lib: 'registry' },
    demo: { file: 'libs/demo/demo-workspace/src/boundary-fixture.ts', lib: 'demo-models' },
    client: { file: 'libs/client/sdk/src/boundary-fixture.ts', lib: 'sdk' },
  };
  const mayImport: Record<string, string[]> = {
    kernel: ['kernel'],
    domain: ['kernel', 'domain'],
    platform: ['kernel', 'domain', 'platform'],
    features: ['kernel', 'domain', 'platform', 'features'],
    demo: ['kernel', 'domain', 'platform', 'features', 'demo'],
    client: ['kernel', 'client'],
  };
  for (const from of LAYERS) {
    const refused = LAYERS.filter((to) => !mayImport[from].includes(to));
    it(`refuses a ${from} lib importing ${refused.join(', ')}; allows ${mayImport[from].join(', ')}`, async () => {
      for (const to of LAYERS) {
        const code = `import { boundaryFixture } from '${alias(sample[to].lib)}';\nexport const x = boundaryFixture;\n`;
        const found = await problems(sample[from].file, code);
        if (mayImport[from].includes(to)) assert.deepEqual(found, [], `${from} -> ${to}`);
        else {
          assert.equal(found.length, 1, `${from} -> ${to}: ${JSON.stringify(found)}`);
          assert.match(found[0], new RegExp(`import no ${to} lib`));
        }
      }
    });
  }

  it('refuses a framework or storage client in the kernel and the published SDK, and the bus client in the kernel', async () => {
    const nest = "import { Injectable } from '@nestjs/common';\nexport const x = Injectable;\n";
    const kafka = "import { Kafka } from 'kafkajs';\nexport const x = Kafka;\n";
    assert.equal((await problems(sample.kernel.file, nest)).length, 1);
    assert.equal((await problems(sample.kernel.file, kafka)).length, 1);
    assert.equal((await problems(sample.client.file, nest)).length, 1);
    assert.deepEqual(await problems(sample.client.file, kafka), [], "kafkajs is the SDK's optional peer");
  });

  it('refuses the test support and an app in a lib of every layer', async () => {
    const testing = `import { uniqueName } from '${alias('testing')}';\nexport const x = uniqueName;\n`;
    const app = "import { x } from '../../../../apps/api/src/main';\nexport const y = x;\n";
    for (const layer of LAYERS) {
      assert.equal((await problems(sample[layer].file, testing)).length, 1, layer);
      assert.ok((await problems(sample[layer].file, app)).length >= 1, layer);
    }
  });
});

describe('libs/ layout', () => {
  const libs = readdirSync(path.join(ROOT, 'libs')).flatMap((layer) =>
    readdirSync(path.join(ROOT, 'libs', layer), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => ({ layer, name: entry.name, root: `libs/${layer}/${entry.name}` })),
  );

  it('holds only layer folders, each lib in one', () => {
    assert.deepEqual(
      readdirSync(path.join(ROOT, 'libs')).filter((folder) => !LAYERS.includes(folder)),
      [],
      `libs/ holds only ${LAYERS.join(', ')}`,
    );
    const names = libs.map(({ name }) => name);
    assert.equal(new Set(names).size, names.length, 'a lib name is unique across layers');
  });

  it('gives every lib an @tripline/ alias and a nest-cli.json project at its folder', () => {
    const { compilerOptions } = JSON.parse(readFileSync(path.join(ROOT, 'tsconfig.json'), 'utf8')) as {
      compilerOptions: { paths: Record<string, string[]> };
    };
    const { projects } = JSON.parse(readFileSync(path.join(ROOT, 'nest-cli.json'), 'utf8')) as {
      projects: Record<string, { type: string; root: string; sourceRoot: string }>;
    };
    for (const { name, root } of libs) {
      assert.deepEqual(compilerOptions.paths[alias(name)], [`${root}/src`], name);
      assert.deepEqual(projects[name], { type: 'library', root, sourceRoot: `${root}/src` }, name);
    }
    const aliased = Object.values(compilerOptions.paths)
      .flat()
      .filter((target) => target.startsWith('libs/'));
    assert.equal(aliased.length, libs.length, 'no alias points at a lib that moved away');
  });
});

describe('sizes enforced by lint', () => {
  const sizeErrors = async (file: string, code: string) => {
    const eslint = (linter ??= new ESLint({ cwd: ROOT }));
    const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, file) });
    return result.messages.filter((m) => m.ruleId?.startsWith('max-lines')).map((m) => m.severity);
  };
  const longFunction = `export function long(): number {\n  let total = 0;\n${'  total += 1;\n'.repeat(90)}  return total;\n}\n`;

  it('fails on a new function over 80 lines, in any lib or app', async () => {
    assert.deepEqual(await sizeErrors('libs/features/evidence/src/size-fixture.ts', longFunction), [2]);
    assert.deepEqual(await sizeErrors('apps/api/src/size-fixture.ts', longFunction), [2]);
  });

  it('fails on a new file over 400 lines', async () => {
    const code = Array.from({ length: 420 }, (_, i) => `export const value${i} = ${i};`).join('\n') + '\n';
    assert.deepEqual(await sizeErrors('libs/domain/drift/src/size-fixture.ts', code), [2]);
  });

  it('holds for every file that was once over the limits, and exempts migrations', async () => {
    // The files listed as known size debt when the rules became errors have all been split; the
    // list is gone, and the largest of them is held to the same rule as a new file.
    assert.deepEqual(await sizeErrors('libs/domain/evaluation/src/trigger-scan.ts', longFunction), [2]);
    assert.deepEqual(
      await sizeErrors('libs/platform/postgres/src/migrations/1999999999999-size-fixture.ts', longFunction),
      [],
    );
  });
});
