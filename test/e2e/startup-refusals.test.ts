import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';

const ROOT = path.resolve(__dirname, '..', '..', '..');

function run(
  app: string,
  environment: Record<string, string>,
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'apps', app, 'src', 'main.js')], {
      env: { PATH: process.env.PATH ?? '', ...environment },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('exit', (code) => resolve({ code, stderr }));
  });
}

describe('apps refuse a topology that would split the history', () => {
  for (const app of ['api', 'ingestor']) {
    it(`${app} with KAFKA_BROKERS but no CLICKHOUSE_URL exits 78 and says what to set`, async () => {
      // No broker is contacted: the refusal comes before anything connects.
      const { code, stderr } = await run(app, { KAFKA_BROKERS: '127.0.0.1:1' });
      assert.equal(code, 78);
      assert.match(stderr, new RegExp(`${app} has KAFKA_BROKERS but no CLICKHOUSE_URL`));
      assert.match(stderr, /Set CLICKHOUSE_URL/);
    });
  }
});
