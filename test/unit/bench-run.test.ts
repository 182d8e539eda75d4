import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { temporaryDirectory } from '@tripline/testing';
import { summarise } from '../../bench/run';

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

  it('runs every benchmark but itself and prints one JSON summary; a failure is reported and fails the run', () => {
    const { status, stdout, stderr } = run('--timeout', '2');
    assert.equal(status, 1, stderr);
    assert.match(stderr, /3 benchmark\(s\) failed: crashes, silent, slow/);
    const summary = JSON.parse(stdout) as {
      machine: { cpus: number; node: string; loadAverage: number[] };
      failed: string[];
      benchmarks: Record<string, Record<string, unknown>>;
    };
    assert.equal(summary.machine.cpus, os.cpus().length);
    assert.equal(summary.machine.node, process.version);
    assert.equal(summary.machine.loadAverage.length, 3);
    assert.deepEqual(summary.failed, ['crashes', 'silent', 'slow']);
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

  it('exits 0 when every benchmark printed its figures', () => {
    const only = run('--only', 'compact,chatty');
    assert.equal(only.status, 0, only.stderr);
    assert.deepEqual(JSON.parse(only.stdout).failed, []);
  });
});

describe('the bench summary', () => {
  it('puts each headline figure beside its goal and says whether it was met', () => {
    const summary = summarise({
      ingest: {
        ingestor_events_per_second: { median: 46_000 },
        ratio_to_kafkajs_floor: 0.94,
        ratio_to_platformatic_floor: 1.2,
        produce_to_queryable: [
          {
            offered_events_per_second: 5000,
            achieved_offered_events_per_second: 4999,
            p50_ms: 130,
            p99_ms: 390,
          },
        ],
      },
      stats: { summary: { worstRatio: 1.6 }, results: [{ function: 'ksTest', n: [10, 10], ratio: 1.6 }] },
      evaluate: { overhead_percent: 4.2 },
      'trigger-scan': {
        triggerScan: [
          { model: 'm', candidates: 4000, seconds: 130, triggerRank: 1, triggerFlagged: true, flagged: [{}] },
        ],
      },
      'dataset-scan-zoo': { error: 'exited with 1' },
    }) as {
      ingest: Record<string, unknown>;
      statistics: Record<string, unknown>;
      replayOverheadPercent: unknown;
      triggerScan: { seconds: { met: boolean }; flagged: number }[];
      datasetScan?: unknown;
    };
    assert.deepEqual(summary.ingest.eventsPerSecond, { value: 46_000, goal: '>= 50000', met: false });
    assert.deepEqual(summary.ingest.ratioToKafkajsFloor, { value: 0.94, goal: '>= 0.8', met: true });
    assert.deepEqual(summary.ingest.produceToQueryable, [
      { offered: 5000, achieved: 4999, p50Ms: 130, p99Ms: 390 },
    ]);
    assert.deepEqual(summary.statistics.worstRatioToScipy, { value: 1.6, goal: '<= 1.5', met: false });
    assert.deepEqual(summary.replayOverheadPercent, { value: 4.2, goal: '<= 10', met: true });
    assert.equal(summary.triggerScan[0].seconds.met, false);
    assert.equal(summary.triggerScan[0].flagged, 1);
    assert.equal(summary.datasetScan, undefined, 'a benchmark that failed has no figures to summarise');
  });
});
