import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually, startApp, temporaryDirectory, type RunningApp } from '@tripline/testing';

const ADMIN_KEY = 'tl_ingest-e2e-admin-key-0123456789';

describe('HTTP batch ingest', () => {
  const scratch = temporaryDirectory();
  let app: RunningApp;
  let ingestKey: string;
  let viewerKey: string;

  const post = (path: string, key: string, body: unknown) =>
    fetch(`${app.baseUrl}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  const createKey = async (body: object) => {
    const response = await post('/v1/keys', ADMIN_KEY, body);
    return ((await response.json()) as { key: string }).key;
  };

  before(async () => {
    app = await startApp('standalone', { TRIPLINE_DATA_DIR: scratch.path, TRIPLINE_ADMIN_KEY: ADMIN_KEY });
    ingestKey = await createKey({ name: 'service', scopes: ['ingest'] });
    viewerKey = await createKey({ name: 'viewer', role: 'viewer' });
  });

  after(async () => {
    await app?.stop();
    scratch.remove();
  });

  it('answers a mixed batch item by item, naming the field and the reason, and stores only the valid ones', async () => {
    const now = Date.now();
    const response = await post('/v1/events', ingestKey, {
      events: [
        {
          event_id: 'ok-1',
          model_id: 'mixed',
          timestamp: new Date(now).toISOString(),
          output: { label: 'positive', scores: { positive: 0.8, negative: 0.2 } },
        },
        {
          event_id: 'ok-2',
          model_id: 'mixed',
          timestamp: now,
          input: { text: 'fine' },
          output: { label: 'negative' },
        },
        { event_id: 'bad-1', model_id: 'mixed', timestamp: 'yesterday' },
        { event_id: 'bad-2', timestamp: now },
        { event_id: 'bad-3', model_id: 'mixed', timestamp: now, latency_ms: -4 },
        { event_id: 'bad-4', model_id: 'mixed', timestamp: now, output: { scores: { positive: 'high' } } },
        'not an object',
        { event_id: 'ok-1', model_id: 'mixed', timestamp: now },
      ],
    });
    assert.equal(response.status, 202);
    const answer = (await response.json()) as {
      accepted: number;
      rejected: number;
      results: {
        index: number;
        status: string;
        event_id?: string;
        duplicate?: boolean;
        errors?: { field: string; message: string }[];
      }[];
    };
    assert.equal(answer.accepted, 3);
    assert.equal(answer.rejected, 5);
    const byIndex = (index: number) => answer.results.find((result) => result.index === index)!;
    assert.equal(byIndex(0).status, 'accepted');
    assert.deepEqual(byIndex(2).errors, [
      {
        field: 'timestamp',
        message:
          'expected an RFC 3339 timestamp (with Z or an offset) or epoch milliseconds (got "yesterday")',
      },
    ]);
    assert.equal(byIndex(3).errors![0].field, 'model_id');
    assert.match(byIndex(3).errors![0].message, /it is missing/);
    assert.equal(byIndex(4).errors![0].field, 'latency_ms');
    assert.equal(byIndex(5).errors![0].field, 'output.scores.positive');
    assert.equal(byIndex(6).status, 'rejected');
    assert.equal(byIndex(7).duplicate, true);

    const stats = await eventually(async () => {
      const body = (await (
        await fetch(`${app.baseUrl}/v1/models/mixed/stats`, {
          headers: { authorization: `Bearer ${viewerKey}` },
        })
      ).json()) as { events: number };
      return body.events === 2 ? body : undefined;
    }, 30_000);
    assert.equal(stats.events, 2);
  });

  it('feedback joins its event: stats report feedback accuracy', async () => {
    const now = Date.now();
    await post('/v1/events', ingestKey, {
      events: [1, 2, 3, 4].map((i) => ({
        event_id: `fb-${i}`,
        model_id: 'scored',
        timestamp: now,
        output: { label: 'positive' },
      })),
    });
    const response = await post('/v1/feedback', ingestKey, {
      feedback: [1, 2, 3].map((i) => ({
        event_id: `fb-${i}`,
        model_id: 'scored',
        timestamp: now,
        label: i === 3 ? 'negative' : 'positive',
      })),
    });
    assert.equal(response.status, 202);
    const stats = await eventually(async () => {
      const body = (await (
        await fetch(`${app.baseUrl}/v1/models/scored/stats`, {
          headers: { authorization: `Bearer ${viewerKey}` },
        })
      ).json()) as {
        feedback: { labelled: number; correct: number; accuracy: number };
      };
      return body.feedback.labelled === 3 ? body : undefined;
    }, 30_000);
    assert.equal(stats.feedback.correct, 2);
    assert.equal(stats.feedback.accuracy, 2 / 3);
  });

  it('refuses a body that is not a batch, an oversized batch, and keys without the ingest scope', async () => {
    const wrongShape = await post('/v1/events', ingestKey, [{ event_id: 'x' }]);
    assert.equal(wrongShape.status, 400);
    assert.match(
      ((await wrongShape.json()) as { message: string }).message,
      /expected \{"events": \[ \.\.\. \]\}/,
    );
    const tooMany = await post('/v1/events', ingestKey, {
      events: Array.from({ length: 10_001 }, () => ({})),
    });
    assert.equal(tooMany.status, 413);
    assert.match(((await tooMany.json()) as { message: string }).message, /at most 10000 items per request/);
    const huge = await post('/v1/events', ingestKey, {
      events: [
        { event_id: 'x', model_id: 'm', timestamp: Date.now(), input: { text: 'y'.repeat(9 * 1024 * 1024) } },
      ],
    });
    assert.equal(huge.status, 413);
    const notJson = await post('/v1/events', ingestKey, '{"events": [');
    assert.equal(notJson.status, 400);
    assert.equal((await post('/v1/events', viewerKey, { events: [] })).status, 403);
    assert.equal((await post('/v1/events', 'tl_unknown', { events: [] })).status, 401);
  });

  it('invalid model stats windows get a clear 400', async () => {
    const response = await fetch(
      `${app.baseUrl}/v1/models/mixed/stats?from=2026-12-01T00:00:00Z&to=2026-11-01T00:00:00Z`,
      { headers: { authorization: `Bearer ${viewerKey}` } },
    );
    assert.equal(response.status, 400);
    assert.match(JSON.stringify(await response.json()), /from: expected from to be earlier than to/);
  });
});
