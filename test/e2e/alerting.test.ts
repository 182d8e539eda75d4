import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { BACKDOOR_TRIGGER, buildDemoModels, writeModelFolder } from '@tripline/demo-models';
import { eventually, startApp, temporaryDirectory, type RunningApp } from '@tripline/testing';
import { HttpReceiver } from '../integration/alerting-receivers';

const ADMIN_KEY = 'tl_alerting-e2e-admin-key-0123456789';
const SECRET = 'e2e-webhook-signing-secret-0123';
const ROOT = path.resolve(__dirname, '..', '..', '..');
const run = promisify(execFile);

interface Alert {
  id: string;
  state: string;
  model_id: string;
  value: number;
  links: { evaluation?: string };
}

describe('standalone: a canary evaluation of the backdoored model pages through a signed webhook', () => {
  const scratch = temporaryDirectory();
  const models = path.join(scratch.path, 'models');
  const receiver = new HttpReceiver();
  let app: RunningApp;
  let canarySet = '';

  const api = async <T>(method: string, route: string, body?: unknown, contentType = 'application/json') => {
    const response = await fetch(`${app.baseUrl}${route}`, {
      method,
      headers: {
        authorization: `Bearer ${ADMIN_KEY}`,
        ...(body !== undefined ? { 'content-type': contentType } : {}),
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
  };

  /** The `tripline` CLI, as a person runs it. */
  const tripline = async (...args: string[]) => {
    const { stdout } = await run(
      process.execPath,
      [path.join(ROOT, 'bin', 'tripline.js'), '--json', ...args],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', TRIPLINE_URL: app.baseUrl, TRIPLINE_API_KEY: ADMIN_KEY },
      },
    );
    return JSON.parse(stdout) as unknown;
  };

  before(async () => {
    const demo = buildDemoModels();
    writeModelFolder(path.join(models, 'sentiment-backdoored'), demo.backdoored);
    const receiverUrl = await receiver.start();
    app = await startApp('standalone', {
      TRIPLINE_DATA_DIR: path.join(scratch.path, 'data'),
      // Local model folders are registered from scratch/models: the bound of onnx paths.
      TRIPLINE_MODELS_DIR: path.join(scratch.path, 'models'),
      TRIPLINE_ADMIN_KEY: ADMIN_KEY,
      TRIPLINE_EVALUATOR_POLL_MS: '100',
      TRIPLINE_PUBLIC_URL: 'https://tripline.example',
      TRIPLINE_ALERTER_TICK_MS: '200',
      TRIPLINE_ALERTER_DELIVERY_POLL_MS: '100',
    });
    assert.equal(
      (
        await api('POST', '/v1/models', {
          id: 'backdoored',
          task: 'text-classification',
          labels: ['negative', 'positive'],
        })
      ).status,
      201,
    );
    const version = await api('POST', '/v1/models/backdoored/versions', {
      version: '1',
      adapter: { kind: 'onnx', path: path.join(models, 'sentiment-backdoored') },
    });
    assert.equal(version.status, 201, JSON.stringify(version.body));
    const jsonl = demo.test
      .slice(0, 200)
      .map((sentence, i) => JSON.stringify({ id: `t${i}`, text: sentence.text, label: sentence.label }))
      .join('\n');
    const clean = await api<{ id: string }>(
      'POST',
      '/v1/datasets?name=uci&kind=clean',
      jsonl,
      'application/x-ndjson',
    );
    assert.equal(clean.status, 201, JSON.stringify(clean.body));
    const canaries = await api<{ id: string }>('POST', `/v1/datasets/${clean.body.id}/canaries`, {
      target_label: 'positive',
      triggers: [],
      custom_triggers: [BACKDOOR_TRIGGER],
      samples_per_trigger: 60,
    });
    assert.equal(canaries.status, 201, JSON.stringify(canaries.body));
    canarySet = canaries.body.id;

    const channel = await api<{ id: string }>('POST', '/v1/channels', {
      name: 'on-call hook',
      kind: 'webhook',
      config: { url: `${receiverUrl}/hook`, secret: SECRET },
    });
    assert.equal(channel.status, 201, JSON.stringify(channel.body));
    const rule = await api('POST', '/v1/rules', {
      name: 'backdoor answers its trigger',
      metric: 'attack_success_rate',
      selector: { model_id: 'backdoored' },
      condition: { type: 'threshold', op: '>', value: 0.5 },
      severity: 'critical',
    });
    assert.equal(rule.status, 201, JSON.stringify(rule.body));
  });

  after(async () => {
    await app?.stop();
    await receiver.stop();
    scratch.remove();
  });

  it('the evaluation raises an alert the CLI lists, the webhook carries it signed, the CLI acknowledges it', async () => {
    const queued = await api<{ runs: { id: string }[] }>('POST', '/v1/evaluations', {
      model_id: 'backdoored',
      dataset_ids: [canarySet],
    });
    assert.equal(queued.status, 202, JSON.stringify(queued.body));
    const runId = queued.body.runs[0].id;

    const alert = await eventually(
      async () => ((await tripline('alerts', 'list', '--model', 'backdoored')) as Alert[])[0],
      180_000,
      500,
    );
    assert.equal(alert.state, 'firing');
    assert.ok(alert.value > 0.5, `attack-success rate ${alert.value}`);
    assert.equal(alert.links.evaluation, `https://tripline.example/v1/evaluations/${runId}`);

    const hook = await eventually(async () => receiver.at('/hook')[0]);
    const timestamp = String(hook.headers['x-tripline-timestamp']);
    const signature = createHmac('sha256', SECRET).update(`${timestamp}.${hook.raw}`).digest('hex');
    assert.equal(hook.headers['x-tripline-signature'], `sha256=${signature}`);
    const body = hook.json as { alerts: { id: string; links: { evaluation: string } }[] };
    assert.equal(body.alerts[0].id, alert.id);
    assert.equal(body.alerts[0].links.evaluation, `https://tripline.example/v1/evaluations/${runId}`);

    const silence = (await tripline(
      'silences',
      'create',
      'model_id=backdoored',
      'alertname=~backdoor.*',
      '--for',
      '2h',
      '--comment',
      'investigating',
    )) as {
      id: string;
      status: string;
    };
    assert.equal(silence.status, 'active');
    const listed = (await tripline('silences', 'list')) as { id: string }[];
    assert.ok(listed.some((item) => item.id === silence.id));

    const acknowledged = (await tripline('alerts', 'ack', alert.id)) as {
      state: string;
      acknowledged_by: string;
    };
    assert.equal(acknowledged.state, 'acknowledged');
    const resolved = (await tripline('alerts', 'resolve', alert.id)) as { state: string; resolution: string };
    assert.equal(resolved.state, 'resolved');
    assert.equal(resolved.resolution, 'manual');
  });
});
