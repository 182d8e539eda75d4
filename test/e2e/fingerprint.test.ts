import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startModelServer, type ModelServer } from '@tripline/demo-models';
import { buildDemoModels, writeModelFolder } from '@tripline/demo-models';
import { eventually, startApp, temporaryDirectory, type RunningApp } from '@tripline/testing';

const ADMIN_KEY = 'tl_fingerprint-e2e-admin-key-01234';

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

describe('behavioural fingerprint of a model behind an HTTP endpoint', () => {
  const scratch = temporaryDirectory();
  const demo = buildDemoModels();
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
    return eventually(
      async () => {
        const { body } = await api<Run>('GET', `/v1/evaluations/${queued.body.runs[0].id}`);
        return body.status === 'succeeded' || body.status === 'failed' ? body : undefined;
      },
      60_000,
      200,
    );
  };

  before(async () => {
    const models = path.join(scratch.path, 'models');
    writeModelFolder(path.join(models, 'sentiment-clean'), demo.clean);
    writeModelFolder(path.join(models, 'sentiment-backdoored'), demo.backdoored);
    server = await startModelServer({ modelsDir: models, model: 'sentiment-clean' });
    app = await startApp('standalone', {
      TRIPLINE_DATA_DIR: path.join(scratch.path, 'data'),
      TRIPLINE_ADMIN_KEY: ADMIN_KEY,
      TRIPLINE_EVALUATOR_POLL_MS: '100',
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
      .slice(0, 60)
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
  });

  after(async () => {
    await app?.stop();
    await server?.close();
    scratch.remove();
  });

  it('re-running the same model keeps the fingerprint; a silent swap behind the endpoint changes it', async () => {
    const first = await probe();
    assert.equal(first.status, 'succeeded', first.error ?? '');
    assert.match(first.summary!.fingerprint!, /^[0-9a-f]{64}$/);

    const again = await probe();
    assert.equal(again.summary!.fingerprint, first.summary!.fingerprint);
    assert.deepEqual(again.summary!.fingerprintChange, {
      ...again.summary!.fingerprintChange!,
      baselineRunId: first.id,
      pinned: false,
      changed: false,
    });

    await server.swap('sentiment-backdoored');
    const swapped = await probe();
    assert.equal(swapped.status, 'succeeded', swapped.error ?? '');
    assert.notEqual(swapped.summary!.fingerprint, first.summary!.fingerprint);
    assert.equal(swapped.summary!.fingerprintChange!.changed, true);
    assert.equal(
      swapped.summary!.fingerprintChange!.baselineRunId,
      first.id,
      'no version was registered: held against the known-good run of the same version',
    );
    assert.deepEqual(
      swapped.summary!.verdicts!.map((verdict) => [verdict.gate, verdict.outcome]),
      [['fingerprint', 'fail']],
    );
  });
});
