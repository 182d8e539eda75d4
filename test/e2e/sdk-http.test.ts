import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  createRecorder,
  type InferenceEventInput,
  type RecorderError,
  type RecorderLogger,
} from '@tripline/sdk';
import { eventually, startApp, temporaryDirectory, uniqueName, type RunningApp } from '@tripline/testing';

const ADMIN_KEY = 'tl_sdk-e2e-admin-key-0123456789abcd';
const quiet: RecorderLogger = { warn: () => undefined, error: () => undefined };

describe('SDK over HTTP into the standalone app', () => {
  const scratch = temporaryDirectory();
  let app: RunningApp;
  let ingestKey: string;

  const get = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${app.baseUrl}${path}`, {
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });
    assert.equal(response.status, 200, `GET ${path}`);
    return (await response.json()) as T;
  };

  before(async () => {
    app = await startApp('standalone', { TRIPLINE_DATA_DIR: scratch.path, TRIPLINE_ADMIN_KEY: ADMIN_KEY });
    const created = await fetch(`${app.baseUrl}/v1/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'sdk-service', scopes: ['ingest'] }),
    });
    assert.equal(created.status, 201);
    ingestKey = ((await created.json()) as { key: string }).key;
  });

  after(async () => {
    await app?.stop('SIGKILL');
    scratch.remove();
  });

  it('records 2,000 events, some repeated, and the model stats count every distinct event once', async () => {
    const modelId = uniqueName('sdk-model');
    const from = Date.now() - 60_000;
    const unique = Array.from(
      { length: 1_800 },
      (_, i): InferenceEventInput => ({
        event_id: `evt-${i}`,
        model_id: modelId,
        timestamp: Date.now(),
        input: { text: `review ${i}` },
        output: { label: i % 3 ? 'positive' : 'negative', scores: { positive: 0.7, negative: 0.3 } },
        latency_ms: 5 + (i % 40),
      }),
    );
    // Redeliveries of both kinds: right after the original (same batch) and long after (a later batch).
    const stream: InferenceEventInput[] = [];
    unique.forEach((event, i) => {
      stream.push(event);
      if (i % 18 === 0) stream.push({ ...event });
    });
    stream.push(...unique.slice(0, 100).map((event) => ({ ...event })));
    assert.equal(stream.length, 2_000);

    const failures: RecorderError[] = [];
    const recorder = createRecorder({
      transport: { kind: 'http', url: app.baseUrl, apiKey: ingestKey },
      maxBatchSize: 250,
      logger: quiet,
      onError: (error) => void failures.push(error),
    });
    for (const event of stream) recorder.record(event);
    await recorder.flush();
    assert.deepEqual(failures, []);
    assert.deepEqual(recorder.stats(), {
      buffered: 0,
      sent: 2_000,
      failed: 0,
      dropped: 0,
      retries: 0,
      rejected: 0,
    });
    await recorder.close();

    const path = `/v1/models/${encodeURIComponent(modelId)}/stats?from=${from}`;
    const stats = await eventually(async () => {
      const body = await get<{ events: number }>(path);
      return body.events >= 1_800 ? body : undefined;
    }, 60_000);
    assert.equal(stats.events, 1_800);
  });

  it('feedback recorded through the SDK joins its events', async () => {
    const modelId = uniqueName('sdk-feedback');
    const recorder = createRecorder({
      transport: { kind: 'http', url: app.baseUrl, apiKey: ingestKey },
      logger: quiet,
    });
    const now = Date.now();
    for (let i = 0; i < 20; i++)
      recorder.record({
        event_id: `fb-${i}`,
        model_id: modelId,
        timestamp: now,
        output: { label: 'positive' },
      });
    for (let i = 0; i < 10; i++)
      recorder.recordFeedback({
        event_id: `fb-${i}`,
        model_id: modelId,
        timestamp: now,
        label: i < 8 ? 'positive' : 'negative',
      });
    await recorder.close();
    assert.equal(recorder.stats().sent, 30);
    const stats = await eventually(async () => {
      const body = await get<{ feedback: { labelled: number; correct: number } }>(
        `/v1/models/${encodeURIComponent(modelId)}/stats?from=${now - 60_000}`,
      );
      return body.feedback.labelled >= 10 ? body : undefined;
    }, 60_000);
    assert.deepEqual(stats.feedback, { labelled: 10, correct: 8, accuracy: 0.8 });
  });

  it('a key the server refuses fails the batch at once, counted and reported', async () => {
    const failures: RecorderError[] = [];
    const recorder = createRecorder({
      transport: { kind: 'http', url: app.baseUrl, apiKey: 'tl_not-a-real-key' },
      logger: quiet,
      onError: (error) => void failures.push(error),
    });
    recorder.record({ event_id: 'x-1', model_id: 'refused', timestamp: Date.now() });
    await recorder.close();
    assert.deepEqual(recorder.stats(), {
      buffered: 0,
      sent: 0,
      failed: 1,
      dropped: 0,
      retries: 0,
      rejected: 0,
    });
    assert.equal(failures[0].status, 401);
  });
});
