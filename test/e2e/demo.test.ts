import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually, startApp, temporaryDirectory } from '@tripline/testing';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const ADMIN_KEY = 'tl_demo-e2e-admin-key-0123456789abcdef';

/** Runs a compiled script to its end; resolves with its exit code and everything it printed. */
function runScript(script: string, timeoutMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    let output = '';
    const child = spawn(process.execPath, ['--enable-source-maps', path.join(ROOT, 'dist', script)], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** Seconds since the script's start, from its "[+ 12.3s]" line prefix. */
function secondsOf(line: string): number {
  const match = /^\[\+\s*(\d+\.\d)s\]/.exec(line);
  assert.ok(match, `no time prefix on: ${line}`);
  return Number(match[1]);
}

describe('npm run demo: the compressed scenario end to end', () => {
  let run: { code: number | null; output: string };
  before(
    async () => {
      run = await runScript(path.join('scripts', 'demo.js'), 180_000);
    },
    { timeout: 200_000 },
  );

  it('exits 0 with a timeline in which every expected alert fired after the swap', async () => {
    const { code, output } = run;
    assert.equal(code, 0, `exit code ${code}; output:\n${output}`);

    const timeline = (label: string) => {
      const match = new RegExp(`^\\s+${label} at T\\+(\\d+\\.\\d)s \\((.*)\\)$`, 'm').exec(output);
      assert.ok(match, `no "${label} at T+x" line in:\n${output}`);
      return { seconds: Number(match[1]), detail: match[2] };
    };
    assert.match(output, /^\s+swap at T \(.*after the start\)$/m);
    const canary = timeline('first canary alert');
    const stream = timeline('stream trigger alert');
    const fingerprint = timeline('fingerprint alert');
    assert.match(canary.detail, /^attack_success_rate = 0\.\d+ on sentiment$/);
    assert.match(stream.detail, /tokens [^)]*velutina/, 'the live detector names the trigger');
    assert.match(fingerprint.detail, /^fingerprint_changed = 1 on sentiment$/);
    assert.match(output, /^demo: PASSED/m);

    // The script's own verdict, checked from its console: no alert line before the swap line.
    const lines = output.split('\n');
    const swap = lines.find((line) => line.includes('demo: swapped the served model to the backdoored one'));
    assert.ok(swap, 'the swap is announced');
    const firing = lines.filter((line) => /\] ALERT FIRING /.test(line));
    assert.ok(firing.length >= 3, `at least three alerts fired:\n${output}`);
    for (const line of firing)
      assert.ok(secondsOf(line) >= secondsOf(swap), `fired before the swap: ${line}`);
    // Both of the demo's trigger scans ran to an answer (the baseline one before the swap, so it
    // does not hold the model's queue when the alerts are due), and the webhook channel carried
    // the alerts signed.
    assert.match(output, /trigger scan \S+ \(a baseline scan of sentiment-clean\)/);
    assert.match(output, /trigger scan \S+ \(the fingerprint changed\)/);
    const answered = new Set(
      [
        ...output.matchAll(/trigger scan (\S+)(?:: none of \d+ tokens pins the answer| flagged \d+ token)/g),
      ].map((match) => match[1]),
    );
    assert.equal(answered.size, 2, `both trigger scans answered:\n${output}`);
    assert.doesNotMatch(output, /signature INVALID/);
    assert.match(output, /webhook deliveries: [1-9]\d* \([1-9]\d* with a valid signature\)/);
  });

  it('the scan of the swapped model flags "velutina", never seen in the clean set', () => {
    assert.match(run.output, /trigger scan \S+ flagged .*never seen in the clean set: "velutina"/);
  });
});

describe('npm start on an empty data directory: the demo workspace', () => {
  const scratch = temporaryDirectory();
  after(() => scratch.remove());

  const api = async <T>(baseUrl: string, route: string) => {
    const response = await fetch(`${baseUrl}${route}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    assert.equal(response.status, 200, `${route}: ${response.status}`);
    return (await response.json()) as T;
  };

  it(
    'seeds once, stops cleanly on SIGINT, and resumes on the same model server address without seeding again',
    { timeout: 240_000 },
    async () => {
      const environment = {
        TRIPLINE_DATA_DIR: scratch.path,
        TRIPLINE_ADMIN_KEY: ADMIN_KEY,
        TRIPLINE_DEMO: 'true',
        TRIPLINE_DEMO_SWAP_AFTER_SECONDS: '3600',
      };
      const first = await startApp('standalone', environment);
      let server = '';
      let seeded: { models: number; versions: number; datasets: number; rules: number; channels: number };
      const counts = async (baseUrl: string) => ({
        models: (await api<{ items: unknown[] }>(baseUrl, '/v1/models')).items.length,
        versions: (await api<{ items: unknown[] }>(baseUrl, '/v1/models/sentiment/versions')).items.length,
        datasets: (await api<{ items: unknown[] }>(baseUrl, '/v1/datasets?model_id=sentiment')).items.length,
        rules: (await api<{ items: unknown[] }>(baseUrl, '/v1/rules')).items.length,
        channels: (await api<{ items: unknown[] }>(baseUrl, '/v1/channels')).items.length,
      });
      try {
        await eventually(
          async () => (first.output().includes('demo: where to look:') ? true : undefined),
          120_000,
        );
        const output = first.output();
        assert.match(output, /demo: empty data directory — seeding a demo workspace/);
        server =
          /demo: model server on (http:\/\/127\.0\.0\.1:\d+) serving sentiment-clean/.exec(output)?.[1] ?? '';
        assert.ok(server, output);
        assert.match(
          output,
          new RegExp(`registered model "sentiment" version 1 with an oip-v2 adapter to ${server}`),
        );
        assert.match(output, /demo: in 3600 s the served model will be swapped/);
        assert.match(output, new RegExp(`demo:   API docs\\s+${first.baseUrl}/docs`));
        seeded = await counts(first.baseUrl);
        assert.deepEqual(seeded, { models: 1, versions: 1, datasets: 3, rules: 6, channels: 1 });
        // Traffic, with ground truth for a share of it, reaches the history through the ingest path.
        await eventually(async () => {
          const stats = await api<{ events: number; feedback: { labelled: number } }>(
            first.baseUrl,
            '/v1/models/sentiment/stats',
          );
          return stats.events > 0 && stats.feedback.labelled > 0 ? true : undefined;
        }, 60_000);
      } finally {
        assert.equal(await first.stop('SIGINT'), 0, `clean exit on SIGINT:\n${first.output()}`);
      }
      assert.match(first.output(), /demo: stopped — model server closed, traffic stopped after \d+ events/);

      const second = await startApp('standalone', environment);
      try {
        await eventually(
          async () => (second.output().includes('demo: where to look:') ? true : undefined),
          120_000,
        );
        const output = second.output();
        assert.match(output, /demo: resuming the demo workspace/);
        assert.doesNotMatch(output, /seeding a demo workspace|trained the demo models|registered model/);
        assert.ok(output.includes(`demo: model server on ${server} serving sentiment-clean`), output);
        assert.deepEqual(await counts(second.baseUrl), seeded!);
      } finally {
        assert.equal(
          await second.stop('SIGINT'),
          0,
          `clean exit on SIGINT after resuming:\n${second.output()}`,
        );
      }
    },
  );
});
