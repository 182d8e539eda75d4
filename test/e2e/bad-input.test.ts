import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { LIMITS } from '@tripline/contracts';
import {
  eventually,
  listedVersion,
  settledManifest,
  startApp,
  temporaryDirectory,
  type ListedVersion,
  type RunningApp,
} from '@tripline/testing';
import {
  FREEZE_PAYLOADS,
  CATASTROPHIC_ANSWER,
  CATASTROPHIC_ASSERTIONS,
  CATASTROPHIC_MATCHER,
  HOSTILE_LOOKING_MODEL_IDS,
  hostilePayloads,
  SQL_INJECTIONS,
  TEMPLATE_INJECTIONS,
  validPayloads,
  type HostilePayload,
  type ValidPayload,
} from '../support/hostile-payloads';
import { mulberry32 } from '@tripline/evaluation';

/**
 * Issue 8, bad input over HTTP: thousands of generated hostile items inside batches of valid ones,
 * hostile whole bodies and content types, and hostile path and query parameters on every GET route.
 * No 5xx, no crash, every hostile item refused with a reason, every valid item stored exactly once.
 */

const ADMIN_KEY = 'tl_bad-input-e2e-admin-key-0123456789';
/** Known bugs, reported in issue 8 and reproduced by the TODO tests at the end of this file. */
const NOT_YET_REFUSED_OVER_HTTP = new Set(['invalid-utf8', 'lone-surrogate']);

interface ItemAnswer {
  index: number;
  event_id?: string;
  status: 'accepted' | 'rejected';
  duplicate?: boolean;
  errors?: { field: string; message: string }[];
}
interface BatchAnswer {
  accepted: number;
  rejected: number;
  results: ItemAnswer[];
}

type Item = { kind: 'hostile'; payload: HostilePayload } | { kind: 'valid'; payload: ValidPayload };

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/** Batches of at most 400 items and 4 MiB: well inside the limits, so only the items are judged. */
function batches(items: Item[]): Item[][] {
  const result: Item[][] = [];
  let current: Item[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = item.payload.bytes.length + 1;
    if (current.length > 0 && (current.length >= 400 || bytes + size > 4 * 1024 * 1024)) {
      result.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) result.push(current);
  return result;
}

function batchBody(field: 'events' | 'feedback', items: { bytes: Buffer }[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`{"${field}":[`)];
  items.forEach((item, index) => parts.push(Buffer.from(index ? ',' : ''), item.bytes));
  parts.push(Buffer.from(']}'));
  return Buffer.concat(parts);
}

/** A 4xx answer must say why: a non-empty message (or list of messages). */
function hasMessage(body: unknown): boolean {
  const message = (body as { message?: unknown } | null)?.message;
  if (typeof message === 'string') return message.trim().length > 0;
  return (
    Array.isArray(message) && message.length > 0 && message.every((m) => typeof m === 'string' && m.length)
  );
}

describe('bad input over HTTP (standalone)', () => {
  const scratch = temporaryDirectory();
  const random = mulberry32(8_005);
  let app: RunningApp;
  let ingestKey: string;
  let viewerKey: string;
  const counts: Record<string, number> = {};
  const count = (what: string, n = 1) => (counts[what] = (counts[what] ?? 0) + n);

  const request = (path: string, init: RequestInit & { key?: string } = {}) =>
    fetch(`${app.baseUrl}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${init.key ?? ingestKey}`, ...(init.headers ?? {}) },
    });

  const assertHealthy = async (phase: string) => {
    assert.equal(app.process.exitCode, null, `the app exited during ${phase}\n${app.output().slice(-4000)}`);
    assert.equal(app.process.signalCode, null, `the app was killed during ${phase}`);
    const health = await fetch(`${app.baseUrl}/health`);
    const body = await health.text();
    assert.equal(health.status, 200, `/health after ${phase}: ${body}`);
    assert.doesNotMatch(body, /polluted|isAdmin/, 'a prototype-pollution payload leaked into an answer');
  };

  before(async () => {
    app = await startApp('standalone', {
      TRIPLINE_DATA_DIR: scratch.path,
      TRIPLINE_ADMIN_KEY: ADMIN_KEY,
      // The last (TODO) test can leave the sink retrying an insert; do not wait 15 s for it at exit.
      SHUTDOWN_TIMEOUT_MS: '5000',
      // The catastrophic-regex test waits for an evaluation and an alerter tick.
      TRIPLINE_EVALUATOR_POLL_MS: '1000',
      TRIPLINE_ALERTER_TICK_MS: '1000',
    });
    const createKey = async (body: object) => {
      const response = await request('/v1/keys', {
        method: 'POST',
        key: ADMIN_KEY,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      assert.equal(response.status, 201);
      return ((await response.json()) as { key: string }).key;
    };
    ingestKey = await createKey({ name: 'hostile service', scopes: ['ingest'] });
    viewerKey = await createKey({ name: 'viewer', role: 'viewer' });
  });

  after(async () => {
    await app?.stop();
    scratch.remove();
  });

  // The valid items interleaved with the hostile ones; checked at the end via the stats endpoint.
  const modelIds = ['bad-input-plain', ...HOSTILE_LOOKING_MODEL_IDS];
  const validEvents = validPayloads({ schema: 'inference', count: 700, seed: 81, modelIds, tag: 'ok' });
  const validFeedback = validPayloads({
    schema: 'feedback',
    count: 300,
    seed: 82,
    modelIds,
    tag: 'fb',
    events: validEvents.filter((_, i) => i % 2 === 0),
  });

  const sendMixed = async (
    field: 'events' | 'feedback',
    hostile: HostilePayload[],
    valid: ValidPayload[],
  ) => {
    // Every valid item once, and a tenth of them again in a later batch (a client retry).
    const items: Item[] = shuffle(
      [
        ...hostile.map((payload) => ({ kind: 'hostile', payload }) as Item),
        ...valid.map((payload) => ({ kind: 'valid', payload }) as Item),
      ],
      random,
    );
    const retried = valid
      .filter((_, i) => i % 10 === 3)
      .map((payload) => ({ kind: 'valid', payload }) as Item);
    const failures: string[] = [];
    for (const batch of [...batches(items), retried]) {
      const response = await request(`/v1/${field}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: batchBody(
          field,
          batch.map((item) => item.payload),
        ),
      });
      const text = await response.text();
      assert.equal(
        response.status,
        202,
        `a batch of ${batch.length} ${field} was answered: ${text.slice(0, 500)}`,
      );
      const answer = JSON.parse(text) as BatchAnswer;
      assert.equal(answer.results.length, batch.length);
      const hostileCount = batch.filter((item) => item.kind === 'hostile').length;
      assert.equal(answer.rejected, hostileCount);
      assert.equal(answer.accepted, batch.length - hostileCount);
      batch.forEach((item, index) => {
        const result = answer.results[index];
        const what = `${field}[${index}] ${item.payload.description}`;
        if (result?.index !== index) return void failures.push(`${what}: no answer at its index`);
        if (item.kind === 'valid') {
          if (result.status !== 'accepted') failures.push(`${what}: valid but ${JSON.stringify(result)}`);
          else if (result.event_id !== item.payload.event_id)
            failures.push(`${what}: answered for ${result.event_id}`);
          return;
        }
        count(`items: ${item.payload.category}`);
        const errors = result.errors ?? [];
        if (result.status !== 'rejected') return void failures.push(`${what}: hostile but accepted`);
        if (
          errors.length === 0 ||
          !errors.every((error) => typeof error.field === 'string' && error.field && error.message)
        )
          return void failures.push(
            `${what}: rejected without a field and a reason: ${JSON.stringify(errors)}`,
          );
        const expected = item.payload.field;
        if (
          expected &&
          !errors.some((error) => error.field === expected || error.field.startsWith(`${expected}.`))
        )
          failures.push(
            `${what}: expected a reason about ${expected}, got ${JSON.stringify(errors).slice(0, 300)}`,
          );
      });
    }
    assert.deepEqual(failures.slice(0, 20), [], `${failures.length} items answered wrongly`);
  };

  it('answers every hostile item in mixed batches with a field and a reason, and accepts every valid one', async () => {
    for (const schema of ['inference', 'feedback'] as const) {
      const hostile = hostilePayloads({
        schema,
        rounds: 4,
        seed: schema === 'inference' ? 1 : 2,
        modelId: 'bad-input-plain',
        tag: `h-${schema}`,
      });
      const batchable = hostile.filter((item) => item.json && !NOT_YET_REFUSED_OVER_HTTP.has(item.category));
      await sendMixed(
        schema === 'inference' ? 'events' : 'feedback',
        batchable,
        schema === 'inference' ? validEvents : validFeedback,
      );
      await assertHealthy(`the ${schema} batches`);
    }
  });

  it('refuses hostile whole bodies and content types with a 4xx and a message, never a 5xx', async () => {
    const event = (id: string) =>
      JSON.stringify({ event_id: id, model_id: 'bad-input-plain', timestamp: Date.UTC(2026, 5, 1) });
    const deep = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
    type Case = { name: string; body?: string | Buffer; type?: string; headers?: Record<string, string> };
    const cases = (field: 'events' | 'feedback', other: string): Case[] => [
      { name: 'an empty body', body: '', type: 'application/json' },
      { name: 'no body and no content type' },
      { name: 'null', body: 'null', type: 'application/json' },
      { name: 'a number', body: '42', type: 'application/json' },
      { name: 'a string', body: '"events"', type: 'application/json' },
      { name: 'an array of items', body: `[${event('x')}]`, type: 'application/json' },
      { name: 'an empty object', body: '{}', type: 'application/json' },
      { name: `"${field}": null`, body: `{"${field}":null}`, type: 'application/json' },
      { name: `"${field}" as an object`, body: `{"${field}":{"0":${event('x')}}}`, type: 'application/json' },
      { name: `"${field}" as a string`, body: `{"${field}":"[]"}`, type: 'application/json' },
      { name: `"${field}" empty`, body: `{"${field}":[]}`, type: 'application/json' },
      {
        name: 'the other endpoint’s envelope',
        body: `{"${other}":[${event('x')}]}`,
        type: 'application/json',
      },
      {
        name: 'an extra top-level key',
        body: `{"${field}":[${event('x')}],"extra":1}`,
        type: 'application/json',
      },
      { name: 'a top-level "__proto__"', body: `{"__proto__":{"${field}":[]}}`, type: 'application/json' },
      {
        name: 'a top-level "constructor.prototype"',
        body: `{"${field}":[${event('x')}],"constructor":{"prototype":{"polluted":1}}}`,
        type: 'application/json',
      },
      {
        name: 'duplicate envelopes, the last invalid',
        body: `{"${field}":[${event('x')}],"${field}":5}`,
        type: 'application/json',
      },
      { name: 'truncated JSON', body: `{"${field}":[{"event_id":`, type: 'application/json' },
      { name: 'trailing garbage', body: `{"${field}":[${event('x')}]} trailing`, type: 'application/json' },
      { name: 'NaN at the top', body: 'NaN', type: 'application/json' },
      { name: 'single quotes', body: `{'${field}':[]}`, type: 'application/json' },
      { name: 'a comment', body: `{"${field}":[] /* hi */}`, type: 'application/json' },
      {
        name: 'invalid UTF-8 outside strings',
        body: Buffer.concat([Buffer.from(`{"${field}":[`), Buffer.from([0xff, 0xfe]), Buffer.from(']}')]),
        type: 'application/json',
      },
      { name: '1000 nested arrays', body: deep(1000), type: 'application/json' },
      { name: '100000 nested arrays', body: deep(100_000), type: 'application/json' },
      {
        name: '1000 nested objects',
        body: '{"a":'.repeat(1000) + '1' + '}'.repeat(1000),
        type: 'application/json',
      },
      {
        name: `${LIMITS.batchEvents + 1} items`,
        body: `{"${field}":[${Array.from({ length: LIMITS.batchEvents + 1 }, () => '{}').join(',')}]}`,
        type: 'application/json',
      },
      {
        name: 'a body over the 8 MiB limit',
        body: `{"${field}":[{"event_id":"x","model_id":"m","timestamp":1,"input":{"text":"${'y'.repeat(LIMITS.batchBytes)}"}}]}`,
        type: 'application/json',
      },
      { name: 'text/plain', body: `{"${field}":[${event('x')}]}`, type: 'text/plain' },
      {
        name: 'a form',
        body: `${field}=1&${field}[0][event_id]=x`,
        type: 'application/x-www-form-urlencoded',
      },
      {
        name: 'multipart',
        body: `--b\r\nContent-Disposition: form-data; name="${field}"\r\n\r\n[]\r\n--b--\r\n`,
        type: 'multipart/form-data; boundary=b',
      },
      { name: 'XML', body: `<${field}><event/></${field}>`, type: 'application/xml' },
      { name: 'binary', body: Buffer.from([0, 1, 2, 0xff, 0xfe, 0x7b]), type: 'application/octet-stream' },
      { name: 'an unsupported charset', body: `{"${field}":[]}`, type: 'application/json; charset=latin1' },
      {
        name: 'UTF-16 declared',
        body: `{"${field}":[${event('x')}]}`,
        type: 'application/json; charset=utf-16',
      },
      {
        name: 'gzip that is not',
        body: 'not gzip',
        type: 'application/json',
        headers: { 'content-encoding': 'gzip' },
      },
      {
        name: 'brotli that is not',
        body: 'x',
        type: 'application/json',
        headers: { 'content-encoding': 'br' },
      },
      {
        name: 'an unknown encoding',
        body: '{}',
        type: 'application/json',
        headers: { 'content-encoding': 'x-hostile' },
      },
      { name: 'a content type with an injection', body: '{}', type: "application/json'; DROP TABLE x; --" },
      { name: 'a nonsense content type', body: '{}', type: '{{7*7}}/${7*7}' },
    ];
    // The NaN/Infinity items of the generator are not JSON: each one makes its batch unreadable.
    const literalItems = ['inference', 'feedback'].flatMap((schema) =>
      hostilePayloads({
        schema: schema as 'inference',
        rounds: 4,
        seed: 3,
        modelId: 'bad-input-plain',
        tag: 'lit',
      })
        .filter((item) => !item.json)
        .map((item) => ({
          item,
          field: schema === 'inference' ? ('events' as const) : ('feedback' as const),
        })),
    );
    const failures: string[] = [];
    const send = async (field: 'events' | 'feedback', test: Case, what: string) => {
      const headers = { ...(test.type ? { 'content-type': test.type } : {}), ...(test.headers ?? {}) };
      const bytes = test.body === undefined ? 0 : Buffer.byteLength(test.body);
      // A body of megabytes is still going out when the server's answer may come (a server is free
      // to refuse before it has read everything, and close). fetch then fails with "other side
      // closed" instead of giving the answer; on a loaded machine the race was lost now and then.
      // Node's own client hands over the answer as soon as it arrives and stops sending.
      let response: { status: number; text: string };
      if (bytes > 1024 * 1024) {
        response = await streamRequest(
          `${app.baseUrl}/v1/${field}`,
          { ...headers, authorization: `Bearer ${ingestKey}`, 'content-length': String(bytes) },
          chunksOf(Buffer.from(test.body!), 64 * 1024),
          120_000,
        );
      } else {
        const answer = await request(`/v1/${field}`, {
          method: 'POST',
          headers,
          ...(test.body === undefined ? {} : { body: test.body }),
        });
        response = { status: answer.status, text: await answer.text() };
      }
      const text = response.text;
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      count(what);
      if (
        response.status < 400 ||
        response.status >= 500 ||
        [401, 403].includes(response.status) ||
        !hasMessage(body)
      )
        failures.push(`POST /v1/${field} with ${test.name}: ${response.status} ${text.slice(0, 200)}`);
    };
    for (const [field, other] of [
      ['events', 'feedback'],
      ['feedback', 'events'],
    ] as const) {
      for (const test of cases(field, other)) await send(field, test, 'whole bodies and content types');
    }
    for (const { item, field } of literalItems)
      await send(
        field,
        {
          name: `an item with ${item.description}`,
          body: batchBody(field, [item]),
          type: 'application/json',
        },
        'whole bodies: items with NaN/Infinity literals',
      );
    assert.deepEqual(failures, []);
    await assertHealthy('the whole bodies');
  });

  it('logs refused bodies (over the limit, invalid UTF-8) as one-line warnings, never as errors with a stack', () => {
    const lines = app
      .output()
      .split('\n')
      .filter((line) => /request body is larger than|not valid UTF-8/.test(line));
    const level = (line: string) => (JSON.parse(line) as { level: number }).level;
    assert.ok(
      lines.some((line) => line.startsWith('{') && level(line) === 40),
      'the refusals are logged as warnings',
    );
    const loud = lines.filter((line) => !line.startsWith('{') || level(line) >= 50 || /\\n\s+at /.test(line));
    assert.deepEqual(loud.slice(0, 3), [], `${loud.length} refusals logged as errors or with a stack`);
  });

  it('stays live while user regexes that backtrack catastrophically run: canary assertions and silence matchers', async () => {
    // A generation model whose every answer is the review's 25 "a"s and "!".
    const endpoint: Server = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ answer: CATASTROPHIC_ANSWER }));
      });
    });
    await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
    const admin = (path: string, method: string, body: unknown, type = 'application/json') =>
      request(path, {
        method,
        key: ADMIN_KEY,
        headers: { 'content-type': type },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
    let slowest = 0;
    let polling = true;
    // /health/live is asked throughout; a frozen event loop would hold every answer back.
    const liveness = (async () => {
      while (polling) {
        const started = Date.now();
        const live = await fetch(`${app.baseUrl}/health/live`, { signal: AbortSignal.timeout(30_000) });
        assert.equal(live.status, 200);
        slowest = Math.max(slowest, Date.now() - started);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    try {
      const modelId = 'regex-freeze';
      assert.equal((await admin('/v1/models', 'POST', { id: modelId, task: 'text-generation' })).status, 201);
      const { port } = endpoint.address() as AddressInfo;
      const version = await admin(`/v1/models/${modelId}/versions`, 'POST', {
        version: '1',
        adapter: {
          kind: 'custom-json',
          url: `http://127.0.0.1:${port}/answer`,
          requestTemplate: { question: '{{input}}' },
          responsePaths: { text: 'answer' },
        },
      });
      assert.equal(version.status, 201, await version.text());
      const rows = CATASTROPHIC_ASSERTIONS.map((assertion, i) =>
        JSON.stringify({ id: `r${i}`, text: `question ${i}`, assertions: { regex: assertion.regex } }),
      );
      const upload = await admin(
        `/v1/datasets?name=catastrophic&kind=canary&model_id=${modelId}`,
        'POST',
        rows.join('\n'),
        'application/x-ndjson',
      );
      assert.equal(upload.status, 201, await upload.clone().text());
      const datasetId = ((await upload.json()) as { id: string }).id;
      // The alert this raises is named so that the silence's pattern backtracks on its name: the
      // name does not match it (the slow case), so a `!~` matcher silences the alert.
      const rule = await admin('/v1/rules', 'POST', {
        name: CATASTROPHIC_MATCHER.label,
        metric: 'assertion_pass_rate',
        selector: { model_id: modelId },
        condition: { type: 'threshold', op: '<', value: 1 },
      });
      assert.equal(rule.status, 201, await rule.text());
      const silence = await admin('/v1/silences', 'POST', {
        matchers: [{ name: 'alertname', op: '!~', value: CATASTROPHIC_MATCHER.pattern }],
        duration_seconds: 3_600,
      });
      assert.equal(silence.status, 201, await silence.clone().text());
      const silenceId = ((await silence.json()) as { id: string }).id;

      const queued = await admin('/v1/evaluations', 'POST', { model_id: modelId, dataset_ids: [datasetId] });
      assert.equal(queued.status, 202, await queued.clone().text());
      const runId = ((await queued.json()) as { runs: { id: string }[] }).runs[0].id;
      const run = await eventually(async () => {
        const body = (await (await request(`/v1/evaluations/${runId}`, { key: ADMIN_KEY })).json()) as {
          status: string;
          error: string | null;
          summary: { generation: { assertions: number; passed: number; failures: { sampleId: string }[] } };
        };
        return ['succeeded', 'failed'].includes(body.status) ? body : undefined;
      }, 60_000);
      assert.equal(run.status, 'succeeded', run.error ?? '');
      const generation = run.summary.generation;
      assert.equal(generation.assertions, CATASTROPHIC_ASSERTIONS.length);
      assert.deepEqual(
        generation.failures.map((failure) => failure.sampleId).sort(),
        CATASTROPHIC_ASSERTIONS.flatMap((assertion, i) => (assertion.matches ? [] : [`r${i}`])).sort(),
        'each pattern judged by its plain meaning',
      );
      // The alerter checks the silence's pattern against the alert's name on every tick.
      const alert = await eventually(async () => {
        const { items } = (await (
          await request(`/v1/alerts?model_id=${modelId}`, { key: ADMIN_KEY })
        ).json()) as {
          items: { silenced_by: string | null }[];
        };
        return items[0];
      }, 30_000);
      assert.equal(alert.silenced_by, silenceId, 'the pattern was evaluated: the alert is silenced');
    } finally {
      polling = false;
      await liveness;
      await new Promise((resolve) => endpoint.close(resolve));
    }
    // A pass/fail bound of several seconds, not a benchmark: the review saw 4.5 to 27 s freezes.
    assert.ok(slowest < 5_000, `/health/live took ${slowest} ms to answer while the patterns ran`);
  });

  it('refuses negative epochs and impossible dates in query times with a 400 naming the value', async () => {
    for (const query of ['from=-1', 'to=2026-02-30T00:00:00Z', 'from=1e3']) {
      const response = await request(`/v1/models/bad-input-plain/stats?${query}`, { key: viewerKey });
      const text = await response.text();
      assert.equal(response.status, 400, `${query}: ${text}`);
      assert.match(text, /expected an RFC 3339 timestamp or non-negative epoch milliseconds/, query);
    }
  });

  it('answers hostile path and query parameters on every GET route without a 5xx', async () => {
    const document = (await (await fetch(`${app.baseUrl}/docs-json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const routes = Object.entries(document.paths)
      .filter(([path, methods]) => path.startsWith('/v1/') && 'get' in methods)
      .map(([path]) => path);
    assert.ok(routes.includes('/v1/models/{id}/stats'), `GET routes: ${routes.join(', ')}`);
    const encoded = [
      ...SQL_INJECTIONS.slice(0, 6),
      ...TEMPLATE_INJECTIONS.slice(0, 4),
      '__proto__',
      'constructor',
      'prototype',
      '..',
      'ü🙂',
      ' ',
      '1e400',
      '-1',
      'NaN',
      'null',
      '[]',
      '{}',
      'bell\u0007',
      'x'.repeat(5_000),
    ].map(encodeURIComponent);
    // Sent as written: malformed escapes, NUL, invalid UTF-8, an encoded surrogate, header splitting.
    const asWritten = [
      '%',
      '%ZZ',
      '%E0%A4%A',
      '%00',
      '%FF',
      '%ED%A0%80',
      '%2e%2e%2f%2e%2e%2f',
      '%0d%0aSet-Cookie:%20x=1',
      '%C0%AF',
    ];
    const queries = [
      'from=0&to=8640000000000001',
      'from=-8640000000000001',
      'from=10000-01-01&to=20000-01-01',
      'from=1e400',
      'from=NaN&to=Infinity',
      'from=99999999999999999999',
      `from=${encodeURIComponent(SQL_INJECTIONS[3])}`,
      `to=${encodeURIComponent(TEMPLATE_INJECTIONS[1])}`,
      'from=1&from=2&to=3',
      'from[gt]=1',
      '__proto__[polluted]=1&constructor[prototype][polluted]=1',
      'limit=1e400',
      'limit=-1',
      'limit=0x10',
      'limit=99999999999999999999',
      'offset=-5&limit=NaN',
      'model_id=%00',
      'model_id=%FF',
      'model_id=a&model_id=b',
      `model_id=${encodeURIComponent(SQL_INJECTIONS[0])}`,
      'kind=%7B%7B7*7%7D%7D',
      'status=__proto__',
      `model_id=${'m'.repeat(10_000)}`,
      '%=%',
      '&&&===&&',
    ];
    const failures: string[] = [];
    const get = async (path: string) => {
      const response = await request(path, { key: viewerKey });
      const text = await response.text();
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      count('GET requests');
      if (response.status >= 500)
        failures.push(`GET ${path.slice(0, 200)}: ${response.status} ${text.slice(0, 200)}`);
      else if (response.status >= 400 && !hasMessage(body))
        failures.push(
          `GET ${path.slice(0, 200)}: ${response.status} without a message: ${text.slice(0, 200)}`,
        );
    };
    for (const route of routes) {
      const hasParameters = /\{[^}]+\}/.test(route);
      if (hasParameters) {
        for (const value of [...encoded, ...asWritten]) await get(route.replace(/\{[^}]+\}/g, value));
      }
      const plain = route.replace(/\{[^}]+\}/g, 'bad-input-plain');
      for (const query of queries) await get(`${plain}?${query}`);
    }
    assert.deepEqual(failures.slice(0, 30), [], `${failures.length} GET requests failed`);
    await assertHealthy('the GET parameters');
  });

  it('stores every valid item exactly once and answers injection strings verbatim', async () => {
    const window = `from=${LIMITS.minTimestampMs}&to=${LIMITS.maxTimestampMs + 1}`;
    const stats = (modelId: string) =>
      request(`/v1/models/${encodeURIComponent(modelId)}/stats?${window}`, { key: viewerKey }).then(
        async (response) => {
          assert.equal(response.status, 200, `stats of ${modelId}`);
          return (await response.json()) as {
            model_id: string;
            events: number;
            labels: { label: string; count: number }[];
            feedback: { labelled: number; correct: number };
          };
        },
      );
    const feedbackByEvent = new Map(validFeedback.map((item) => [item.event_id, item.label]));
    for (const modelId of modelIds) {
      const events = validEvents.filter((event) => event.model_id === modelId);
      const labelled = events.filter((event) => feedbackByEvent.has(event.event_id));
      const expectedLabels = new Map<string, number>();
      for (const event of events) expectedLabels.set(event.label, (expectedLabels.get(event.label) ?? 0) + 1);
      const answer = await eventually(async () => {
        const current = await stats(modelId);
        return current.events === events.length && current.feedback.labelled === labelled.length
          ? current
          : undefined;
      }, 60_000).catch(async (error: unknown) => {
        throw new Error(
          `${modelId}: ${String(error)}; last answer ${JSON.stringify(await stats(modelId)).slice(0, 500)}`,
        );
      });
      assert.equal(answer.model_id, modelId);
      assert.equal(answer.events, events.length);
      assert.deepEqual(
        answer.labels.map((label) => [label.label, label.count]).sort(),
        [...expectedLabels.entries()].sort(),
        `labels of ${modelId}, verbatim`,
      );
      assert.equal(
        answer.feedback.correct,
        labelled.filter((event) => feedbackByEvent.get(event.event_id) === event.label).length,
      );
    }
    count('valid events', validEvents.length);
    count('valid feedback', validFeedback.length);
    await assertHealthy('the checks');
  });

  it('sent at least 6,000 hostile payloads', (t) => {
    const hostile = Object.entries(counts)
      .filter(([what]) => !what.startsWith('valid'))
      .reduce((sum, [, n]) => sum + n, 0);
    t.diagnostic(`hostile payloads: ${hostile}; ${JSON.stringify(counts)}`);
    assert.ok(hostile >= 6_000, `only ${hostile} hostile payloads`);
  });

  // Once known bugs (NUL text, deep nesting, invalid UTF-8, lone surrogates), fixed in the shared
  // validation; the lone-surrogate case runs last because, unfixed, it would jam the sink.

  it('answers hostile bodies on the registry and key routes without a 5xx', async () => {
    const document = (await (await fetch(`${app.baseUrl}/docs-json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    const cases: [string, string, string][] = [
      [
        'POST',
        '/v1/models',
        '{"id":"nul-model","task":"text-classification","labels":["a","b"],"description":"x\\u0000y"}',
      ],
      ['POST', '/v1/keys', '{"name":"x\\u0000y","role":"viewer"}'],
      ...Object.entries(document.paths).flatMap(([path, methods]) =>
        Object.keys(methods)
          .filter((method) => ['post', 'put', 'patch'].includes(method))
          .filter(
            () => path.startsWith('/v1/') && !['/v1/events', '/v1/feedback', '/v1/datasets'].includes(path),
          )
          .map(
            (method) =>
              [
                method.toUpperCase(),
                path.replace(/\{[^}]+\}/g, '00000000-0000-4000-8000-000000000000'),
                `{"deep":${deep}}`,
              ] as [string, string, string],
          ),
      ),
    ];
    const failures: string[] = [];
    for (const [method, path, body] of cases) {
      const response = await request(path, {
        method,
        key: ADMIN_KEY,
        headers: { 'content-type': 'application/json' },
        body,
      });
      if (response.status >= 500) failures.push(`${method} ${path} ${body.slice(0, 80)}: ${response.status}`);
    }
    assert.deepEqual(failures, []);
  });

  it('refuses items holding invalid UTF-8 bytes', async () => {
    const items = hostilePayloads({
      schema: 'inference',
      rounds: 1,
      seed: 4,
      modelId: 'utf8',
      tag: 'utf8',
    }).filter((item) => item.category === 'invalid-utf8');
    const response = await request('/v1/events', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: batchBody('events', items),
    });
    if (response.status >= 400 && response.status < 500) return; // refusing the whole body is fine too
    const answer = (await response.json()) as BatchAnswer;
    assert.equal(
      answer.accepted,
      0,
      `${answer.accepted} of ${items.length} items with invalid UTF-8 accepted`,
    );
  });

  it('refuses items holding lone surrogates', async () => {
    const items = hostilePayloads({
      schema: 'inference',
      rounds: 1,
      seed: 5,
      modelId: 'lone',
      tag: 'lone',
    }).filter((item) => item.category === 'lone-surrogate');
    const response = await request('/v1/events', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: batchBody('events', items),
    });
    assert.equal(response.status, 202);
    const answer = (await response.json()) as BatchAnswer;
    assert.equal(
      answer.accepted,
      0,
      `${answer.accepted} of ${items.length} items with lone surrogates accepted`,
    );
  });
});

/** What a streamed request got back: the answer arrives while the body may still be going out. */
interface StreamedAnswer {
  status: number;
  text: string;
  headers: http.IncomingHttpHeaders;
  /** Body bytes the client had handed to the socket when the answer arrived. */
  sent: number;
}

/**
 * POSTs `body` chunk by chunk with backpressure and resolves with the answer as soon as it comes,
 * then stops sending: the server may answer before it has read what it refuses.
 */
function streamRequest(
  url: string,
  headers: Record<string, string>,
  body: AsyncIterable<Buffer> | Iterable<Buffer>,
  timeoutMs: number,
): Promise<StreamedAnswer> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let settled = false;
    const request = http.request(url, { method: 'POST', headers, timeout: timeoutMs });
    // Headers go out now, not with the first chunk of body: some tests never send one.
    request.flushHeaders();
    const finish = (error: Error | undefined, answer?: StreamedAnswer) => {
      if (settled) return;
      settled = true;
      request.destroy();
      if (error) reject(error);
      else resolve(answer!);
    };
    request.on('timeout', () => finish(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', (error) => finish(error));
    request.on('response', (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () =>
        finish(undefined, { status: response.statusCode ?? 0, text, headers: response.headers, sent }),
      );
      response.on('error', (error) => finish(error));
    });
    void (async () => {
      for await (const chunk of body) {
        if (settled) return;
        sent += chunk.length;
        if (!request.write(chunk)) await new Promise((ready) => request.once('drain', ready));
      }
      if (!settled) request.end();
    })().catch((error: Error) => finish(error));
  });
}

/** `bytes` in chunks of at most `size`. */
function* chunksOf(bytes: Buffer, size: number): Generator<Buffer> {
  for (let offset = 0; offset < bytes.length; offset += size) yield bytes.subarray(offset, offset + size);
}

/** `count` chunks of `size` bytes of `byte`: a single line as long as all of them. */
function* oneLongLine(count: number, size: number, byte = 'a'): Generator<Buffer> {
  const chunk = Buffer.alloc(size, byte);
  yield Buffer.from('{"text":"');
  for (let i = 0; i < count; i++) yield chunk;
}

describe('hostile input over HTTP: freezes, floods and oversized uploads (issue 11)', () => {
  const scratch = temporaryDirectory();
  const ADMIN = 'tl_hostile-input-e2e-admin-key-0123456789';
  const UPLOAD_TIMEOUT_MS = 4_000;
  /** The app's TMPDIR, where it stages each upload (a tripline-upload-* folder) before storing it. */
  const uploadStaging = path.join(scratch.path, 'tmp');
  const uploadsBeingStaged = () =>
    readdirSync(uploadStaging).filter((name) => name.startsWith('tripline-upload-'));
  const FAILURES_PER_MINUTE = 20;
  let app: RunningApp;
  const json = { 'content-type': 'application/json' };
  const admin = { authorization: `Bearer ${ADMIN}` };

  before(async () => {
    mkdirSync(uploadStaging, { recursive: true });
    app = await startApp('standalone', {
      TRIPLINE_DATA_DIR: scratch.path,
      TMPDIR: uploadStaging,
      TRIPLINE_ADMIN_KEY: ADMIN,
      TRIPLINE_UPLOAD_TIMEOUT_MS: String(UPLOAD_TIMEOUT_MS),
      TRIPLINE_AUTH_FAILURES_PER_MINUTE: String(FAILURES_PER_MINUTE),
      SHUTDOWN_TIMEOUT_MS: '5000',
    });
  });

  after(async () => {
    await app?.stop();
    scratch.remove();
  });

  const assertAlive = async (phase: string) => {
    assert.equal(app.process.exitCode, null, `the app exited during ${phase}\n${app.output().slice(-3000)}`);
    const live = await fetch(`${app.baseUrl}/health/live`);
    assert.equal(live.status, 200, `/health/live after ${phase}`);
  };

  const residentBytes = async () => {
    const text = await (await fetch(`${app.baseUrl}/metrics`)).text();
    const match = /^tripline_process_resident_memory_bytes(?:\{[^}]*\})? (\S+)$/m.exec(text);
    assert.ok(match, 'the metrics name the resident memory of the process');
    return Number(match[1]);
  };

  const upload = (
    query: string,
    body: Iterable<Buffer> | AsyncIterable<Buffer>,
    type = 'application/x-ndjson',
  ) =>
    streamRequest(
      `${app.baseUrl}/v1/datasets?${query}`,
      { ...admin, 'content-type': type, 'transfer-encoding': 'chunked' },
      body,
      30_000,
    );

  it('keeps /health/live answering while the freeze payloads are sent, and refuses each', async () => {
    const context = { baseUrl: app.baseUrl, adminKey: ADMIN };
    const probe = async () => {
      const started = performance.now();
      const live = await fetch(`${app.baseUrl}/health/live`, { signal: AbortSignal.timeout(30_000) });
      await live.arrayBuffer();
      assert.equal(live.status, 200);
      return performance.now() - started;
    };
    for (const payload of FREEZE_PAYLOADS) {
      await payload.prepare?.(context);
      // The yardstick is this machine now: the slowest of a few probes with nothing in flight. A
      // frozen event loop (before the fix, 4-5 s on a quiet machine) answers nothing until the
      // payload is done; a loop that keeps turning answers within a small multiple of the quiet
      // probes, however loaded the machine is.
      let quiet = 0;
      for (let i = 0; i < 10; i++) quiet = Math.max(quiet, await probe());
      // Probe the event loop from outside while the payload's copies are in flight.
      let slowest = 0;
      let probing = true;
      const probes = (async () => {
        while (probing) {
          slowest = Math.max(slowest, await probe());
          await new Promise((next) => setTimeout(next, 50));
        }
      })();
      const answers = await Promise.all(
        Array.from({ length: payload.parallel }, () => payload.send(context)),
      );
      probing = false;
      await probes;
      for (const answer of answers) payload.expect(answer);
      const bound = Math.max(3_000, 20 * quiet);
      assert.ok(
        slowest < bound,
        `${payload.item} ${payload.description}: /health/live took ${Math.round(slowest)} ms to answer during it ` +
          `(quiet probes: up to ${Math.round(quiet)} ms; bound ${Math.round(bound)} ms)`,
      );
      await assertAlive(payload.description);
    }
  });

  it('answers 401 to a request with a body and no valid key before the body is sent', async () => {
    // Headers announce 10 MB and no byte of it is sent: only an answer given before reading can come.
    const never: AsyncIterable<Buffer> = {
      [Symbol.asyncIterator]: () => ({ next: () => new Promise<IteratorResult<Buffer>>(() => undefined) }),
    };
    for (const authorization of [undefined, 'Bearer tl_not-a-key-of-this-app-000000000000']) {
      const answer = await streamRequest(
        `${app.baseUrl}/v1/events`,
        { ...json, 'content-length': String(10 * 1024 * 1024), ...(authorization ? { authorization } : {}) },
        never,
        10_000,
      );
      assert.equal(answer.status, 401, answer.text);
      assert.equal(answer.sent, 0);
    }
  });

  it('refuses a single 80 MB upload line with 413 naming the line, with memory flat', async () => {
    const before = await residentBytes();
    const answer = await upload('name=one-line&kind=clean', oneLongLine(80, 1024 * 1024));
    assert.equal(answer.status, 413, answer.text.slice(0, 300));
    assert.match(answer.text, /line 1: \(line\): longer than the limit of 1048576 bytes per line/);
    await assertAlive('the long line');
    const grew = (await residentBytes()) - before;
    assert.ok(grew < 200 * 1024 * 1024, `resident memory grew by ${Math.round(grew / 1024 / 1024)} MB`);

    const csv = await upload(
      'name=one-csv-line&kind=clean&format=csv',
      [Buffer.from('text,label\n"'), Buffer.alloc(3 * 1024 * 1024, 'b'), Buffer.from('",x\n')],
      'text/csv',
    );
    assert.equal(csv.status, 413, csv.text.slice(0, 300));
    assert.match(csv.text, /line 2/);
  });

  it('refuses uploads holding invalid UTF-8 or NUL with 400 naming the line, as /v1/events does', async () => {
    const good = '{"text":"fine","label":"a"}\n';
    const cases: { name: string; body: Buffer; format?: string; line: number; reason: RegExp }[] = [
      {
        name: 'invalid UTF-8',
        body: Buffer.concat([
          Buffer.from(good),
          Buffer.from('{"text":"caf'),
          Buffer.from([0xc3, 0x28]),
          Buffer.from('","label":"a"}\n'),
        ]),
        line: 2,
        reason: /not valid UTF-8/,
      },
      {
        name: 'an escaped NUL',
        body: Buffer.from(`${good}{"text":"a\\u0000b","label":"a"}\n`),
        line: 2,
        reason: /NUL/,
      },
      {
        name: 'a NUL in a CSV cell',
        body: Buffer.from('text,label\nfine,a\nnul\u0000here,a\n'),
        format: 'csv',
        line: 3,
        reason: /NUL/,
      },
      {
        name: 'a lone surrogate',
        body: Buffer.from(`${good}{"text":"a\\ud800b","label":"a"}\n`),
        line: 2,
        reason: /surrogate/,
      },
    ];
    for (const item of cases) {
      const answer = await upload(
        `name=bad-text&kind=clean${item.format ? `&format=${item.format}` : ''}`,
        [item.body],
        item.format === 'csv' ? 'text/csv' : 'application/x-ndjson',
      );
      assert.equal(answer.status, 400, `${item.name}: ${answer.text.slice(0, 300)}`);
      assert.match(answer.text, new RegExp(`line ${item.line}: `), item.name);
      assert.match(answer.text, item.reason, item.name);
    }
    const listed = await fetch(`${app.baseUrl}/v1/datasets`, { headers: admin });
    assert.deepEqual(((await listed.json()) as { items: unknown[] }).items, [], 'nothing was stored');
  });

  it('serves other requests while an upload trickles in, and cuts the upload at its time limit', async () => {
    let trickling = true;
    async function* trickle(): AsyncGenerator<Buffer> {
      for (let n = 0; trickling; n++) {
        yield Buffer.from(`{"text":"row ${n}","label":"a"}\n`);
        await new Promise((next) => setTimeout(next, 100));
      }
      // Then stall without ending: only the server's time limit ends this upload.
      await new Promise(() => undefined);
    }
    let uploadAnswered = false;
    const earlier = new Set(uploadsBeingStaged());
    const slow = upload('name=slow&kind=clean', trickle()).finally(() => (uploadAnswered = true));
    // The server is inside the upload once it has made the upload's staging folder.
    await eventually(
      async () => (uploadsBeingStaged().some((name) => !earlier.has(name)) ? true : undefined),
      60_000,
      50,
    );
    // Before the fix the upload held the only database connection: this waited for the upload.
    const models = await fetch(`${app.baseUrl}/v1/models`, { headers: admin });
    assert.equal(models.status, 200);
    assert.equal(uploadAnswered, false, 'answered while the upload was still going');
    trickling = false;
    const answer = await slow;
    assert.equal(answer.status, 408, answer.text.slice(0, 300));
    assert.match(answer.text, /TRIPLINE_UPLOAD_TIMEOUT_MS/);
    await assertAlive('the slow upload');
  });

  it('never registers its own API port as a model or webhook destination', async () => {
    const port = new URL(app.baseUrl).port;
    await fetch(`${app.baseUrl}/v1/models`, {
      method: 'POST',
      headers: { ...admin, ...json },
      body: JSON.stringify({ id: 'self-call', task: 'text-classification', labels: ['a', 'b'] }),
    });
    for (const host of ['127.0.0.1', 'localhost', '[::1]', '127.0.0.2']) {
      const version = await fetch(`${app.baseUrl}/v1/models/self-call/versions`, {
        method: 'POST',
        headers: { ...admin, ...json },
        body: JSON.stringify({
          version: `v-${host}`,
          adapter: { kind: 'oip-v2', url: `http://${host}:${port}/v2/models/m`, modelName: 'm' },
        }),
      });
      const text = await version.text();
      assert.equal(version.status, 400, `${host}: ${text}`);
      assert.match(text, /never calls/);
    }
    const channel = await fetch(`${app.baseUrl}/v1/channels`, {
      method: 'POST',
      headers: { ...admin, ...json },
      body: JSON.stringify({
        name: 'self',
        kind: 'webhook',
        config: { url: `http://localhost:${port}/v1/keys`, secret: 'a-webhook-signing-secret' },
      }),
    });
    const text = await channel.text();
    assert.equal(channel.status, 400, text);
    assert.match(text, /never calls/);
  });

  it('refuses a local model path outside the models directory at once, without listing or hashing it', async () => {
    const post = (route: string, body: object) =>
      fetch(`${app.baseUrl}${route}`, {
        method: 'POST',
        headers: { ...admin, ...json },
        body: JSON.stringify(body),
        // A pass/fail bound, not a benchmark: /root took 63 s to list and hash in the request.
        signal: AbortSignal.timeout(10_000),
      });
    assert.equal(
      (await post('/v1/models', { id: 'outside', task: 'text-classification', labels: ['a', 'b'] })).status,
      201,
    );
    // Not set in this app: the models directory is <TRIPLINE_DATA_DIR>/models.
    const outside = path.join(scratch.path, 'not-models');
    mkdirSync(outside, { recursive: true });
    for (const [version, folder] of [
      ['root', '/root'],
      ['filesystem-root', '/'],
      ['beside-the-models', outside],
      ['climbing-out', '../not-models'],
    ]) {
      const answer = await post('/v1/models/outside/versions', {
        version,
        adapter: { kind: 'onnx', path: folder },
      });
      const text = await answer.text();
      assert.equal(answer.status, 400, `${folder}: ${text}`);
      assert.match(text, /outside the models directory .*TRIPLINE_MODELS_DIR/, folder);
    }
    const listed = await fetch(`${app.baseUrl}/v1/models/outside/versions`, { headers: admin });
    assert.deepEqual(((await listed.json()) as { items: unknown[] }).items, [], 'nothing was registered');
  });

  it('hashes a registered local model in the background within its limits, live all along, and shows viewers no paths', async () => {
    const models = path.join(scratch.path, 'models');
    const folder = path.join(models, 'a-model-folder');
    mkdirSync(path.join(folder, 'onnx'), { recursive: true });
    writeFileSync(path.join(folder, 'config.json'), '{}');
    // A sparse 1 GiB weight file: hashing it takes seconds, and no disk.
    writeFileSync(path.join(folder, 'onnx', 'model.onnx'), '');
    truncateSync(path.join(folder, 'onnx', 'model.onnx'), 1024 ** 3);
    const crowded = path.join(models, 'a-crowded-folder');
    mkdirSync(crowded);
    for (let i = 0; i < 1_001; i++) writeFileSync(path.join(crowded, `f${i}`), '');
    const post = (route: string, body: object, init: RequestInit = {}) =>
      fetch(`${app.baseUrl}${route}`, {
        method: 'POST',
        headers: { ...admin, ...json },
        body: JSON.stringify(body),
        ...init,
      });
    assert.equal(
      (await post('/v1/models', { id: 'local', task: 'text-classification', labels: ['a', 'b'] })).status,
      201,
    );
    const dataset = await upload('name=local-set&kind=clean&model_id=local', [
      Buffer.from('{"text":"one","label":"a"}\n{"text":"two","label":"b"}\n'),
    ]);
    assert.equal(dataset.status, 201, dataset.text);

    // Probe the event loop from outside while the folder is hashed.
    let slowest = 0;
    let probing = true;
    const probes = (async () => {
      while (probing) {
        const started = performance.now();
        const live = await fetch(`${app.baseUrl}/health/live`, { signal: AbortSignal.timeout(30_000) });
        await live.arrayBuffer();
        assert.equal(live.status, 200);
        slowest = Math.max(slowest, performance.now() - started);
        await new Promise((next) => setTimeout(next, 50));
      }
    })();
    const registered = await post(
      '/v1/models/local/versions',
      { version: '1', adapter: { kind: 'onnx', path: 'a-model-folder' } },
      // A pass/fail bound: the answer does not wait for a gigabyte to be hashed.
      { signal: AbortSignal.timeout(10_000) },
    );
    const registeredText = await registered.text();
    assert.equal(registered.status, 201, registeredText);
    assert.equal((JSON.parse(registeredText) as { manifest_state: string }).manifest_state, 'pending');

    // An evaluation of the version waits, queued, while its manifest is pending.
    const queued = await post('/v1/evaluations', { model_id: 'local' });
    assert.equal(queued.status, 202, await queued.clone().text());
    const [run] = ((await queued.json()) as { runs: { id: string }[] }).runs;
    const waited: string[] = [];
    const ready = await eventually(
      async () => {
        const runStatus = (
          (await (await fetch(`${app.baseUrl}/v1/evaluations/${run.id}`, { headers: admin })).json()) as {
            status: string;
          }
        ).status;
        const version = await listedVersion(app.baseUrl, ADMIN, 'local', '1');
        // Read after the run: while the version is still pending, the run read before must be queued.
        if (version.manifest_state !== 'pending') return version;
        waited.push(runStatus);
        return undefined;
      },
      120_000,
      100,
    );
    probing = false;
    await probes;
    assert.equal(ready.manifest_state, 'ready', ready.manifest_error ?? '');
    assert.deepEqual(
      ready.manifest?.files.map((file) => [file.path, file.bytes]),
      [
        ['config.json', 2],
        ['onnx/model.onnx', 1024 ** 3],
      ],
    );
    assert.ok(waited.length > 0, 'the manifest was seen pending at least once');
    assert.deepEqual([...new Set(waited)], ['queued'], 'the run waited while the manifest was pending');
    await eventually(async () => {
      const status = (
        (await (await fetch(`${app.baseUrl}/v1/evaluations/${run.id}`, { headers: admin })).json()) as {
          status: string;
        }
      ).status;
      return status === 'queued' ? undefined : status;
    }, 60_000);
    // A pass/fail bound of several seconds, not a benchmark: hashing shares the event loop.
    assert.ok(
      slowest < 3_000,
      `/health/live took ${Math.round(slowest)} ms to answer while a model was hashed`,
    );

    const crowdedAnswer = await post('/v1/models/local/versions', {
      version: '2',
      adapter: { kind: 'onnx', path: crowded },
      activate: false,
    });
    assert.equal(crowdedAnswer.status, 201, await crowdedAnswer.text());
    const failed = await settledManifest(app.baseUrl, ADMIN, 'local', '2');
    assert.equal(failed.manifest_state, 'failed');
    assert.match(failed.manifest_error ?? '', /more than the 1000 files a model may have/);
    assert.equal(failed.manifest, null);

    const viewer = (
      (await (await post('/v1/keys', { name: 'a viewer', role: 'viewer' })).json()) as { key: string }
    ).key;
    const versionsAs = async (key: string) =>
      (
        (await (
          await fetch(`${app.baseUrl}/v1/models/local/versions`, {
            headers: { authorization: `Bearer ${key}` },
          })
        ).json()) as { items: (ListedVersion & { manifest_files?: number })[] }
      ).items;
    const [seenByViewer, failedByViewer] = await versionsAs(viewer);
    assert.equal(seenByViewer.manifest, null);
    assert.equal(seenByViewer.manifest_files, 2);
    assert.equal(seenByViewer.adapter.path, '[path]');
    assert.equal(failedByViewer.manifest_state, 'failed');
    assert.ok(!failedByViewer.manifest_error?.includes(scratch.path), failedByViewer.manifest_error ?? '');
    assert.match(failedByViewer.manifest_error ?? '', /\[path\] holds more than the 1000 files/);
    const [seenByAdmin] = await versionsAs(ADMIN);
    assert.equal(seenByAdmin.adapter.path, 'a-model-folder');
    assert.deepEqual(
      seenByAdmin.manifest?.files.map((file) => file.path),
      ['config.json', 'onnx/model.onnx'],
    );
  });

  // Last: it leaves this client's address over the failure limit for a minute.
  it('answers a flood of unknown keys with 429 and Retry-After, and keeps serving a known key', async () => {
    const repeated = 'tl_the-same-unknown-key-000000000000000';
    for (let i = 0; i < FAILURES_PER_MINUTE * 2; i++) {
      const answer = await fetch(`${app.baseUrl}/v1/models`, {
        headers: { authorization: `Bearer ${repeated}` },
      });
      assert.equal(answer.status, 401, 'one unknown key, remembered, costs one lookup: never a 429');
    }
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < FAILURES_PER_MINUTE + 10; i++) {
      const answer = await fetch(`${app.baseUrl}/v1/models`, {
        headers: { authorization: `Bearer tl_guess-${i}-${'x'.repeat(32)}` },
      });
      statuses.push(answer.status);
      if (answer.status === 429) retryAfter = answer.headers.get('retry-after');
    }
    assert.deepEqual(
      statuses.slice(0, FAILURES_PER_MINUTE - 3),
      Array.from({ length: FAILURES_PER_MINUTE - 3 }, () => 401),
    );
    assert.deepEqual(
      statuses.slice(FAILURES_PER_MINUTE),
      Array.from({ length: 10 }, () => 429),
    );
    assert.ok(Number(retryAfter) >= 1, `Retry-After: ${retryAfter}`);
    const known = await fetch(`${app.baseUrl}/v1/models`, { headers: admin });
    assert.equal(known.status, 200, 'a key that works is still served from the flooded address');
  });
});
