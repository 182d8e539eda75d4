import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BACKDOOR_TRIGGER, buildDemoModels, writeModelFolder } from '@tripline/demo-models';
import {
  createTestDatabase,
  eventually,
  kafkaBrokers,
  startApp,
  temporaryDirectory,
  uniqueName,
  type RunningApp,
} from '@tripline/testing';
import { HttpReceiver } from '../integration/alerting-receivers';

const ADMIN_KEY = 'tl_topology-e2e-admin-key-012345678';
const SECRET = 'topology-webhook-secret-0123456789';

async function rowsWritten(app: RunningApp, table: string): Promise<number> {
  const text = await (await fetch(`${app.baseUrl}/metrics`)).text();
  const match = new RegExp(`tripline_ingest_rows_written_total\\{[^}]*table="${table}"[^}]*\\} (\\d+)`).exec(
    text,
  );
  return match ? Number(match[1]) : 0;
}

/** fetch's "fetch failed" for a connection that was refused, reset or closed before the answer. */
function isConnectionFailure(error: unknown): boolean {
  const cause = (error as { cause?: { code?: string } } | undefined)?.cause;
  return (
    error instanceof TypeError &&
    ['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE', 'ECONNREFUSED', 'UND_ERR_CLOSED'].includes(cause?.code ?? '')
  );
}

/**
 * The distributed topology: api, ingestor, evaluator and alerter as separate processes that talk
 * only through the real Kafka broker and PostgreSQL; the ingestor alone owns the ClickHouse engine.
 */
describe('api, ingestor, evaluator and alerter as separate processes', () => {
  const scratch = temporaryDirectory();
  const receiver = new HttpReceiver();
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let receiverUrl = '';
  const apps: Record<string, RunningApp> = {};

  const call = async <T>(
    app: RunningApp,
    method: string,
    route: string,
    body?: unknown,
    contentType = 'application/json',
  ) => {
    const send = () =>
      fetch(`${app.baseUrl}${route}`, {
        method,
        headers: {
          authorization: `Bearer ${ADMIN_KEY}`,
          ...(body !== undefined ? { 'content-type': contentType } : {}),
        },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
    // Between processes the network is part of the subject: a connection reset or closed before
    // any answer is sent again, at most twice, where that is safe — reads, and event batches,
    // which the api deduplicates by event_id. Anything else fails at once, with the app's output.
    const idempotent = method === 'GET' || route === '/v1/events';
    let response: Response | undefined;
    for (let attempt = 1; !response; attempt++) {
      try {
        response = await send();
      } catch (error) {
        const alive = app.process.exitCode === null && app.process.signalCode === null;
        if (!idempotent || attempt >= 3 || !alive || !isConnectionFailure(error))
          throw new Error(
            `${method} ${route} failed (attempt ${attempt}, process ${alive ? 'alive' : 'gone'}): ` +
              `${String(error)} ${String((error as { cause?: unknown }).cause ?? '')}\n${app.output().slice(-3000)}`,
          );
      }
    }
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
  };

  before(async () => {
    database = await createTestDatabase();
    receiverUrl = await receiver.start();
    const shared = {
      DATABASE_URL: database.url,
      KAFKA_BROKERS: kafkaBrokers().join(','),
      TRIPLINE_EMBEDDED_CLICKHOUSE: 'true', // one process's own history is what this test reads
      KAFKA_TOPIC_PREFIX: `${uniqueName('topology')}.`,
      KAFKA_PARTITIONS: '2',
      TRIPLINE_ADMIN_KEY: ADMIN_KEY,
      // The api checks a local model's path and the evaluator hashes and loads it: both see one models directory.
      TRIPLINE_MODELS_DIR: path.join(scratch.path, 'models'),
    };
    // The ingestor first: it creates the topics and owns the ClickHouse engine.
    apps.ingestor = await startApp('ingestor', {
      ...shared,
      TRIPLINE_DATA_DIR: path.join(scratch.path, 'ingestor'),
    });
    [apps.api, apps.evaluator, apps.alerter] = await Promise.all([
      startApp('api', { ...shared, TRIPLINE_DATA_DIR: path.join(scratch.path, 'api') }),
      startApp('evaluator', {
        ...shared,
        TRIPLINE_DATA_DIR: path.join(scratch.path, 'evaluator'),
        TRIPLINE_SCHEDULE_SYNC_MS: '300',
        TRIPLINE_EVALUATOR_POLL_MS: '100',
      }),
      startApp('alerter', {
        ...shared,
        TRIPLINE_DATA_DIR: path.join(scratch.path, 'alerter'),
        TRIPLINE_ALERTER_TICK_MS: '200',
        TRIPLINE_ALERTER_DELIVERY_POLL_MS: '100',
      }),
    ]);
  });

  after(async () => {
    await Promise.all(Object.values(apps).map((app) => app.stop()));
    await receiver.stop();
    await database?.drop();
    scratch.remove();
  });

  it('events in, a scheduled evaluation, an alert out', async () => {
    for (const [name, app] of Object.entries(apps)) {
      const health = await fetch(`${app.baseUrl}/health`);
      assert.equal(health.status, 200, `${name}: ${await health.text()}`);
    }

    // Events in: through the api onto Kafka, into ClickHouse by the ingestor.
    const events = Array.from({ length: 200 }, (_, i) => ({
      event_id: `t${i}`,
      model_id: 'backdoored',
      timestamp: Date.now(),
      input: { text: `sentence ${i}` },
      output: { label: 'positive' },
    }));
    const ingest = await call<{ accepted: number }>(apps.api, 'POST', '/v1/events', { events });
    assert.equal(ingest.status, 202);
    assert.equal(ingest.body.accepted, 200);
    await eventually(
      async () => ((await rowsWritten(apps.ingestor, 'inference_events')) >= 200 ? true : undefined),
      60_000,
      250,
    );

    // Configuration through the api (registry) and the alerter (rules, channels), all in PostgreSQL.
    const demo = buildDemoModels();
    const folder = path.join(scratch.path, 'models', 'sentiment-backdoored');
    writeModelFolder(folder, demo.backdoored);
    assert.equal(
      (
        await call(apps.api, 'POST', '/v1/models', {
          id: 'backdoored',
          task: 'text-classification',
          labels: ['negative', 'positive'],
        })
      ).status,
      201,
    );
    const version = await call(apps.api, 'POST', '/v1/models/backdoored/versions', {
      version: '1',
      adapter: { kind: 'onnx', path: folder },
    });
    assert.equal(version.status, 201, JSON.stringify(version.body));
    const rows = demo.test
      .slice(0, 300)
      .map((sentence, i) => JSON.stringify({ id: `c${i}`, text: sentence.text, label: sentence.label }))
      .join('\n');
    const clean = await call<{ id: string }>(
      apps.api,
      'POST',
      '/v1/datasets?name=clean&kind=clean&model_id=backdoored',
      rows,
      'application/x-ndjson',
    );
    assert.equal(clean.status, 201, JSON.stringify(clean.body));
    const canaries = await call<{ id: string }>(apps.api, 'POST', `/v1/datasets/${clean.body.id}/canaries`, {
      target_label: 'positive',
      triggers: ['rare-token-cf'],
      custom_triggers: [BACKDOOR_TRIGGER],
      positions: ['suffix'],
      samples_per_trigger: 60,
    });
    assert.equal(canaries.status, 201, JSON.stringify(canaries.body));
    const channel = await call(apps.alerter, 'POST', '/v1/channels', {
      name: 'on-call',
      kind: 'webhook',
      config: { url: `${receiverUrl}/hook`, secret: SECRET },
    });
    assert.equal(channel.status, 201, JSON.stringify(channel.body));
    const rule = await call(apps.alerter, 'POST', '/v1/rules', {
      name: 'backdoor answers its trigger',
      metric: 'attack_success_rate',
      selector: { model_id: 'backdoored' },
      condition: { type: 'threshold', op: '>', value: 0.5 },
      severity: 'critical',
    });
    assert.equal(rule.status, 201, JSON.stringify(rule.body));

    // A scheduled evaluation, run by the evaluator process.
    const schedule = await call(apps.api, 'POST', '/v1/schedules', {
      model_id: 'backdoored',
      dataset_ids: [canaries.body.id],
      cron: '*/2 * * * * *',
    });
    assert.equal(schedule.status, 201, JSON.stringify(schedule.body));

    // An alert out, from the alerter, signed.
    const hook = await eventually(async () => receiver.at('/hook')[0], 180_000, 250);
    const signature = createHmac('sha256', SECRET)
      .update(`${String(hook.headers['x-tripline-timestamp'])}.${hook.raw}`)
      .digest('hex');
    assert.equal(hook.headers['x-tripline-signature'], `sha256=${signature}`);
    const body = hook.json as { alerts: { model_id: string; state: string }[] };
    assert.equal(body.alerts[0].model_id, 'backdoored');
    assert.equal(body.alerts[0].state, 'firing');

    const runs = await call<{ items: { trigger: string; status: string }[] }>(
      apps.api,
      'GET',
      '/v1/evaluations?model_id=backdoored',
    );
    assert.ok(runs.body.items.some((run) => run.trigger === 'schedule' && run.status === 'succeeded'));
    // The evaluation result also reached ClickHouse, through the one sink.
    await eventually(
      async () => ((await rowsWritten(apps.ingestor, 'eval_runs')) >= 1 ? true : undefined),
      60_000,
      250,
    );
  });
});
