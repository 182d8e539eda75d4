import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildDemoModels, writeModelFolder } from '@tripline/demo-models';
import { startApp, temporaryDirectory, type RunningApp } from '@tripline/testing';

const ADMIN_KEY = 'tl_cli-e2e-admin-key-0123456789abcd';
const CLI = path.resolve(__dirname, '..', '..', '..', 'bin', 'tripline.js');

describe('tripline CLI against a running standalone app', () => {
  const scratch = temporaryDirectory();
  let app: RunningApp;
  const tripline = (...args: string[]) => {
    const result = spawnSync(process.execPath, [CLI, ...args], {
      env: { ...process.env, TRIPLINE_URL: app.baseUrl, TRIPLINE_API_KEY: ADMIN_KEY },
      encoding: 'utf8',
      timeout: 120_000,
    });
    return { code: result.status, stdout: result.stdout, stderr: result.stderr };
  };

  before(async () => {
    app = await startApp('standalone', {
      TRIPLINE_DATA_DIR: path.join(scratch.path, 'data'),
      // Local model folders are registered from scratch/models: the bound of onnx paths.
      TRIPLINE_MODELS_DIR: path.join(scratch.path, 'models'),
      TRIPLINE_ADMIN_KEY: ADMIN_KEY,
      TRIPLINE_EVALUATOR_POLL_MS: '100',
    });
  });

  after(async () => {
    await app?.stop();
    scratch.remove();
  });

  it('registers a model, uploads a clean set and evaluates it, printing JSON for scripts', () => {
    const demo = buildDemoModels();
    const folder = path.join(scratch.path, 'models', 'sentiment-clean');
    writeModelFolder(folder, demo.clean);
    const file = path.join(scratch.path, 'clean.csv');
    writeFileSync(
      file,
      `text,label\n${demo.test
        .slice(0, 100)
        .map((s) => `"${s.text.replace(/"/g, '""')}",${s.label}`)
        .join('\n')}\n`,
    );

    assert.equal(
      tripline(
        'models',
        'create',
        'cli-model',
        '--task',
        'text-classification',
        '--labels',
        'negative,positive',
      ).code,
      0,
    );
    assert.equal(
      tripline(
        'models',
        'add-version',
        'cli-model',
        '1',
        '--adapter',
        JSON.stringify({ kind: 'onnx', path: folder }),
      ).code,
      0,
    );
    const upload = tripline(
      '--json',
      'datasets',
      'upload',
      file,
      '--name',
      'cli-clean',
      '--kind',
      'clean',
      '--model',
      'cli-model',
    );
    assert.equal(upload.code, 0, upload.stderr);
    assert.equal(JSON.parse(upload.stdout).sample_count, 100);

    const listed = tripline('models', 'list');
    assert.equal(listed.code, 0);
    assert.match(listed.stdout, /^ID\s+TASK/m);
    assert.match(listed.stdout, /cli-model\s+text-classification/);

    const evaluation = tripline('--json', 'evaluate', 'cli-model');
    assert.equal(evaluation.code, 0, evaluation.stderr);
    const [run] = JSON.parse(evaluation.stdout) as { status: string; accuracy: number }[];
    assert.equal(run.status, 'succeeded');
    assert.ok(run.accuracy > 0.6, `accuracy ${run.accuracy}`);
  });

  it('exit codes say what went wrong', () => {
    assert.equal(tripline('models', 'show', 'no-such-model').code, 5);
    const rejected = tripline('models', 'create', 'Bad Id!', '--task', 'text-classification');
    assert.equal(rejected.code, 6);
    assert.match(rejected.stderr, /id: expected 1-63 characters/);
    const unauthorised = spawnSync(process.execPath, [CLI, 'models', 'list'], {
      env: { ...process.env, TRIPLINE_URL: app.baseUrl, TRIPLINE_API_KEY: '' },
      encoding: 'utf8',
    });
    assert.equal(unauthorised.status, 4);
    assert.match(unauthorised.stderr, /TRIPLINE_API_KEY/);
    const unreachable = spawnSync(process.execPath, [CLI, 'models', 'list'], {
      env: { ...process.env, TRIPLINE_URL: 'http://127.0.0.1:9', TRIPLINE_API_KEY: ADMIN_KEY },
      encoding: 'utf8',
    });
    assert.equal(unreachable.status, 3);
    assert.equal(tripline('models', 'frobnicate').code, 2);
  });
});
