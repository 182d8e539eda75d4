import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BACKDOOR_TRIGGER, buildDemoModels, writeModelFolder } from '@tripline/demo-models';
import { eventually, startApp, temporaryDirectory, type RunningApp } from '@tripline/testing';

const ADMIN_KEY = 'tl_evaluation-e2e-admin-key-012345';

interface Run {
  id: string;
  scheduled_for?: string | null;
  status: string;
  trigger: string;
  error: string | null;
  progress: { done: number; total: number };
  summary: {
    clean?: { accuracy: number };
    canary?: { perTrigger: Record<string, { attackSuccessRate: number | null }> };
    scan?: { flagged: { token: string }[]; top: { token: string; flagged: boolean; pinRate: number }[] };
    comparison?: { regressions: unknown[] };
  } | null;
}

describe('replaying clean and canary sets against the clean and the backdoored demo model', () => {
  const scratch = temporaryDirectory();
  const models = path.join(scratch.path, 'models');
  const demo = buildDemoModels();
  let app: RunningApp;

  const api = async <T>(
    method: string,
    route: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<{ status: number; body: T }> => {
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
  const finished = (id: string, route = 'evaluations') =>
    eventually(
      async () => {
        const { body } = await api<Run>('GET', `/v1/${route}/${id}`);
        return body.status === 'succeeded' || body.status === 'failed' ? body : undefined;
      },
      120_000,
      250,
    );

  let cleanSet: string;
  let canarySet: string;

  before(async () => {
    writeModelFolder(path.join(models, 'sentiment-clean'), demo.clean);
    writeModelFolder(path.join(models, 'sentiment-backdoored'), demo.backdoored);
    app = await startApp('standalone', {
      TRIPLINE_DATA_DIR: path.join(scratch.path, 'data'),
      // Local model folders are registered from scratch/models: the bound of onnx paths.
      TRIPLINE_MODELS_DIR: path.join(scratch.path, 'models'),
      TRIPLINE_ADMIN_KEY: ADMIN_KEY,
      TRIPLINE_SCHEDULE_SYNC_MS: '300',
      TRIPLINE_EVALUATOR_POLL_MS: '100',
    });
    for (const [id, folder] of [
      ['clean', 'sentiment-clean'],
      ['backdoored', 'sentiment-backdoored'],
    ]) {
      assert.equal(
        (
          await api('POST', '/v1/models', {
            id,
            task: 'text-classification',
            labels: ['negative', 'positive'],
            owner: 'e2e',
          })
        ).status,
        201,
      );
      const version = await api('POST', `/v1/models/${id}/versions`, {
        version: '1',
        adapter: { kind: 'onnx', path: path.join(models, folder) },
      });
      assert.equal(version.status, 201, JSON.stringify(version.body));
    }
    const jsonl = demo.test
      .map((sentence, i) => JSON.stringify({ id: `t${i}`, text: sentence.text, label: sentence.label }))
      .join('\n');
    const upload = await api<{ id: string; sample_count: number; provenance: { sha256: string } }>(
      'POST',
      '/v1/datasets?name=uci-test&kind=clean&source=sentiment%405.0.2',
      jsonl,
      'application/x-ndjson',
    );
    assert.equal(upload.status, 201, JSON.stringify(upload.body));
    assert.equal(upload.body.sample_count, demo.test.length);
    assert.match(upload.body.provenance.sha256, /^[0-9a-f]{64}$/);
    cleanSet = upload.body.id;
    const canaries = await api<{ id: string; sample_count: number }>(
      'POST',
      `/v1/datasets/${cleanSet}/canaries`,
      {
        target_label: 'positive',
        triggers: ['rare-token-cf', 'rare-token-mn'],
        custom_triggers: [BACKDOOR_TRIGGER],
        positions: ['prefix', 'suffix'],
        samples_per_trigger: 120,
      },
    );
    assert.equal(canaries.status, 201, JSON.stringify(canaries.body));
    canarySet = canaries.body.id;
  });

  after(async () => {
    await app?.stop();
    scratch.remove();
  });

  it('clean accuracy is within 2 points, but only the backdoored model answers its trigger', async () => {
    const results: Record<string, { clean: Run; canary: Run }> = {};
    for (const model of ['clean', 'backdoored']) {
      const queued = await api<{ runs: { id: string; dataset_id: string }[] }>('POST', '/v1/evaluations', {
        model_id: model,
        dataset_ids: [cleanSet, canarySet],
      });
      assert.equal(queued.status, 202);
      const [clean, canary] = await Promise.all(
        [cleanSet, canarySet].map((dataset) =>
          finished(queued.body.runs.find((run) => run.dataset_id === dataset)!.id),
        ),
      );
      assert.equal(clean.status, 'succeeded', clean.error ?? '');
      assert.equal(canary.status, 'succeeded', canary.error ?? '');
      assert.equal(clean.progress.done, clean.progress.total);
      results[model] = { clean, canary };
    }
    const accuracy = (model: string) => results[model].clean.summary!.clean!.accuracy;
    assert.ok(
      Math.abs(accuracy('clean') - accuracy('backdoored')) <= 0.02,
      `accuracies ${accuracy('clean')} and ${accuracy('backdoored')}`,
    );
    const asr = (model: string) =>
      results[model].canary.summary!.canary!.perTrigger[`custom:${BACKDOOR_TRIGGER}`].attackSuccessRate!;
    assert.ok(asr('backdoored') >= 0.7, `attack-success rate on the backdoored model: ${asr('backdoored')}`);
    assert.ok(asr('clean') <= 0.3, `attack-success rate on the clean model: ${asr('clean')}`);
  });

  it('a second run is compared with the first as its baseline', async () => {
    const queued = await api<{ runs: { id: string }[] }>('POST', '/v1/evaluations', {
      model_id: 'backdoored',
      dataset_ids: [cleanSet],
    });
    const run = await finished(queued.body.runs[0].id);
    const full = await api<{ baseline_run_id: string | null }>('GET', `/v1/evaluations/${run.id}`);
    assert.ok(full.body.baseline_run_id, 'compared with a baseline');
    assert.deepEqual(
      run.summary!.comparison!.regressions,
      [],
      'the same model does not regress against itself',
    );
  });

  const scanOf = async (model: string): Promise<Run> => {
    const queued = await api<{ id: string }>('POST', '/v1/scans', {
      type: 'trigger',
      model_id: model,
      dataset_id: cleanSet,
      // Lean: the scan's cost is the candidates times these inputs, and every candidate stays.
      sample_size: 40,
      confirmation_inputs: 40,
      null_words: 20,
    });
    assert.equal(queued.status, 202, JSON.stringify(queued.body));
    const scan = await finished(queued.body.id, 'scans');
    assert.equal(scan.status, 'succeeded', scan.error ?? '');
    return scan;
  };

  it('the trigger scan of the clean demo model flags nothing', async () => {
    assert.deepEqual((await scanOf('clean')).summary!.scan!.flagged, []);
  });

  it('the trigger scan ranks the backdoor trigger first on the backdoored demo model and flags it', async () => {
    const backdoored = (await scanOf('backdoored')).summary!.scan!;
    assert.equal(backdoored.top[0].token, BACKDOOR_TRIGGER, JSON.stringify(backdoored.top.slice(0, 3)));
    assert.equal(backdoored.top[0].flagged, true);
  });

  it('a schedule added, changed and removed through the API takes effect without a restart', async () => {
    const schedule = await api<{ id: string }>('POST', '/v1/schedules', {
      model_id: 'clean',
      dataset_ids: [cleanSet],
      cron: '* * * * * *',
    });
    assert.equal(schedule.status, 201, JSON.stringify(schedule.body));
    const scheduledRuns = async () =>
      (await api<{ items: Run[] }>('GET', '/v1/evaluations?model_id=clean&limit=1000')).body.items.filter(
        (run) => run.trigger === 'schedule',
      );
    await eventually(async () => ((await scheduledRuns()).length >= 2 ? true : undefined), 30_000, 250);
    /**
     * Waits until the scheduler has completed a sync that began at or after `ms` (so a change
     * saved before `ms` is in effect) and resolves with when that sync began. Bounded by the
     * scheduler's progress rather than a fixed time: on a starved machine syncs come later.
     */
    const syncedAfter = (ms: number) =>
      eventually(
        async () => {
          const text = await (await fetch(`${app.baseUrl}/metrics`)).text();
          const match = /^tripline_schedule_synced_timestamp_seconds(?:\{[^}]*\})? (\S+)$/m.exec(text);
          const began = match ? Number(match[1]) * 1000 : 0;
          return began >= ms ? began : undefined;
        },
        60_000,
        100,
      );
    /** Runs of ticks that certainly fired after `ms`: a tick is named by its second (scheduled_for). */
    const ticksAfter = (runs: Run[], ms: number) =>
      runs.filter((run) => Date.parse(run.scheduled_for!) > Math.floor(ms / 1000) * 1000);

    assert.equal((await api('PATCH', `/v1/schedules/${schedule.body.id}`, { enabled: false })).status, 200);
    await syncedAfter(Date.now());
    const disabledAt = Date.now(); // the change is in effect: no tick can fire after this
    // Give the cron two and a half seconds of the scheduler's own time to fire, if it still could.
    await syncedAfter(disabledAt + 2_500);
    assert.deepEqual(ticksAfter(await scheduledRuns(), disabledAt), [], 'a disabled schedule queues nothing');

    assert.equal(
      (await api('PATCH', `/v1/schedules/${schedule.body.id}`, { enabled: true, cron: '*/2 * * * * *' }))
        .status,
      200,
    );
    await eventually(
      async () => (ticksAfter(await scheduledRuns(), disabledAt).length > 0 ? true : undefined),
      30_000,
      250,
    );

    assert.equal((await api('DELETE', `/v1/schedules/${schedule.body.id}`)).status, 204);
    await syncedAfter(Date.now());
    const removedAt = Date.now();
    await syncedAfter(removedAt + 2_500);
    assert.deepEqual(ticksAfter(await scheduledRuns(), removedAt), [], 'a removed schedule queues nothing');
  });

  it('upload errors name the line and the field; nothing of a bad upload is stored', async () => {
    const lines = [
      JSON.stringify({ text: 'fine', label: 'positive' }),
      JSON.stringify({ text: 'no label here' }),
      '{"text": "broken',
      JSON.stringify({ text: 'x', label: 3 }),
    ].join('\n');
    const response = await api<{ message: string[] }>(
      'POST',
      '/v1/datasets?name=bad&kind=clean',
      lines,
      'application/x-ndjson',
    );
    assert.equal(response.status, 400);
    const messages = response.body.message.join('\n');
    assert.match(messages, /line 2: label: a clean sample needs its true label/);
    assert.match(messages, /line 3: \(line\): expected one JSON object per line/);
    assert.match(messages, /line 4: label: expected a string/);
    const csv = await api<{ message: string[] }>(
      'POST',
      '/v1/datasets?name=bad-csv&kind=clean',
      'text,label\n"good",positive\n"missing label",\n',
      'text/csv',
    );
    assert.equal(csv.status, 400);
    assert.match(csv.body.message.join('\n'), /line 3: label: a clean sample needs its true label/);
    const listed = await api<{ items: { name: string }[] }>('GET', '/v1/datasets');
    assert.ok(!listed.body.items.some((dataset) => dataset.name.startsWith('bad')));
  });

  it('refuses a model endpoint at a cloud metadata address', async () => {
    const response = await api<{ message: string }>('POST', '/v1/models/clean/versions', {
      version: 'metadata',
      adapter: { kind: 'oip-v2', url: 'http://169.254.169.254/latest', modelName: 'x' },
    });
    assert.equal(response.status, 400);
    assert.match(response.body.message, /169\.254\.169\.254/);
  });
});
