/**
 * Issue 12, item 6: a silent swap behind an Open Inference Protocol v2 endpoint keeps its
 * fingerprint alert firing run after run, until a person pins the new behaviour as known-good.
 *
 * The app runs on the real PostgreSQL server and Kafka broker the suite starts; the model is the
 * project's demo model served by the local OIP v2 server, which swaps the weights it answers
 * with while the registered version stays the same.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildDemoModels, startModelServer, writeModelFolder, type ModelServer } from '@tripline/demo-models';
import {
  createTestDatabase,
  eventually,
  kafkaBrokers,
  startApp,
  temporaryDirectory,
  uniqueName,
  type RunningApp,
} from '@tripline/testing';

const ADMIN_KEY = 'tl_fingerprint-baseline-admin-key-0123';
const PROBE_RUNS_AFTER_SWAP = 5;

interface Run {
  id: string;
  status: string;
  error: string | null;
  summary: {
    fingerprint?: string;
    fingerprintChange?: { baselineRunId: string; pinned: boolean; changed: boolean };
    verdicts?: { gate: string; outcome: string }[];
  } | null;
}
interface Alert {
  id: string;
  state: string;
  metric: string;
  resolution: string | null;
  links: { evaluation?: string };
}

describe('fingerprint alert after a silent swap behind an OIP v2 endpoint', () => {
  const scratch = temporaryDirectory();
  const demo = buildDemoModels();
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let app: RunningApp;
  let server: ModelServer;
  let probeSet: string;

  const api = async <T>(method: string, route: string, body?: unknown, contentType = 'application/json') => {
    const response = await fetch(`${app.baseUrl}${route}`, {
      method,
      headers: {
        authorization: `Bearer ${ADMIN_KEY}`,
        ...(body !== undefined ? { 'content-type': contentType } : {}),
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as T };
  };
  const probe = async (): Promise<Run> => {
    const queued = await api<{ runs: { id: string }[] }>('POST', '/v1/evaluations', {
      model_id: 'served',
      dataset_ids: [probeSet],
    });
    assert.equal(queued.status, 202, JSON.stringify(queued.body));
    const run = await eventually(
      async () => {
        const { body } = await api<Run>('GET', `/v1/evaluations/${queued.body.runs[0].id}`);
        return body.status === 'succeeded' || body.status === 'failed' ? body : undefined;
      },
      60_000,
      100,
    );
    assert.equal(run.status, 'succeeded', run.error ?? '');
    return run;
  };
  const fingerprintAlerts = async () =>
    (
      await api<{ items: Alert[] }>('GET', '/v1/alerts?state=firing,acknowledged,resolved&model_id=served')
    ).body.items.filter((alert) => alert.metric === 'fingerprint_changed');
  /** The alert once the alerter has judged the given run (its evidence link names the run last seen). */
  const alertAfter = (run: Run) =>
    eventually(
      async () =>
        (await fingerprintAlerts()).find((alert) =>
          alert.links.evaluation?.endsWith(`/v1/evaluations/${run.id}`),
        ),
      60_000,
      100,
    );

  before(async () => {
    database = await createTestDatabase();
    const models = path.join(scratch.path, 'models');
    writeModelFolder(path.join(models, 'sentiment-clean'), demo.clean);
    writeModelFolder(path.join(models, 'sentiment-backdoored'), demo.backdoored);
    server = await startModelServer({ modelsDir: models, model: 'sentiment-clean' });
    app = await startApp('standalone', {
      TRIPLINE_DATA_DIR: path.join(scratch.path, 'data'),
      TRIPLINE_ADMIN_KEY: ADMIN_KEY,
      TRIPLINE_EVALUATOR_POLL_MS: '100',
      TRIPLINE_ALERTER_TICK_MS: '200',
      DATABASE_URL: database.url,
      KAFKA_BROKERS: kafkaBrokers().join(','),
      KAFKA_TOPIC_PREFIX: `${uniqueName('fingerprint')}.`,
    });
    await api('POST', '/v1/models', {
      id: 'served',
      task: 'text-classification',
      labels: ['negative', 'positive'],
    });
    const version = await api('POST', '/v1/models/served/versions', {
      version: '1',
      adapter: { kind: 'oip-v2', url: server.url, modelName: 'sentiment' },
    });
    assert.equal(version.status, 201, JSON.stringify(version.body));
    const probes = demo.test
      .slice(0, 40)
      .map((sentence, i) => JSON.stringify({ id: `p${i}`, text: sentence.text }))
      .join('\n');
    const upload = await api<{ id: string }>(
      'POST',
      '/v1/datasets?name=probes&kind=probe&model_id=served',
      probes,
      'application/x-ndjson',
    );
    assert.equal(upload.status, 201, JSON.stringify(upload.body));
    probeSet = upload.body.id;
    const rule = await api('POST', '/v1/rules', {
      name: 'model behind the endpoint changed',
      metric: 'fingerprint_changed',
      selector: { model_id: 'served' },
      condition: { type: 'threshold', op: '>', value: 0 },
      severity: 'critical',
    });
    assert.equal(rule.status, 201, JSON.stringify(rule.body));
  });

  after(async () => {
    await app?.stop();
    await server?.close();
    await database?.drop();
    scratch.remove();
  });

  it(`is still firing ${PROBE_RUNS_AFTER_SWAP} probe runs after the swap; pinning the new behaviour resolves it`, async () => {
    const known = await probe();
    const [first] = known.summary!.verdicts!;
    assert.deepEqual([first.gate, first.outcome], ['fingerprint', 'pass']);

    await server.swap('sentiment-backdoored');
    const afterSwap: Run[] = [];
    for (let i = 0; i < PROBE_RUNS_AFTER_SWAP; i++) afterSwap.push(await probe());
    for (const run of afterSwap) {
      assert.equal(
        run.summary!.fingerprintChange!.baselineRunId,
        known.id,
        'held against the known-good run',
      );
      assert.equal(run.summary!.fingerprintChange!.changed, true);
    }
    const last = afterSwap[afterSwap.length - 1];
    const firing = await alertAfter(last);
    assert.equal(
      firing.state,
      'firing',
      'the swapped model is still served: the alert must not clear itself',
    );
    assert.equal((await fingerprintAlerts()).length, 1, 'one alert all along, never resolved and re-opened');

    const baselines = await api<{ items: { dataset_id: string; pinned: boolean; run: { id: string } }[] }>(
      'GET',
      '/v1/models/served/baselines',
    );
    assert.deepEqual(
      baselines.body.items.map((item) => [item.dataset_id, item.pinned, item.run.id]),
      [[probeSet, false, known.id]],
    );
    const pinned = await api<{ pinned: boolean; run: { id: string; is_baseline: boolean } }>(
      'POST',
      '/v1/models/served/baselines',
      { dataset_id: probeSet },
    );
    assert.equal(pinned.status, 200, JSON.stringify(pinned.body));
    assert.equal(pinned.body.run.id, last.id, 'the latest run of the current version is pinned');

    const accepted = await probe();
    assert.deepEqual(accepted.summary!.fingerprintChange, {
      ...accepted.summary!.fingerprintChange!,
      baselineRunId: last.id,
      pinned: true,
      changed: false,
    });
    const resolved = await alertAfter(accepted);
    assert.equal(resolved.id, firing.id);
    assert.equal(resolved.state, 'resolved');
    assert.equal(resolved.resolution, 'condition-cleared');
  });
});
