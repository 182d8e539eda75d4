import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  eventually,
  startApp,
  temporaryDirectory,
  uniqueName,
  writeServerModulesGuard,
  type RunningApp,
} from '@tripline/testing';

/**
 * Issue 15: the SDK and the CLI as another project gets them. `npm pack` builds the tarball (prepack), a fresh
 * project outside the repository installs it (dependencies from the npm cache or registry, nothing
 * else), and scripts there send events with `require` and with `import`.
 */

const ROOT = path.resolve(__dirname, '..', '..', '..');
const ADMIN_KEY = 'tl_sdk-package-admin-key-0123456789ab';
// Spelled in pieces: the build's path-alias rewriting would otherwise turn it into a repository path.
const PACKAGE = ['@tripline', 'sdk'].join('/');

function run(command: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env } });
  assert.equal(result.status, 0, `${command} ${args.join(' ')}:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/**
 * A POST on a connection of its own. `run` blocks the event loop for the length of an install, so a
 * kept-alive socket of an earlier fetch can be closed by the server meanwhile without this process
 * noticing, and fetch would then send on it ("other side closed").
 */
function postOnFreshConnection(url: string, headers: Record<string, string>, body: string) {
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    const request = http.request(url, { method: 'POST', headers, agent: false }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(body);
  });
}

/** Dependencies come from the npm cache, or the registry: nothing else is reached. */
const INSTALL_FLAGS = ['--prefer-offline', '--no-audit', '--no-fund'];

const sender = (importLine: string, modelId: string, prefix: string) => `${importLine}
const recorder = createRecorder({
  transport: { kind: 'http', url: process.env.TRIPLINE_URL, apiKey: process.env.TRIPLINE_KEY },
});
for (let i = 0; i < 5; i++)
  recorder.record({
    event_id: '${prefix}-' + i,
    model_id: '${modelId}',
    timestamp: Date.now(),
    input: { text: 'review ' + i },
    output: { label: 'positive' },
  });
let refused;
try {
  recorder.record({ event_id: 'x', model_id: '${modelId}' });
} catch (error) {
  refused = error instanceof RecordValidationError;
}
await recorder.close();
console.log(JSON.stringify({ refused, stats: recorder.stats() }));
`;

describe('the packed SDK and CLI, installed in a project outside the repository', () => {
  const scratch = temporaryDirectory();
  const project = mkdtempSync(path.join(tmpdir(), 'tripline-consumer-'));
  let app: RunningApp;

  before(async () => {
    app = await startApp('standalone', { TRIPLINE_DATA_DIR: scratch.path, TRIPLINE_ADMIN_KEY: ADMIN_KEY });
  });

  after(async () => {
    await app?.stop('SIGKILL');
    scratch.remove();
    rmSync(project, { recursive: true, force: true });
  });

  it('installs from its tarball and sends events from CommonJS and ES modules', async () => {
    run('npm', ['pack', '--silent', '--pack-destination', project], path.join(ROOT, 'libs', 'client', 'sdk'));
    const tarball = readdirSync(project).find((file) => file.endsWith('.tgz'));
    assert.ok(tarball, 'npm pack wrote a tarball');
    writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
    run('npm', ['install', ...INSTALL_FLAGS, `./${tarball}`], project);

    const modelId = uniqueName('packed');
    // CommonJS has no top-level await: the body runs in an async function.
    writeFileSync(
      path.join(project, 'send.cjs'),
      `(async () => {\n${sender(`const { createRecorder, RecordValidationError } = require('${PACKAGE}');`, modelId, 'cjs')}\n})();`,
    );
    writeFileSync(
      path.join(project, 'send.mjs'),
      sender(`import { createRecorder, RecordValidationError } from '${PACKAGE}';`, modelId, 'esm'),
    );
    const env = { TRIPLINE_URL: app.baseUrl, TRIPLINE_KEY: ADMIN_KEY };
    for (const script of ['send.cjs', 'send.mjs']) {
      const output = JSON.parse(run(process.execPath, [script], project, env)) as {
        refused: boolean;
        stats: { sent: number; dropped: number; failed: number };
      };
      assert.equal(output.refused, true, `${script}: an invalid event is refused by the installed contracts`);
      assert.equal(output.stats.sent, 5, `${script}: ${JSON.stringify(output.stats)}`);
    }
    const stats = await eventually(async () => {
      const response = await fetch(`${app.baseUrl}/v1/models/${modelId}/stats?from=${Date.now() - 600_000}`, {
        headers: { authorization: `Bearer ${ADMIN_KEY}` },
      });
      const body = (await response.json()) as { events: number };
      return body.events === 10 ? body : undefined;
    });
    assert.equal(stats.events, 10);
  });

  it('installs the CLI from its tarball; npx tripline answers --help and lists the models', async () => {
    const before = new Set(readdirSync(project));
    run('npm', ['pack', '--silent', '--pack-destination', project], path.join(ROOT, 'apps', 'cli'));
    const tarball = readdirSync(project).find((file) => file.endsWith('.tgz') && !before.has(file));
    assert.ok(tarball, 'npm pack wrote the CLI tarball');
    run('npm', ['install', ...INSTALL_FLAGS, `./${tarball}`], project);

    const help = run('npx', ['--no-install', 'tripline', '--help'], project);
    assert.match(help, /Usage: tripline/);
    assert.match(help, /models/);
    const created = await postOnFreshConnection(
      `${app.baseUrl}/v1/models`,
      { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      JSON.stringify({ id: 'packed-cli-model', task: 'text-classification', labels: ['a', 'b'] }),
    );
    assert.equal(created.status, 201, created.text);
    const listed = run('npx', ['--no-install', 'tripline', '--json', 'models', 'list'], project, {
      TRIPLINE_URL: app.baseUrl,
      TRIPLINE_API_KEY: ADMIN_KEY,
    });
    assert.ok(
      (JSON.parse(listed) as { id: string }[]).some((model) => model.id === 'packed-cli-model'),
      listed,
    );

    // The installed CLI reads a local CSV (quotes, CRLF, a BOM) without loading the server's modules.
    const rows = Array.from({ length: 12 }, (_, i) =>
      i % 2 ? `"a fine, calm film ${i}",positive` : `"a ""dull"" film ${i}",negative`,
    );
    writeFileSync(path.join(project, 'rows.csv'), `\uFEFFtext,label\r\n${rows.join('\r\n')}\r\n`);
    const guard = writeServerModulesGuard(path.join(project, 'server-modules-guard.cjs'));
    const bin = path.join(project, 'node_modules', '@tripline', 'cli', 'dist', 'tripline.js');
    const scanned = run(
      process.execPath,
      ['--require', guard, bin, '--json', 'scan', 'dataset', 'rows.csv'],
      project,
    );
    const report = JSON.parse(scanned) as { rows: number; labels: Record<string, number> };
    assert.deepEqual([report.rows, report.labels], [12, { negative: 6, positive: 6 }]);
  });
});
