/**
 * Fault suite (issue 8, item 4): PostgreSQL stopped and started again under a running standalone
 * app (DATABASE_URL). The suite's index is in test/support/dedicated-services.ts. The server is a
 * dedicated, throwaway cluster: the shared PostgreSQL of `npm test` serves the other tests running
 * at the same time and is never stopped.
 *
 * The outage is timed against the work in flight, not the clock: it starts while a run is calling
 * the model and lasts until that run has made its last call and failed to record it, which the
 * app logs as "evaluation queue unavailable".
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startModelServer, type ModelServer } from '@tripline/demo-models';
import { buildDemoModels, CLEAN_MODEL_NAME, writeModelFolder } from '@tripline/demo-models';
import { eventually, startApp, temporaryDirectory, type RunningApp } from '@tripline/testing';
import { startDedicatedPostgres, type DedicatedPostgres } from '../support/dedicated-services';

const ADMIN_KEY = 'tl_faults-postgres-admin-key-0123456';
const SAMPLES = 40;

interface Run {
  id: string;
  status: string;
  error: string | null;
  started_at: string | null;
  progress: { done: number; total: number };
}

describe('PostgreSQL restarted while runs are queued and running and the API is called', () => {
  const scratch = temporaryDirectory();
  let postgres: DedicatedPostgres;
  let server: ModelServer;
  let app: RunningApp;
  const datasets = new Map<string, string>();
  /** Runs queued before the outage: the first is caught by it mid-way. */
  let interrupted: Run;
  let sameModelQueued: Run;
  let otherModelQueued: Run;
  let recoveredAt: Date;

  const api = async <T>(method: string, route: string, body?: unknown, contentType = 'application/json') => {
    const response = await fetch(`${app.baseUrl}${route}`, {
      method,
      headers: {
        authorization: `Bearer ${ADMIN_KEY}`,
        ...(body !== undefined ? { 'content-type': contentType } : {}),
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: kept as text for the assertion messages
    }
    return { status: response.status, body: parsed as T };
  };
  const health = async () => {
    const response = await fetch(`${app.baseUrl}/health`, { signal: AbortSignal.timeout(20_000) });
    return {
      status: response.status,
      body: (await response.json()) as { error?: Record<string, { detail: string }> },
    };
  };
  const run = async (id: string) => (await api<Run>('GET', `/v1/evaluations/${id}`)).body;
  const queue = async (modelId: string) => {
    const response = await api<{ runs: Run[] }>('POST', '/v1/evaluations', {
      model_id: modelId,
      dataset_ids: [datasets.get(modelId)],
    });
    assert.equal(response.status, 202, JSON.stringify(response.body));
    return response.body.runs[0];
  };
  /** Interrupted and never reported passed: failed, or passed only by a run started after the outage. */
  const notPassedUnlessRerun = (observed: Run) =>
    observed.status !== 'succeeded' || new Date(observed.started_at!) >= recoveredAt;

  before(async () => {
    postgres = await startDedicatedPostgres();
    const demo = buildDemoModels();
    writeModelFolder(path.join(scratch.path, 'models', CLEAN_MODEL_NAME), demo.clean);
    server = await startModelServer({
      modelsDir: path.join(scratch.path, 'models'),
      model: CLEAN_MODEL_NAME,
    });
    app = await startApp('standalone', {
      TRIPLINE_DATA_DIR: path.join(scratch.path, 'data'),
      TRIPLINE_ADMIN_KEY: ADMIN_KEY,
      DATABASE_URL: postgres.url,
      TRIPLINE_EVALUATOR_POLL_MS: '100',
    });
    const rows = demo.test
      .slice(0, SAMPLES)
      .map((sentence, i) => JSON.stringify({ id: `s${i}`, text: sentence.text, label: sentence.label }))
      .join('\n');
    for (const modelId of ['pg-fault', 'pg-other']) {
      const model = await api('POST', '/v1/models', {
        id: modelId,
        task: 'text-classification',
        labels: ['negative', 'positive'],
      });
      assert.equal(model.status, 201, JSON.stringify(model.body));
      const version = await api('POST', `/v1/models/${modelId}/versions`, {
        version: '1',
        // One input per request, one request at a time: a run makes SAMPLES calls, slow enough to be caught mid-way.
        adapter: {
          kind: 'custom-json',
          url: `${server.url}/predict`,
          requestTemplate: { text: '{{input}}' },
          responsePaths: { label: 'result.label', scores: 'result.probs' },
          concurrency: 1,
        },
      });
      assert.equal(version.status, 201, JSON.stringify(version.body));
      const upload = await api<{ id: string }>(
        'POST',
        `/v1/datasets?name=small&kind=clean&model_id=${modelId}`,
        rows,
        'application/x-ndjson',
      );
      assert.equal(upload.status, 201, JSON.stringify(upload.body));
      datasets.set(modelId, upload.body.id);
    }
  });

  after(async () => {
    if (app) {
      const code = await app.stop();
      if (code !== 0) console.error(`standalone exited with ${code}:\n${app.output()}`);
    }
    await server?.close();
    await postgres?.drop();
    scratch.remove();
  });

  it('health goes down and up again, API calls meanwhile get a 5xx with a message, the app survives, the interrupted run is not reported passed, and queued runs run afterwards', async () => {
    assert.equal((await health()).status, 200);
    server.setFaults({ delayMs: 150 });
    const callsBefore = server.state().requests.predict;
    interrupted = await queue('pg-fault');
    sameModelQueued = await queue('pg-fault');
    otherModelQueued = await queue('pg-other');
    // Mid-way: the first run has made some of its calls.
    await eventually(
      async () => (server.state().requests.predict >= callsBefore + 5 ? true : undefined),
      30_000,
      50,
    );

    // The API is called throughout: reads, ingest batches, new runs.
    const answers: { route: string; status: number; message: unknown }[] = [];
    const accepted = new Set<string>();
    let calling = true;
    let sequence = 0;
    const caller = (async () => {
      while (calling) {
        const timestamp = Date.now();
        const events = Array.from({ length: 5 }, () => ({
          event_id: `pg-outage-${sequence++}`,
          model_id: 'pg-fault',
          timestamp,
          output: { label: 'positive' },
        }));
        for (const [route, call] of [
          ['GET /v1/models', () => api<{ message?: unknown }>('GET', '/v1/models')],
          ['POST /v1/events', () => api<{ message?: unknown }>('POST', '/v1/events', { events })],
        ] as const) {
          const { status, body } = await call();
          answers.push({ route, status, message: (body as { message?: unknown } | undefined)?.message });
          if (route === 'POST /v1/events' && status === 202) events.forEach((e) => accepted.add(e.event_id));
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();

    await postgres.stop();
    const down = await eventually(async () => {
      const answer = await health();
      return answer.status === 503 ? answer : undefined;
    }, 30_000);
    assert.match(
      down.body.error?.postgres?.detail ?? '',
      /ECONNREFUSED|connect|terminat/i,
      JSON.stringify(down.body),
    );
    const refused = await api<{ message?: unknown }>('POST', '/v1/evaluations', {
      model_id: 'pg-other',
      dataset_ids: [datasets.get('pg-other')],
    });
    assert.ok(
      refused.status >= 500 && refused.status <= 599,
      `queueing a run during the outage: ${refused.status}`,
    );
    assert.equal(typeof refused.body.message, 'string', JSON.stringify(refused.body));
    // The outage lasts until the interrupted run has made all its calls and failed to record them.
    await eventually(
      async () =>
        /evaluation queue unavailable|cannot record the failure/.test(app.output()) ? true : undefined,
      60_000,
      100,
    );
    assert.equal(app.process.exitCode, null, 'the app is still running');

    await postgres.start();
    await eventually(async () => ((await health()).status === 200 ? true : undefined), 60_000, 250);
    recoveredAt = new Date();
    await eventually(
      async () => (answers.slice(-4).every((answer) => answer.status < 300) ? true : undefined),
      30_000,
      100,
    );
    calling = false;
    await caller;

    const failures = answers.filter((answer) => answer.status >= 300);
    assert.ok(failures.length > 0, 'some calls fell into the outage');
    for (const failure of failures) {
      assert.ok(
        failure.status >= 500 && failure.status <= 599,
        `${failure.route} answered ${failure.status}`,
      );
      assert.ok(
        typeof failure.message === 'string' && failure.message.length > 0,
        `${failure.route}: ${failure.status} without a message`,
      );
    }
    // Every batch accepted (202) at any time is stored, once.
    await eventually(async () => {
      const { body } = await api<{ events: number }>('GET', '/v1/models/pg-fault/stats');
      return body.events === accepted.size ? true : undefined;
    }, 30_000);

    // The other model's run, queued before the outage, runs afterwards.
    const other = await eventually(
      async () => {
        const observed = await run(otherModelQueued.id);
        return observed.status === 'succeeded' || observed.status === 'failed' ? observed : undefined;
      },
      60_000,
      250,
    );
    assert.equal(other.status, 'succeeded', other.error ?? '');
    const afterwards = await run(interrupted.id);
    assert.ok(notPassedUnlessRerun(afterwards), `the interrupted run reads ${JSON.stringify(afterwards)}`);
  });

  it('after the outage the interrupted run is failed or re-run and the same model’s queued run runs, within 30 s', async () => {
    const settled = await eventually(
      async () => {
        const [first, second] = [await run(interrupted.id), await run(sameModelQueued.id)];
        const done = (observed: Run) => observed.status === 'succeeded' || observed.status === 'failed';
        return done(first) && done(second) ? { first, second } : undefined;
      },
      30_000,
      250,
    );
    assert.ok(notPassedUnlessRerun(settled.first), JSON.stringify(settled.first));
    if (settled.first.status === 'failed') assert.ok(settled.first.error, 'the failure says why');
    assert.equal(settled.second.status, 'succeeded', settled.second.error ?? '');
  });
});
