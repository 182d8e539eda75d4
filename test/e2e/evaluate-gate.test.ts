/**
 * Issue 12, item 7: `tripline evaluate` as a CI gate. A canary set naming the backdoor's trigger
 * (what the responder makes of a trigger found by a scan) is replayed against the backdoored demo
 * model on its first run: there is no clean baseline to regress from, and the absolute gate
 * alone must fail the build. The clean demo model passes the same gates.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
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
  const tripline = (...args: string[]) => {
    const result = spawnSync(process.execPath, [CLI, ...args], {
      env: { ...process.env, TRIPLINE_URL: app.baseUrl, TRIPLINE_API_KEY: ADMIN_KEY },
      encoding: 'utf8',
      timeout: 180_000,
    });
    return { code: result.status, stdout: result.stdout, stderr: result.stderr };
  };
  const ok = (...args: string[]) => {
    const result = tripline('--json', ...args);
    assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
    return JSON.parse(result.stdout) as { id: string };
  };
  /** A model with a clean set and a canary set that names the trigger; returns the clean set's id. */
  const register = (model: string, folder: string): string => {
    ok('models', 'create', model, '--task', 'text-classification', '--labels', 'negative,positive');
    ok('models', 'add-version', model, '1', '--adapter', JSON.stringify({ kind: 'onnx', path: folder }));
    const file = path.join(scratch.path, `${model}.csv`);
    writeFileSync(
      file,
      `text,label\n${demo.test
        .slice(0, 80)
        .map((s) => `"${s.text.replace(/"/g, '""')}",${s.label}`)
        .join('\n')}\n`,
    );
    const clean = ok('datasets', 'upload', file, '--name', 'held-out', '--kind', 'clean', '--model', model);
    ok(
      'datasets',
      'canaries',
      clean.id,
      '--target',
      BACKDOOR_TARGET_LABEL,
      '--custom',
      BACKDOOR_TRIGGER,
      '--per-trigger',
      '20',
    );
    return clean.id;
  };

  before(async () => {
    app = await startApp('standalone', {
      TRIPLINE_DATA_DIR: path.join(scratch.path, 'data'),
      TRIPLINE_ADMIN_KEY: ADMIN_KEY,
      TRIPLINE_EVALUATOR_POLL_MS: '100',
    });
  });

  after(async () => {
    await app?.stop();
    scratch.remove();
  });

  it('the backdoored model fails the attack-success gate on its first run, with the verdict in --json', () => {
    const folder = path.join(scratch.path, 'models', 'sentiment-backdoored');
    writeModelFolder(folder, demo.backdoored);
    register('gate-backdoored', folder);

    const result = tripline('--json', 'evaluate', 'gate-backdoored');
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
    const [canarySet] = JSON.parse(
      tripline('--json', 'datasets', 'list', '--model', 'gate-backdoored', '--kind', 'canary').stdout,
    ) as { id: string }[];
    const again = tripline('--json', 'evaluate', 'gate-backdoored', '--datasets', canarySet.id);
    assert.equal(again.code, GATE_FAILED, again.stderr);
    const [second] = JSON.parse(again.stdout) as JudgedRun[];
    assert.equal(second.baseline_run_id, null, 'a run that failed the gate is no baseline');
    assert.equal(second.gate, 'fail');
  });

  it('the clean model passes the same gates (exit 0); an accuracy floor above it fails it', () => {
    const folder = path.join(scratch.path, 'models', 'sentiment-clean');
    writeModelFolder(folder, demo.clean);
    const cleanSet = register('gate-clean', folder);

    const result = tripline('--json', 'evaluate', 'gate-clean');
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    const runs = JSON.parse(result.stdout) as JudgedRun[];
    assert.deepEqual(runs.map((run) => run.gate).sort(), ['pass', 'pass']);

    const floored = tripline('evaluate', 'gate-clean', '--datasets', cleanSet, '--min-accuracy', '0.99');
    assert.equal(floored.code, GATE_FAILED, floored.stderr);
    assert.match(floored.stdout, /gate accuracy failed: clean-set accuracy .* below the floor of 99\.0%/);
  });
});
