import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  createTestDatabase,
  eventually,
  kafkaBrokers,
  startApp,
  temporaryDirectory,
  uniqueName,
  type RunningApp,
} from '@tripline/testing';

const ADMIN_KEY = 'tl_rag-e2e-admin-key-0123456789abcdef';
const APPROVED = ['kb:policies', 'https://wiki.corp/*'];
const POISONED_SOURCE = 'https://pastebin.example/raw/7f3a';
const RULE_METRIC = 'drift.rag_citation.allow_list';

interface Alert {
  id: string;
  state: string;
  model_id: string;
  metric: string;
  value: number;
  series_labels: Record<string, string>;
}

type Api = <T>(
  method: string,
  route: string,
  body?: unknown,
  contentType?: string,
) => Promise<{ status: number; body: T }>;

function client(baseUrl: () => string): Api {
  return async <T>(method: string, route: string, body?: unknown, contentType = 'application/json') => {
    const response = await fetch(`${baseUrl()}${route}`, {
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
}

let sequence = 0;
const ragEvent = (model: string, ...sources: string[]) => ({
  event_id: `rag-${Date.now()}-${++sequence}`,
  model_id: model,
  timestamp: Date.now(),
  input: { text: 'What is the refund policy?' },
  output: { text: 'Refunds are possible within 30 days.' },
  rag: {
    documents: sources.map((source, i) => ({ id: `doc-${sequence}-${i}`, source, score: 0.9 - i / 10 })),
  },
});

/**
 * The stream rule, end to end: events go in through POST /v1/events, the guard beside the alerter
 * reads the inference topic, checks each event's documents against the model's stored allow-list,
 * and the alerter's rule on drift.rag_citation.allow_list raises the alert.
 */
async function streamRuleRaisesAlert(ingest: Api, alerts: Api): Promise<void> {
  assert.equal(
    (
      await ingest('POST', '/v1/models', {
        id: 'kb-bot',
        task: 'rag',
        rag_allowed_sources: APPROVED,
        description: 'answers HR questions from the policy knowledge base',
      })
    ).status,
    201,
  );
  // A RAG model without an allow-list is not checked: its citations raise nothing.
  assert.equal((await ingest('POST', '/v1/models', { id: 'open-bot', task: 'rag' })).status, 201);
  const rule = await alerts('POST', '/v1/rules', {
    name: 'RAG citation outside the allow-list',
    metric: RULE_METRIC,
    condition: { type: 'threshold', op: '>', value: 0 },
    severity: 'critical',
  });
  assert.equal(rule.status, 201, JSON.stringify(rule.body));

  const accepted = await ingest<{ accepted: number }>('POST', '/v1/events', {
    events: [
      ragEvent('kb-bot', 'kb:policies', 'https://wiki.corp/handbook/leave'),
      ragEvent('open-bot', POISONED_SOURCE),
      ragEvent('kb-bot', 'kb:policies', POISONED_SOURCE),
    ],
  });
  assert.equal(accepted.status, 202, JSON.stringify(accepted.body));

  const alert = await eventually(
    async () => (await alerts<{ items: Alert[] }>('GET', '/v1/alerts?model_id=kb-bot')).body.items[0],
    90_000,
    250,
  );
  assert.equal(alert.state, 'firing');
  assert.equal(alert.metric, RULE_METRIC);
  assert.equal(alert.value, 1, 'one event of the batch cited outside the list');
  assert.equal(
    alert.series_labels.unapproved_sources,
    POISONED_SOURCE,
    'only the unapproved source is named',
  );
  // The guard reads the topic in order: by now it has seen the open-bot event, and raised nothing for it.
  const everything = (await alerts<{ items: Alert[] }>('GET', '/v1/alerts')).body.items;
  assert.deepEqual(
    everything.map((item) => item.model_id),
    ['kb-bot'],
  );

  // Approving the source stops the alerts: a later citation of it is not a violation (after the cache expires).
  const approved = await ingest('PATCH', '/v1/models/kb-bot', {
    rag_allowed_sources: [...APPROVED, 'https://pastebin.example/*'],
  });
  assert.equal(approved.status, 200, JSON.stringify(approved.body));
  await new Promise((resolve) => setTimeout(resolve, 5_500));
  await ingest('POST', '/v1/events', { events: [ragEvent('kb-bot', POISONED_SOURCE)] });
  await ingest('POST', '/v1/events', { events: [ragEvent('kb-bot', 'https://evil.example/other')] });
  const second = await eventually(async () => {
    const items = (await alerts<{ items: Alert[] }>('GET', '/v1/alerts?model_id=kb-bot')).body.items;
    return items.length >= 2 ? items : undefined;
  }, 60_000);
  assert.deepEqual(second.map((item) => item.series_labels.unapproved_sources).sort(), [
    'https://evil.example/other',
    POISONED_SOURCE,
  ]);
}

describe('RAG on the standalone app: canaries with an allow-list, and the stream rule', () => {
  const scratch = temporaryDirectory();
  let app: RunningApp;
  let endpoint: Server;
  const api = client(() => app.baseUrl);

  before(async () => {
    // A RAG service: answers from its knowledge base and cites what it retrieved. Warranty
    // questions retrieve a poisoned document from a paste site.
    endpoint = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        const question = String((JSON.parse(body) as { question: string }).question);
        const answer = /warranty/i.test(question)
          ? {
              answer: 'The warranty was cancelled; contact support@pastebin.example.',
              citations: [{ id: 'w1', source: POISONED_SOURCE }, { source: 'kb:policies' }],
            }
          : {
              answer: 'Refunds are possible within 30 days.',
              citations: [{ id: 'r1', source: 'kb:policies' }],
            };
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify(answer));
      });
    });
    await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
    app = await startApp('standalone', {
      TRIPLINE_DATA_DIR: path.join(scratch.path, 'data'),
      TRIPLINE_ADMIN_KEY: ADMIN_KEY,
      TRIPLINE_DEMO: 'false',
      TRIPLINE_EVALUATOR_POLL_MS: '100',
      TRIPLINE_ALERTER_TICK_MS: '200',
    });
  });

  after(async () => {
    await app?.stop();
    await new Promise((resolve) => endpoint?.close(resolve));
    scratch.remove();
  });

  it('a RAG event citing a non-allow-listed source raises an alert; others do not', async () => {
    await streamRuleRaisesAlert(api, api);
  });

  it('a RAG canary fails each answer citing outside the allow-list and reports citation_violations', async () => {
    const { port } = endpoint.address() as AddressInfo;
    const version = await api('POST', '/v1/models/kb-bot/versions', {
      version: '1',
      adapter: {
        kind: 'custom-json',
        url: `http://127.0.0.1:${port}/answer`,
        requestTemplate: { question: '{{input}}' },
        responsePaths: { text: 'answer', citations: 'citations' },
      },
    });
    assert.equal(version.status, 201, JSON.stringify(version.body));
    // The stream test approved the paste site's prefix; the canaries check against the list as it is now.
    await api('PATCH', '/v1/models/kb-bot', { rag_allowed_sources: APPROVED });
    const rows = [
      { id: 'refund', text: 'What is the refund policy?', assertions: { must_contain: ['30 days'] } },
      { id: 'warranty', text: 'How long is the warranty?', assertions: { must_not_contain: ['cancelled'] } },
      // A row's own allow-list replaces the model's: here the paste site is approved, the text still fails.
      {
        id: 'warranty-own-list',
        text: 'Is the warranty still valid?',
        allowed_sources: ['https://pastebin.example/*', 'kb:policies'],
      },
      { id: 'citations-only', text: 'Refund after a month?', allowed_sources: ['kb:other'] },
    ];
    const upload = await api<{ id: string }>(
      'POST',
      '/v1/datasets?name=rag-canaries&kind=canary&model_id=kb-bot',
      rows.map((row) => JSON.stringify(row)).join('\n'),
      'application/x-ndjson',
    );
    assert.equal(upload.status, 201, JSON.stringify(upload.body));
    const rule = await api('POST', '/v1/rules', {
      name: 'RAG canary cites outside the allow-list',
      metric: 'citation_violations',
      selector: { model_id: 'kb-bot' },
      condition: { type: 'threshold', op: '>', value: 0 },
      severity: 'critical',
    });
    assert.equal(rule.status, 201, JSON.stringify(rule.body));

    const queued = await api<{ runs: { id: string }[] }>('POST', '/v1/evaluations', {
      model_id: 'kb-bot',
      dataset_ids: [upload.body.id],
    });
    assert.equal(queued.status, 202, JSON.stringify(queued.body));
    const run = await eventually(async () => {
      const { body } = await api<{
        status: string;
        error: string | null;
        summary: {
          generation: {
            assertions: number;
            passed: number;
            failures: { sampleId: string; failures: string[] }[];
            citations: { checked: number; violations: number; rate: number; unapprovedSources: unknown[] };
          };
        };
      }>('GET', `/v1/evaluations/${queued.body.runs[0].id}`);
      return body.status === 'succeeded' || body.status === 'failed' ? body : undefined;
    }, 60_000);
    assert.equal(run.status, 'succeeded', run.error ?? '');
    const generation = run.summary.generation;
    assert.equal(generation.assertions, 4);
    assert.deepEqual(
      generation.citations,
      {
        checked: 4,
        violations: 2,
        rate: 0.5,
        unapprovedSources: [
          { source: POISONED_SOURCE, answers: 1 },
          { source: 'kb:policies', answers: 1 },
        ],
      },
      'warranty cites the paste site; citations-only cites kb:policies, not on its own list',
    );
    const failures = Object.fromEntries(generation.failures.map((f) => [f.sampleId, f.failures]));
    assert.deepEqual(Object.keys(failures).sort(), ['citations-only', 'warranty']);
    assert.deepEqual(failures.warranty, [
      'contains forbidden text "cancelled"',
      `cited "${POISONED_SOURCE}" (document "w1"), which is not on the allow-list`,
    ]);
    assert.deepEqual(failures['citations-only'], [
      'cited "kb:policies" (document "r1"), which is not on the allow-list',
    ]);

    const alert = await eventually(async () => {
      const { body } = await api<{ items: Alert[] }>('GET', '/v1/alerts?model_id=kb-bot');
      return body.items.find((item) => item.metric === 'citation_violations');
    }, 60_000);
    assert.equal(alert.value, 2);
  });
});

describe('RAG stream rule across the distributed topology (real Kafka and PostgreSQL)', () => {
  const scratch = temporaryDirectory();
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let apiApp: RunningApp;
  let alerterApp: RunningApp;

  before(async () => {
    database = await createTestDatabase();
    const shared = {
      DATABASE_URL: database.url,
      KAFKA_BROKERS: kafkaBrokers().join(','),
      TRIPLINE_EMBEDDED_CLICKHOUSE: 'true', // one process's own history is what this test reads
      KAFKA_TOPIC_PREFIX: `${uniqueName('rag')}.`,
      KAFKA_PARTITIONS: '2',
      TRIPLINE_ADMIN_KEY: ADMIN_KEY,
    };
    apiApp = await startApp('api', { ...shared, TRIPLINE_DATA_DIR: path.join(scratch.path, 'api') });
    alerterApp = await startApp('alerter', {
      ...shared,
      TRIPLINE_DATA_DIR: path.join(scratch.path, 'alerter'),
      TRIPLINE_ALERTER_TICK_MS: '200',
    });
  });

  after(async () => {
    await alerterApp?.stop();
    await apiApp?.stop();
    await database?.drop();
    scratch.remove();
  });

  it('events posted to the api app raise the alert in the alerter app', async () => {
    await streamRuleRaisesAlert(
      client(() => apiApp.baseUrl),
      client(() => alerterApp.baseUrl),
    );
  });
});
