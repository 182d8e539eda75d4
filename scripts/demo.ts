import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { StandaloneModule } from '../apps/standalone/src/standalone.module';
import { COMPRESSED_DEMO, DemoTimeline, DemoWorkspace, type DemoEvent } from '@tripline/demo-workspace';
import { loadEnvironmentOrExit } from '@tripline/config';
import { createApplication } from '@tripline/server';

/**
 * `npm run demo`: the demo scenario of `npm start`, scripted and compressed into about a minute, in
 * a temporary data directory on embedded storage. It prints what happens and a timeline (the
 * swap at T, then each expected alert at T+x), and exits 0 only if the canary, stream-trigger and
 * fingerprint alerts all fired after the swap and no alert fired before it; 1 otherwise, naming
 * what was missing or premature.
 *
 *   node dist/scripts/demo.js [--keep]     --keep leaves the data directory for a look afterwards
 */

/** Every expected alert normally fires within a minute of the swap; this is the wait's limit. */
const WAIT_AFTER_SWAP_MS = 150_000;
const SHUTDOWN_LIMIT_MS = 30_000;

/**
 * Settings that make the minutes of `npm start` into seconds: detector windows of 15 s, schedules
 * picked up within a second, runs claimed within 100 ms, alerts judged and delivered promptly.
 * Set here rather than inherited, so a shell's own settings cannot stretch the scenario; storage
 * is always the embedded one, in a directory of its own.
 */
function compressedEnvironment(dataDirectory: string): Record<string, string> {
  return {
    TRIPLINE_DATA_DIR: dataDirectory,
    HOST: '127.0.0.1',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'error',
    DRIFT_WINDOW_SECONDS: '15',
    DRIFT_REFERENCE_SECONDS: '86400',
    DRIFT_MIN_SAMPLES: '200',
    TRIPLINE_SCHEDULE_SYNC_MS: '1000',
    TRIPLINE_EVALUATOR_POLL_MS: '100',
    TRIPLINE_ALERTER_TICK_MS: '250',
    TRIPLINE_ALERTER_DELIVERY_POLL_MS: '200',
    TRIPLINE_ALERTER_LAG_INTERVAL_MS: '0',
  };
}

async function main(): Promise<number> {
  const started = Date.now();
  const keep = process.argv.slice(2).includes('--keep');
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'tripline-demo-'));
  for (const variable of [
    'KAFKA_BROKERS',
    'DATABASE_URL',
    'CLICKHOUSE_URL',
    'CLICKHOUSE_CLUSTER',
    'DRIFT_REFERENCE_PERIOD',
  ])
    delete process.env[variable];
  Object.assign(process.env, compressedEnvironment(path.join(scratch, 'data')));
  const environment = loadEnvironmentOrExit();

  const clock = () => `+${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s`;
  const print = (line: string) => process.stdout.write(`[${clock()}] ${line}\n`);
  print(`demo: compressed scenario in ${scratch} (embedded storage; removed at the end unless --keep)`);

  const app = await createApplication(StandaloneModule, { service: 'demo', openApi: true });
  await app.listen(0, environment.HOST);
  const { port } = app.getHttpServer().address() as AddressInfo;

  const timeline = new DemoTimeline(started);
  let finish!: (reason: string) => void;
  const finished = new Promise<string>((resolve) => (finish = resolve));
  let alertsIn!: () => void;
  const alertsFired = new Promise<void>((resolve) => (alertsIn = resolve));
  let waitLimit: NodeJS.Timeout | undefined;
  const webhooks = { received: 0, verified: 0 };
  const onEvent = (event: DemoEvent) => {
    if (event.type === 'swapped') {
      timeline.swapped(event.at);
      waitLimit = setTimeout(
        () => finish('the wait for the expected alerts and trigger scans ran out'),
        WAIT_AFTER_SWAP_MS,
      );
    } else if (event.type === 'alert') {
      timeline.alert(event.alert);
    } else if (event.type === 'webhook') {
      webhooks.received++;
      if (event.verified) webhooks.verified++;
    }
    if (timeline.complete()) alertsIn();
  };
  process.once('SIGINT', () => finish('interrupted'));
  process.once('SIGTERM', () => finish('terminated'));

  let reason: string;
  try {
    await app.get(DemoWorkspace).start({
      ...COMPRESSED_DEMO,
      publicUrl: `http://${environment.HOST}:${port}`,
      adminKeyHint: 'printed',
      print,
      onEvent,
    });
    // The alerts, then the answer of every trigger scan queued meanwhile (the fingerprint alert
    // starts one): the demo ends on those conditions, or at the wait limit, never on a fixed time.
    const workspace = app.get(DemoWorkspace);
    reason = await Promise.race([
      finished,
      alertsFired
        .then(() => workspace.scansReported())
        .then(() => 'every expected alert fired and every trigger scan reported'),
    ]);
  } catch (error) {
    reason = `the demo could not run: ${error instanceof Error ? error.message : String(error)}`;
  }
  clearTimeout(waitLimit);

  const verdict = timeline.verdict();
  const problems = reason.startsWith('every') ? verdict.problems : [reason, ...verdict.problems];
  process.stdout.write(`\ntimeline (${reason}):\n${verdict.lines.map((line) => `  ${line}`).join('\n')}\n`);
  process.stdout.write(
    `  webhook deliveries: ${webhooks.received} (${webhooks.verified} with a valid signature)\n\n`,
  );
  if (problems.length === 0 && verdict.ok) {
    process.stdout.write('demo: PASSED — every expected alert fired after the swap, and none before it\n');
  } else {
    process.stdout.write(
      `demo: FAILED\n${[...new Set(problems)].map((problem) => `  - ${problem}`).join('\n')}\n`,
    );
  }

  const forced = setTimeout(() => {
    process.stderr.write(`demo: shutting down took longer than ${SHUTDOWN_LIMIT_MS} ms; exiting anyway\n`);
    process.exit(1);
  }, SHUTDOWN_LIMIT_MS);
  forced.unref();
  await app.close();
  if (!keep) rmSync(scratch, { recursive: true, force: true });
  else process.stdout.write(`demo: data kept in ${scratch}\n`);
  return problems.length === 0 && verdict.ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `demo: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
