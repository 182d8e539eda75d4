import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { BACKDOOR_TRIGGER, buildDemoModels, writeModelFolder } from '@tripline/demo-models';
import { buildManifest, generateSigningKeyPair, signManifest } from '@tripline/supply-chain';
import { eventually, startApp, temporaryDirectory, type RunningApp } from '@tripline/testing';

const ADMIN_KEY = 'tl_evidence-e2e-admin-key-0123456789';
const ROOT = path.resolve(__dirname, '..', '..', '..');
const run = promisify(execFile);

/** Strings a hostile registrant could put wherever the pack shows text. */
const HOSTILE_NAME = '<script>alert("pwned")</script>';
const HOSTILE_DESCRIPTION =
  'sentiment <img src=x onerror=alert(1)> "><script src=//evil.example/x.js></script>';
const HOSTILE_SOURCE = 'uci-sentiment@5.0.2 <ScRiPt>document.cookie</ScRiPt>';
const HOSTILE_RULE = '<script>rule()</script> backdoor answers its trigger';

interface Pack {
  format: string;
  model: Record<string, unknown>;
  posture: { worst_canary: { gate: string; attack_success_rate: number } | null };
  sections: {
    evaluations: {
      total: number;
      succeeded: number;
      items: {
        kind: string;
        status: string;
        dataset_name: string;
        version: string;
        metrics: Record<string, number>;
      }[];
    };
    alerts: {
      total: number;
      items: { rule: string; state: string; metric: string; value: number; severity: string }[];
    };
    datasets: {
      items: {
        id: string;
        name: string;
        kind: string;
        source: string;
        uploaded_by: string;
        uploaded_at: string;
        sha256: string;
        generated_from: string | null;
        used_by_runs: number;
      }[];
    };
    manifests: {
      signed: number;
      items: {
        version: string;
        current: boolean;
        manifest: { files: number; digest_sha256: string; signature: { keyId: string; algorithm: string } };
      }[];
    };
    verifications: { items: { kind: string; outcome: string; version: string }[] };
    monitoring: { schedules: unknown[]; rules: { name: string; scope: string }[] };
  };
  frameworks: {
    id: string;
    controls: {
      id: string;
      status: string;
      evidence: { section: string; detail: string }[];
      gaps: string[];
    }[];
  }[];
}

describe('evidence pack of a model after its evaluations', () => {
  const scratch = temporaryDirectory();
  const models = path.join(scratch.path, 'models');
  let app: RunningApp;
  let cleanSet: { id: string; provenance: { sha256: string } };
  let keyId = '';

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
    const type = response.headers.get('content-type') ?? '';
    return {
      status: response.status,
      headers: response.headers,
      body: (type.includes('json') ? JSON.parse(text) : text) as T,
    };
  };

  before(async () => {
    const demo = buildDemoModels();
    const folder = path.join(models, 'sentiment-backdoored');
    writeModelFolder(folder, demo.backdoored);
    const keys = generateSigningKeyPair();
    keyId = keys.keyId;
    const manifest = signManifest(await buildManifest(folder), keys.privateKeyPem);
    app = await startApp('standalone', {
      TRIPLINE_DATA_DIR: path.join(scratch.path, 'data'),
      // Local model folders are registered from scratch/models: the bound of onnx paths.
      TRIPLINE_MODELS_DIR: path.join(scratch.path, 'models'),
      TRIPLINE_ADMIN_KEY: ADMIN_KEY,
      TRIPLINE_DEMO: 'false',
      TRIPLINE_EVALUATOR_POLL_MS: '100',
      TRIPLINE_ALERTER_TICK_MS: '200',
    });
    const created = await api('POST', '/v1/models', {
      id: 'backdoored',
      name: HOSTILE_NAME,
      description: HOSTILE_DESCRIPTION,
      owner: '"><svg onload=alert(1)>',
      task: 'text-classification',
      labels: ['negative', 'positive'],
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const version = await api('POST', '/v1/models/backdoored/versions', {
      version: '1',
      adapter: { kind: 'onnx', path: folder },
      manifest,
    });
    assert.equal(version.status, 201, JSON.stringify(version.body));
    const jsonl = demo.test
      .slice(0, 200)
      .map((sentence, i) => JSON.stringify({ id: `t${i}`, text: sentence.text, label: sentence.label }))
      .join('\n');
    const upload = await api<typeof cleanSet>(
      'POST',
      `/v1/datasets?name=${encodeURIComponent('uci <b>test</b>')}&kind=clean&source=${encodeURIComponent(HOSTILE_SOURCE)}`,
      jsonl,
      'application/x-ndjson',
    );
    assert.equal(upload.status, 201, JSON.stringify(upload.body));
    cleanSet = upload.body;
    const canaries = await api<{ id: string }>('POST', `/v1/datasets/${cleanSet.id}/canaries`, {
      target_label: 'positive',
      triggers: [],
      custom_triggers: [BACKDOOR_TRIGGER],
      samples_per_trigger: 60,
    });
    assert.equal(canaries.status, 201, JSON.stringify(canaries.body));
    const schedule = await api('POST', '/v1/schedules', {
      model_id: 'backdoored',
      dataset_ids: [cleanSet.id, canaries.body.id],
      cron: '0 3 1 1 *',
    });
    assert.equal(schedule.status, 201, JSON.stringify(schedule.body));
    const rule = await api('POST', '/v1/rules', {
      name: HOSTILE_RULE,
      metric: 'attack_success_rate',
      selector: { model_id: 'backdoored' },
      condition: { type: 'threshold', op: '>', value: 0.5 },
      severity: 'critical',
    });
    assert.equal(rule.status, 201, JSON.stringify(rule.body));

    const queued = await api<{ runs: { id: string }[] }>('POST', '/v1/evaluations', {
      model_id: 'backdoored',
      dataset_ids: [cleanSet.id, canaries.body.id],
    });
    assert.equal(queued.status, 202, JSON.stringify(queued.body));
    for (const { id } of queued.body.runs)
      await eventually(
        async () => {
          const { body } = await api<{ status: string }>('GET', `/v1/evaluations/${id}`);
          return body.status === 'succeeded'
            ? true
            : body.status === 'failed'
              ? Promise.reject(body)
              : undefined;
        },
        120_000,
        250,
      );
    // A second clean run is compared with the first as its baseline.
    const again = await api<{ runs: { id: string }[] }>('POST', '/v1/evaluations', {
      model_id: 'backdoored',
      dataset_ids: [cleanSet.id],
    });
    await eventually(async () => {
      const { body } = await api<{ status: string }>('GET', `/v1/evaluations/${again.body.runs[0].id}`);
      return body.status === 'succeeded' || body.status === 'failed' ? true : undefined;
    }, 120_000);
    await eventually(async () => {
      const { body } = await api<{ items: unknown[] }>('GET', '/v1/alerts?model_id=backdoored');
      return body.items.length > 0 ? true : undefined;
    }, 60_000);
  });

  after(async () => {
    await app?.stop();
    scratch.remove();
  });

  it('the JSON has every section with real content, mapped to the three frameworks', async () => {
    const { status, body: pack } = await api<Pack>('GET', '/v1/models/backdoored/evidence');
    assert.equal(status, 200, JSON.stringify(pack));
    assert.equal(pack.format, 'tripline.evidence-pack');
    assert.equal(pack.model.name, HOSTILE_NAME, 'JSON carries the name as registered');

    const evaluations = pack.sections.evaluations;
    assert.equal(evaluations.total, 3);
    assert.equal(evaluations.succeeded, 3);
    const clean = evaluations.items.find((item) => item.kind === 'clean')!;
    const canary = evaluations.items.find((item) => item.kind === 'canary')!;
    assert.ok(clean.metrics.accuracy > 0.7, JSON.stringify(clean));
    assert.equal(clean.dataset_name, 'uci <b>test</b>');
    assert.equal(clean.version, '1');
    assert.ok(canary.metrics.attack_success_rate > 0.5, JSON.stringify(canary));

    const [alert] = pack.sections.alerts.items;
    assert.equal(pack.sections.alerts.total, 1);
    assert.deepEqual(
      { rule: alert.rule, state: alert.state, metric: alert.metric, severity: alert.severity },
      { rule: HOSTILE_RULE, state: 'firing', metric: 'attack_success_rate', severity: 'critical' },
    );
    assert.equal(alert.value, canary.metrics.attack_success_rate);

    const datasets = pack.sections.datasets.items;
    assert.equal(datasets.length, 2);
    const cleanDataset = datasets.find((dataset) => dataset.kind === 'clean')!;
    assert.equal(cleanDataset.source, HOSTILE_SOURCE);
    assert.equal(cleanDataset.sha256, cleanSet.provenance.sha256);
    assert.match(cleanDataset.uploaded_by, /admin/);
    assert.ok(Date.parse(cleanDataset.uploaded_at) > 0);
    assert.equal(cleanDataset.used_by_runs, 2);
    assert.equal(datasets.find((dataset) => dataset.kind === 'canary')!.generated_from, cleanSet.id);

    const [manifest] = pack.sections.manifests.items;
    assert.equal(manifest.current, true);
    assert.ok(manifest.manifest.files >= 3);
    assert.match(manifest.manifest.digest_sha256, /^[0-9a-f]{64}$/);
    assert.deepEqual(manifest.manifest.signature, { keyId, algorithm: 'ed25519' });
    assert.equal(pack.sections.manifests.signed, 1);
    assert.deepEqual(
      pack.sections.verifications.items.map((item) => [item.kind, item.outcome]),
      [
        ['registration', 'recorded'],
        ['load', 'passed'],
      ],
    );
    assert.ok(
      pack.sections.evaluations.items.some((item) => (item as { baseline_run_id?: string }).baseline_run_id),
      'the second clean run names its baseline',
    );
    assert.equal(pack.sections.monitoring.schedules.length, 1);
    assert.deepEqual(
      pack.sections.monitoring.rules.map((rule) => [rule.name, rule.scope]),
      [[HOSTILE_RULE, 'this model']],
    );

    const controls = new Map(
      pack.frameworks.flatMap((framework) => framework.controls.map((control) => [control.id, control])),
    );
    for (const id of [
      'LLM04:2025',
      'LLM03:2025',
      'MEASURE 2.1',
      'MEASURE 2.3',
      'MEASURE 2.5',
      'MEASURE 2.7',
      'MANAGE 2.2',
      'MANAGE 4.1',
      'MANAGE 4.3',
      'Art. 10',
      'Art. 15',
      'Art. 72',
    ]) {
      const control = controls.get(id);
      assert.ok(control, `${id} is mapped`);
      assert.equal(control.status, 'evidenced', `${id}: ${JSON.stringify(control)}`);
      assert.ok(control.evidence.length > 0);
    }
    assert.equal(controls.get('LLM08:2025')!.status, 'not-applicable', 'a classifier has no retrieval');
    assert.match(
      controls
        .get('LLM04:2025')!
        .evidence.map((item) => item.detail)
        .join(' '),
      /1 succeeded canary run\(s\); worst current attack-success rate 0\.\d{3} \(set ".*", trigger ".*", \d{4}-\d\d-\d\d\)/,
    );
    assert.equal(pack.posture.worst_canary!.gate, 'fail', 'the backdoored model fails the headline gate');
  });

  it('the HTML page is self-contained and shows hostile strings as text, never as markup', async () => {
    const {
      status,
      headers,
      body: page,
    } = await api<string>('GET', '/v1/models/backdoored/evidence?format=html');
    assert.equal(status, 200);
    assert.match(headers.get('content-type') ?? '', /text\/html/);
    assert.match(headers.get('content-security-policy') ?? '', /default-src 'none'/);
    const tags = (pattern: RegExp) => page.match(pattern) ?? [];
    assert.deepEqual(tags(/<script/gi), [], 'no script element, whoever wrote the strings');
    assert.deepEqual(tags(/<(img|svg)/gi), []);
    assert.match(page, /uci &lt;b&gt;test&lt;\/b&gt;/);
    assert.deepEqual(tags(/<[a-z][^>]*\s(src|href)\s*=/gi), [], 'no element loads anything from elsewhere');
    assert.match(page, /&lt;script&gt;alert\(&quot;pwned&quot;\)&lt;\/script&gt;/);
    assert.match(page, /&lt;ScRiPt&gt;document\.cookie&lt;\/ScRiPt&gt;/);
    assert.match(page, /&lt;script&gt;rule\(\)&lt;\/script&gt; backdoor answers its trigger/);
    assert.match(page, /<style>/);
    for (const heading of [
      'Framework mapping',
      'Evaluations',
      'Alerts',
      'Dataset provenance',
      'Versions and manifests',
      'Verifications',
    ])
      assert.ok(page.includes(`<h2>${heading}</h2>`), heading);
    assert.match(page, /LLM04:2025/);
    assert.match(page, /MEASURE 2\.7/);
    assert.match(page, /Art\. 72/);
  });

  it('tripline evidence writes the page and prints the JSON', async () => {
    const out = path.join(scratch.path, 'pack.html');
    const env = { PATH: process.env.PATH ?? '', TRIPLINE_URL: app.baseUrl, TRIPLINE_API_KEY: ADMIN_KEY };
    const cli = path.join(ROOT, 'bin', 'tripline.js');
    const written = await run(process.execPath, [cli, 'evidence', 'backdoored', '--out', out], {
      cwd: ROOT,
      env,
    });
    assert.match(written.stdout, /written to/);
    const page = readFileSync(out, 'utf8');
    assert.match(page, /^<!doctype html>/);
    assert.doesNotMatch(page, /<script/i);
    const printed = await run(process.execPath, [cli, '--json', 'evidence', 'backdoored'], {
      cwd: ROOT,
      env,
    });
    assert.equal((JSON.parse(printed.stdout) as Pack).sections.evaluations.total, 3);
    const summary = await run(process.execPath, [cli, 'evidence', 'backdoored'], { cwd: ROOT, env });
    assert.match(summary.stdout, /evidenced\s+LLM04:2025\s+Data and Model Poisoning/);
  });
});
