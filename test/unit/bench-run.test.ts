import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { temporaryDirectory } from '@tripline/testing';

const RUNNER = path.resolve(__dirname, '..', '..', 'bench', 'run.js');

describe('npm run bench (bench/run)', () => {
  const folder = temporaryDirectory('tripline-bench-run-');
  after(() => folder.remove());

  const benchmark = (name: string, source: string) =>
    writeFileSync(path.join(folder.path, `${name}.js`), source);
  benchmark('compact', `console.log(JSON.stringify({ benchmark: 'compact', per_second: 42 }));`);
  benchmark(
    'chatty',
    `console.log('{ a log line that is not JSON');
     console.error('progress on stderr');
     console.log(JSON.stringify({ benchmark: 'chatty', nested: { ok: true } }, null, 2));`,
  );
  benchmark('crashes', `console.error('cannot reach Kafka'); process.exit(3);`);
  benchmark('silent', `console.log('no JSON here');`);
  benchmark('slow', `setTimeout(() => console.log('{}'), 60_000);`);
  benchmark('run', `throw new Error('the runner must not run itself');`);

  const run = (...args: string[]) => {
    const result = spawnSync(process.execPath, [RUNNER, '--no-build', '--dir', folder.path, ...args], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  };

  it('runs every benchmark but itself and prints one JSON summary; failures are reported, not fatal', () => {
    const { status, stdout, stderr } = run('--timeout', '2');
    assert.equal(status, 0, stderr);
    const summary = JSON.parse(stdout) as {
      machine: { cpus: number; node: string };
      benchmarks: Record<string, Record<string, unknown>>;
    };
    assert.deepEqual(summary.machine, { cpus: os.cpus().length, node: process.version });
    assert.deepEqual(Object.keys(summary.benchmarks).sort(), [
      'chatty',
      'compact',
      'crashes',
      'silent',
      'slow',
    ]);
    assert.deepEqual(summary.benchmarks.compact, { benchmark: 'compact', per_second: 42 });
    assert.deepEqual(summary.benchmarks.chatty, { benchmark: 'chatty', nested: { ok: true } });
    assert.match(String(summary.benchmarks.crashes.error), /exited with 3/);
    assert.match(String(summary.benchmarks.crashes.stderr), /cannot reach Kafka/);
    assert.match(String(summary.benchmarks.silent.error), /no JSON/);
    assert.match(String(summary.benchmarks.slow.error), /timed out after 2 s/);
    assert.match(stderr, /progress on stderr/);
  });

  it('runs only the benchmarks asked for, and refuses a name it does not know', () => {
    const only = run('--only', 'compact');
    assert.equal(only.status, 0, only.stderr);
    assert.deepEqual(Object.keys(JSON.parse(only.stdout).benchmarks), ['compact']);
    const unknown = run('--only', 'nonexistent');
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /no benchmark named nonexistent/);
  });
});
