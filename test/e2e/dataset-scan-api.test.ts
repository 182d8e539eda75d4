import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BACKDOOR_TRIGGER, buildDemoModels, writeModelFolder } from '@tripline/demo-models';
import { buildManifest, generateSigningKeyPair, signManifest } from '@tripline/supply-chain';
import { settledManifest, startApp, temporaryDirectory, type RunningApp } from '@tripline/testing';

const ADMIN_KEY = 'tl_dataset-scan-e2e-admin-key-0123';

interface ScanReport {
  rows: number;
  suspicious: number;
  dataset_id: string;
  model_id: string | null;
  representation: { kind: string; source: string };
  sources: { source: string; rows: number; suspicious: number }[];
  top: { line: number; text: string; suspicious: boolean; reasons: { detector: string; reason: string }[] }[];
  skipped: { count: number };
}

describe('POST /v1/scans {type: "dataset"} on the standalone app', () => {
  const scratch = temporaryDirectory();
  const folder = path.join(scratch.path, 'models', 'sentiment-clean');
  const demo = buildDemoModels({ poisonShare: 0.03 });
  let app: RunningApp;
  let datasetId: string;

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
      type,
      headers: response.headers,
      text,
      body: (type.includes('json') && text ? JSON.parse(text) : undefined) as T,
    };
  };

  before(async () => {
    writeModelFolder(folder, demo.clean);
    app = await startApp('standalone', {
      TRIPLINE_DATA_DIR: path.join(scratch.path, 'data'),
      // Local model folders are registered from scratch/models: the bound of onnx paths.
      TRIPLINE_MODELS_DIR: path.join(scratch.path, 'models'),
      TRIPLINE_ADMIN_KEY: ADMIN_KEY,
      TRIPLINE_ARTEFACT_VERIFY_MS: '0',
    });
    const poisoned = new Set(demo.poisonedTrain.poisonedIndices);
    // The upload format keeps per-row provenance in metadata.source.
    const jsonl = demo.poisonedTrain.rows
      .map((row, i) =>
        JSON.stringify({
          text: row.text,
          label: row.label,
          metadata: { source: poisoned.has(i) ? 'vendor-x' : row.domain },
        }),
      )
      .join('\n');
    const upload = await api<{ id: string }>(
      'POST',
      '/v1/datasets?name=fine-tune&kind=clean&source=vendors',
      jsonl,
      'application/x-ndjson',
    );
    assert.equal(upload.status, 201, upload.text);
    datasetId = upload.body.id;
  });

  after(async () => {
    await app?.stop();
    scratch.remove();
  });

  it('answers the report in the request: the 72 poisoned rows are suspicious and their vendor stands out', async () => {
    const scan = await api<ScanReport>('POST', '/v1/scans', { type: 'dataset', dataset_id: datasetId });
    assert.equal(scan.status, 200, scan.text);
    assert.equal(scan.body.rows, 2_400);
    assert.equal(scan.body.suspicious, 72);
    assert.equal(scan.body.model_id, null);
    assert.equal(scan.body.representation.kind, 'hashing');
    assert.deepEqual(
      { source: scan.body.sources[0].source, suspicious: scan.body.sources[0].suspicious },
      { source: 'vendor-x', suspicious: 72 },
    );
    assert.ok(scan.body.top.slice(0, 72).every((row) => row.text.includes(BACKDOOR_TRIGGER)));
  });

  it('represents rows by a registered onnx model, and serves the HTML report', async () => {
    assert.equal(
      (
        await api('POST', '/v1/models', {
          id: 'reference',
          task: 'text-classification',
          labels: ['negative', 'positive'],
        })
      ).status,
      201,
    );
    const version = await api<{ manifest_state: string }>('POST', '/v1/models/reference/versions', {
      version: '1',
      adapter: { kind: 'onnx', path: folder },
    });
    assert.equal(version.status, 201, version.text);
    assert.equal(version.body.manifest_state, 'pending', 'the folder is hashed after the answer');
    const settled = await settledManifest(app.baseUrl, ADMIN_KEY, 'reference', '1');
    assert.equal(settled.manifest_state, 'ready', settled.manifest_error ?? '');
    assert.equal(settled.manifest?.files.length, 6, 'a manifest is computed after registration');
    const scan = await api<ScanReport>('POST', '/v1/scans', {
      type: 'dataset',
      dataset_id: datasetId,
      model_id: 'reference',
      top: 10,
    });
    assert.equal(scan.status, 200, scan.text);
    assert.equal(scan.body.representation.kind, 'given');
    assert.match(scan.body.representation.source, /model reference version 1/);
    assert.equal(scan.body.top.length, 10);
    assert.equal(scan.body.suspicious, 72);

    const html = await api('POST', '/v1/scans?format=html', { type: 'dataset', dataset_id: datasetId });
    assert.equal(html.status, 200);
    assert.match(html.type, /^text\/html/);
    assert.match(html.text, /72 suspicious row\(s\)/);
    // The report quotes uploaded rows: like the evidence pack, the browser is told to run nothing.
    assert.match(html.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    assert.equal(html.headers.get('x-content-type-options'), 'nosniff');
  });

  it('a signed manifest the folder does not match ends failed with the file named; the right one becomes ready', async () => {
    const keys = generateSigningKeyPair();
    const manifest = signManifest(await buildManifest(folder), keys.privateKeyPem);
    const wrong = {
      ...manifest,
      files: manifest.files.map((file) =>
        file.path === 'config.json' ? { ...file, bytes: 1, sha256: 'f'.repeat(64) } : file,
      ),
    };
    const refused = await api('POST', '/v1/models/reference/versions', {
      version: '2',
      adapter: { kind: 'onnx', path: folder },
      manifest: wrong,
      activate: false,
    });
    assert.equal(refused.status, 201, refused.text);
    const failed = await settledManifest(app.baseUrl, ADMIN_KEY, 'reference', '2');
    assert.equal(failed.manifest_state, 'failed');
    assert.match(
      failed.manifest_error ?? '',
      /model folder .* does not match its manifest .*config\.json: expected sha256 f{64}/,
    );
    const accepted = await api('POST', '/v1/models/reference/versions', {
      version: '3',
      adapter: { kind: 'onnx', path: folder },
      manifest,
    });
    assert.equal(accepted.status, 201, accepted.text);
    const ready = await settledManifest(app.baseUrl, ADMIN_KEY, 'reference', '3');
    assert.equal(ready.manifest_state, 'ready', ready.manifest_error ?? '');
    assert.equal(ready.manifest?.signature?.keyId, keys.keyId);
  });

  it('refuses to load a model whose folder changed since registration (409, naming the file)', async () => {
    appendFileSync(path.join(folder, 'onnx', 'model.onnx'), Buffer.from([0]));
    const scan = await api<{ message: string }>('POST', '/v1/scans', {
      type: 'dataset',
      dataset_id: datasetId,
      model_id: 'reference',
    });
    assert.equal(scan.status, 409, scan.text);
    assert.match(
      scan.body.message,
      /refusing to load the model: .*onnx\/model\.onnx: expected sha256 [0-9a-f]{64}/,
    );
  });

  it('names the scan types, dataset among them, when the type is wrong', async () => {
    const scan = await api<{ message: string | string[] }>('POST', '/v1/scans', {
      type: 'datasets',
      dataset_id: datasetId,
    });
    assert.equal(scan.status, 400);
    const answer = JSON.stringify(scan.body);
    assert.match(answer, /type: expected type \\"trigger\\"/);
    assert.match(answer, /\\"dataset\\" \(scan training data for poisoning\)/);
    assert.match(answer, /\(got \\"datasets\\"\)/);
  });
});
