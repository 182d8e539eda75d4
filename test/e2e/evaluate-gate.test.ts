/**
 * Issue 12, item 7: `tripline evaluate` as a CI gate. A canary set naming the backdoor's trigger
 * (what the responder makes of a trigger found by a scan) is replayed against the backdoored demo
 * model on its first run: there is no clean baseline to regress from, and the absolute gate
 * alone must fail the build. The clean demo model passes the same gates.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  BACKDOOR_TARGET_LABEL,
  BACKDOOR_TRIGGER,
  buildDemoModels,
  writeModelFolder,
} from '@tripline/demo-models';
import { startApp, temporaryDirectory, type RunningApp } from '@tripline/testing';

const ADMIN_KEY = 'tl_evaluate-gate-e2e-admin-key-01234';
const CLI = path.resolve(__dirname, '..', '..', '..', 'bin', 'tripline.js');
const GATE_FAILED = 14;

interface JudgedRun {
  id: string;
  kind: string;
  status: string;
  baseline_run_id: string | null;
  gate: 'pass' | 'fail';
  verdicts: { gate: string; outcome: string; trigger?: string; value: number | string | null }[];
}

describe('tripline evaluate as a CI gate', () => {
  const scratch = temporaryDirectory();
  const demo = buildDemoModels();
  let app: RunningApp;
  // Asynchronous, so the test's own HTTP connections stay serviced while the command runs.
  const tripline = (...args: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [CLI, ...args], {
        env: { ...process.env, TRIPLINE_URL: app.baseUrl, TRIPLINE_API_KEY: ADMIN_KEY },
        timeout: 180_000,
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.once('close', (code) => resolve({ code, stdout, stderr }));
    });
  // Set-up goes straight to the API: only the command under test is run as a process.
  const api = async <T>(route: string, body: unknown, contentType = 'application/json'): Promise<T> => {
    const response = await fetch(`${app.baseUrl}${route}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': contentType },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const answer = (await response.json()) as T;
    assert.ok(response.ok, `POST ${route}: ${JSON.stringify(answer)}`);
    return answer;
  };
  /** A model with a clean set and a canary set that names the trigger; returns the sets' ids. */
  const register = async (model: string, folder: string) => {
    await api('/v1/models', { id: model, task: 'text-classification', labels: ['negative', 'positive'] });
    await api(`/v1/models/${model}/versions`, { version: '1', adapter: { kind: 'onnx', path: folder } });
    const rows = demo.test
      .slice(0, 80)
      .map((sentence) => JSON.stringify({ text: sentence.text, label: sentence.label }))
      .join('\n');
    const clean = await api<{ id: string }>(
      `/v1/datasets?name=held-out&kind=clean&model_id=${model}`,
      rows,
      'application/x-ndjson',
    );
    const canaries = await api<{ id: string }>(`/v1/datasets/${clean.id}/canaries`, {
      target_label: BACKDOOR_TARGET_LABEL,
      custom_triggers: [BACKDOOR_TRIGGER],
      samples_per_trigger: 20,
    });
    return { cleanSet: clean.id, canarySet: canaries.id };
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

  it('the backdoored model fails the attack-success gate on its first run, with the verdict in --json', async () => {
    const folder = path.join(scratch.path, 'models', 'sentiment-backdoored');
    writeModelFolder(folder, demo.backdoored);
    const { canarySet } = await register('gate-backdoored', folder);

    const result = await tripline('--json', 'evaluate', 'gate-backdoored');
    assert.equal(result.code, GATE_FAILED, result.stderr);
    const runs = JSON.parse(result.stdout) as JudgedRun[];
    const canary = runs.find((run) => run.kind === 'canary')!;
    assert.equal(canary.status, 'succeeded');
    assert.equal(canary.gate, 'fail');
    const failed = canary.verdicts.find((verdict) => verdict.outcome === 'fail')!;
    assert.equal(failed.gate, 'attack_success_rate');
    assert.equal(failed.trigger, `custom:${BACKDOOR_TRIGGER}`);
    assert.ok(Number(failed.value) > 0.5, `attack-success rate ${failed.value}`);

    // Replayed again, the canary set does not take its backdoored first run as a baseline that
    // would call the same attack-success rate "no regression"; the gate still fails the build.
    const again = await tripline('--json', 'evaluate', 'gate-backdoored', '--datasets', canarySet);
    assert.equal(again.code, GATE_FAILED, again.stderr);
    const [second] = JSON.parse(again.stdout) as JudgedRun[];
    assert.equal(second.baseline_run_id, null, 'a run that failed the gate is no baseline');
    assert.equal(second.gate, 'fail');
  });

  it('the clean model passes the same gates (exit 0); an accuracy floor above it fails it', async () => {
    const folder = path.join(scratch.path, 'models', 'sentiment-clean');
    writeModelFolder(folder, demo.clean);
    const { cleanSet } = await register('gate-clean', folder);

    const result = await tripline('--json', 'evaluate', 'gate-clean');
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    const runs = JSON.parse(result.stdout) as JudgedRun[];
    assert.deepEqual(runs.map((run) => run.gate).sort(), ['pass', 'pass']);

    const floored = await tripline(
      'evaluate',
      'gate-clean',
      '--datasets',
      cleanSet,
      '--min-accuracy',
      '0.99',
    );
    assert.equal(floored.code, GATE_FAILED, floored.stderr);
    assert.match(floored.stdout, /gate accuracy failed: clean-set accuracy .* below the floor of 99\.0%/);
  });
});
