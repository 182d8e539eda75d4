import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import {
  createRecorder,
  RecordValidationError,
  type InferenceEventInput,
  type RecorderError,
  type RecorderOptions,
  type RecordedItem,
} from '@tripline/sdk';
import { eventually, freePort } from '@tripline/testing';

interface Received {
  path: string;
  authorization?: string;
  bytes: number;
  items: { event_id: string }[];
}

interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

/** 202 with every item accepted, as the ingest endpoint answers a clean batch. */
const acceptAll = (request: Received): Answer => ({
  status: 202,
  body: {
    accepted: request.items.length,
    rejected: 0,
    results: request.items.map((item, index) => ({ index, event_id: item.event_id, status: 'accepted' })),
  },
});

/** A real HTTP receiver on a free local port that answers each request as `answer` decides. */
async function startReceiver(
  answer: (request: Received, index: number) => Answer | Promise<Answer> = acceptAll,
) {
  const requests: Received[] = [];
  const server: Server = createServer((message: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    message.on('data', (chunk: Buffer) => chunks.push(chunk));
    message.on('end', async () => {
      const raw = Buffer.concat(chunks);
      const body = JSON.parse(raw.toString('utf8')) as Record<string, { event_id: string }[]>;
      const request: Received = {
        path: message.url ?? '',
        authorization: message.headers.authorization,
        bytes: raw.length,
        items: body.events ?? body.feedback ?? [],
      };
      const index = requests.push(request) - 1;
      const reply = await answer(request, index);
      response.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      response.end(reply.body === undefined ? '' : JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    ids: () => requests.flatMap((request) => request.items.map((item) => item.event_id)),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A promise the test resolves by hand: the receiver holds an answer until then. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

const event = (i: number, extra: Partial<InferenceEventInput> = {}): InferenceEventInput => ({
  event_id: `e-${i}`,
  model_id: 'sentiment',
  timestamp: Date.now(),
  output: { label: 'positive', scores: { positive: 0.9, negative: 0.1 } },
  ...extra,
});

const ids = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `e-${from + i}`);

describe('SDK recorder over HTTP', () => {
  const cleanups: (() => Promise<void>)[] = [];
  const logged: string[] = [];
  const logger = {
    warn: (m: string) => void logged.push(`warn ${m}`),
    error: (m: string) => void logged.push(`error ${m}`),
  };

  afterEach(async () => {
    // Recorders first: closing one flushes into its receiver.
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    logged.length = 0;
  });

  async function setup(
    answer?: (request: Received, index: number) => Answer | Promise<Answer>,
    options: Partial<RecorderOptions> = {},
  ) {
    const receiver = await startReceiver(answer);
    cleanups.push(receiver.close);
    const failures: { error: RecorderError; items: RecordedItem[] }[] = [];
    const recorder = createRecorder({
      transport: { kind: 'http', url: receiver.url, apiKey: 'tl_test-key' },
      flushIntervalMs: 60_000,
      retryBaseMs: 1,
      logger,
      onError: (error, items) => void failures.push({ error, items }),
      ...options,
    });
    cleanups.push(() => recorder.close());
    return { receiver, recorder, failures };
  }

  describe('batching', () => {
    it('sends a batch as soon as maxBatchSize items are buffered, and the remainder on flush', async () => {
      const { receiver, recorder } = await setup(undefined, { maxBatchSize: 10 });
      for (let i = 0; i < 25; i++) recorder.record(event(i));
      await eventually(async () => (recorder.stats().sent === 20 ? true : undefined));
      assert.equal(receiver.requests.length, 2);
      assert.equal(recorder.stats().buffered, 5);
      await recorder.flush();
      assert.deepEqual(
        receiver.requests.map((request) => request.items.length),
        [10, 10, 5],
      );
      assert.deepEqual(receiver.ids(), ids(0, 25), 'in recording order');
      assert.deepEqual(recorder.stats(), {
        buffered: 0,
        sent: 25,
        failed: 0,
        dropped: 0,
        retries: 0,
        rejected: 0,
      });
    });

    it('sends what has waited flushIntervalMs without a flush', async () => {
      const { receiver, recorder } = await setup(undefined, { flushIntervalMs: 20 });
      recorder.record(event(0));
      recorder.record(event(1));
      await eventually(async () => (receiver.requests.length === 1 ? true : undefined));
      assert.deepEqual(receiver.ids(), ['e-0', 'e-1']);
      await eventually(async () => (recorder.stats().sent === 2 ? true : undefined));
    });

    it('keeps each request within maxBatchBytes', async () => {
      const { receiver, recorder } = await setup(undefined, { maxBatchBytes: 1_024 });
      for (let i = 0; i < 12; i++) recorder.record(event(i, { input: { text: 'x'.repeat(300) } }));
      await recorder.flush();
      assert.ok(receiver.requests.length >= 4, `${receiver.requests.length} requests`);
      for (const request of receiver.requests)
        assert.ok(request.bytes <= 1_024 + 16, `${request.bytes} bytes`);
      assert.deepEqual(receiver.ids(), ids(0, 12));
    });

    it('posts events to /v1/events and feedback to /v1/feedback with the API key', async () => {
      const { receiver, recorder } = await setup();
      recorder.record(event(0));
      recorder.recordFeedback({
        event_id: 'e-0',
        model_id: 'sentiment',
        label: 'negative',
        timestamp: Date.now(),
      });
      await recorder.flush();
      assert.deepEqual(receiver.requests.map((request) => request.path).sort(), [
        '/v1/events',
        '/v1/feedback',
      ]);
      for (const request of receiver.requests) assert.equal(request.authorization, 'Bearer tl_test-key');
      assert.equal(recorder.stats().sent, 2);
    });
  });

  describe('validation', () => {
    it('throws synchronously for an invalid item, naming the field, and buffers nothing', async () => {
      const { recorder } = await setup();
      assert.throws(
        () => recorder.record({ event_id: 'e-1', timestamp: Date.now() } as InferenceEventInput),
        (error: unknown) => {
          assert.ok(error instanceof RecordValidationError);
          assert.equal(error.errors[0].field, 'model_id');
          assert.match(error.message, /^invalid inference event: model_id: .*it is missing/);
          return true;
        },
      );
      assert.throws(
        () => recorder.record(event(2, { output: { scores: { positive: 'high' as unknown as number } } })),
        /invalid inference event: output\.scores\.positive: expected a probability between 0 and 1/,
      );
      assert.throws(
        () => recorder.recordFeedback({ event_id: 'e-1', model_id: 'm', timestamp: Date.now() } as never),
        /invalid feedback: label: /,
      );
      assert.equal(recorder.stats().buffered, 0);
    });

    it('with validate: false, sends what the server then rejects item by item: counted and handed to onError', async () => {
      const { recorder, failures } = await setup(
        (request) => ({
          status: 202,
          body: {
            accepted: 1,
            rejected: 1,
            results: [
              { index: 0, event_id: request.items[0].event_id, status: 'accepted' },
              {
                index: 1,
                event_id: 'bad',
                status: 'rejected',
                errors: [{ field: 'model_id', message: 'expected model_id as a string (it is missing)' }],
              },
            ],
          },
        }),
        { validate: false },
      );
      recorder.record(event(0));
      recorder.record({ event_id: 'bad', timestamp: Date.now() } as InferenceEventInput);
      await recorder.flush();
      assert.deepEqual(recorder.stats(), {
        buffered: 0,
        sent: 1,
        failed: 0,
        dropped: 0,
        retries: 0,
        rejected: 1,
      });
      assert.equal(failures.length, 1);
      assert.equal(failures[0].error.reason, 'rejected');
      assert.deepEqual(
        failures[0].items.map((item) => item.event_id),
        ['bad'],
      );
      assert.deepEqual(failures[0].error.rejections, [
        {
          index: 0,
          event_id: 'bad',
          errors: [{ field: 'model_id', message: 'expected model_id as a string (it is missing)' }],
        },
      ]);
    });
  });

  describe('overflow', () => {
    // The receiver holds the first batch (5 items in flight), so 3 more fill maxBufferedEvents = 8.
    async function fillBehindAHeldBatch(overflow: RecorderOptions['overflow']) {
      const held = gate();
      const setupResult = await setup(
        async (request, index) => {
          if (index === 0) await held.opened;
          return acceptAll(request);
        },
        { maxBatchSize: 5, maxBufferedEvents: 8, overflow },
      );
      // Runs before the recorder's close, so a failed assertion cannot leave close() waiting on it.
      cleanups.push(async () => held.open());
      for (let i = 0; i < 8; i++) void setupResult.recorder.record(event(i));
      assert.equal(setupResult.recorder.stats().buffered, 8);
      return { ...setupResult, held };
    }

    it('drop-oldest discards the oldest queued items and counts them', async () => {
      const { receiver, recorder, held } = await fillBehindAHeldBatch('drop-oldest');
      assert.equal(recorder.record(event(8)), undefined);
      recorder.record(event(9));
      assert.deepEqual(recorder.stats(), {
        buffered: 8,
        sent: 0,
        failed: 0,
        dropped: 2,
        retries: 0,
        rejected: 0,
      });
      held.open();
      await recorder.flush();
      assert.deepEqual(receiver.ids(), [...ids(0, 5), 'e-7', 'e-8', 'e-9']);
      assert.equal(recorder.stats().sent, 8);
      assert.ok(logged.some((line) => /applying overflow policy drop-oldest/.test(line)));
    });

    it('drop-newest discards the items that do not fit and counts them', async () => {
      const { receiver, recorder, held } = await fillBehindAHeldBatch('drop-newest');
      recorder.record(event(8));
      recorder.record(event(9));
      assert.equal(recorder.stats().dropped, 2);
      held.open();
      await recorder.flush();
      assert.deepEqual(receiver.ids(), ids(0, 8));
    });

    it('drop-oldest drops the new item when everything held is already in flight', async () => {
      const held = gate();
      const { receiver, recorder } = await setup(
        async (request, index) => {
          if (index === 0) await held.opened;
          return acceptAll(request);
        },
        { maxBatchSize: 4, maxBufferedEvents: 4 },
      );
      cleanups.push(async () => held.open());
      for (let i = 0; i < 5; i++) recorder.record(event(i));
      assert.deepEqual(recorder.stats(), {
        buffered: 4,
        sent: 0,
        failed: 0,
        dropped: 1,
        retries: 0,
        rejected: 0,
      });
      held.open();
      await recorder.flush();
      assert.deepEqual(receiver.ids(), ids(0, 4));
    });

    it('block makes record() wait for room, never exceeding maxBufferedEvents, and loses nothing', async () => {
      const { receiver, recorder, held } = await fillBehindAHeldBatch('block');
      let admitted = false;
      const waiting = [recorder.record(event(8)), recorder.record(event(9))];
      assert.ok(waiting[0] instanceof Promise);
      void Promise.all(waiting).then(() => (admitted = true));
      await eventually(async () => (receiver.requests.length === 1 ? true : undefined));
      assert.equal(admitted, false, 'no room while the first batch is in flight');
      assert.deepEqual(recorder.stats(), {
        buffered: 8,
        sent: 0,
        failed: 0,
        dropped: 0,
        retries: 0,
        rejected: 0,
      });
      held.open();
      await Promise.all(waiting);
      await recorder.flush();
      assert.deepEqual(receiver.ids(), ids(0, 10));
      assert.equal(recorder.stats().dropped, 0);
    });
  });

  describe('retries', () => {
    it('retries a 503 and delivers the same batch on the next attempt', async () => {
      const retried: { status?: number; attempt: number }[] = [];
      const { receiver, recorder } = await setup(
        (request, index) =>
          index === 0 ? { status: 503, body: { message: 'transport down' } } : acceptAll(request),
        { onRetry: (error, attempt) => void retried.push({ status: error.status, attempt }) },
      );
      for (let i = 0; i < 3; i++) recorder.record(event(i));
      await recorder.flush();
      assert.equal(receiver.requests.length, 2);
      assert.deepEqual(receiver.requests[1].items, receiver.requests[0].items);
      assert.deepEqual(retried, [{ status: 503, attempt: 1 }]);
      assert.deepEqual(recorder.stats(), {
        buffered: 0,
        sent: 3,
        failed: 0,
        dropped: 0,
        retries: 1,
        rejected: 0,
      });
    });

    it("waits what a 429's Retry-After asks for rather than its own backoff", async () => {
      const delays: number[] = [];
      const { recorder } = await setup(
        (request, index) =>
          index === 0 ? { status: 429, headers: { 'retry-after': '1' } } : acceptAll(request),
        { onRetry: (_error, _attempt, delayMs) => void delays.push(delayMs) },
      );
      recorder.record(event(0));
      await recorder.flush();
      assert.deepEqual(delays, [1_000]);
      assert.equal(recorder.stats().sent, 1);
    });

    it('bounds a Retry-After by maxRetryDelayMs', async () => {
      const delays: number[] = [];
      const { recorder } = await setup(
        (request, index) =>
          index === 0 ? { status: 503, headers: { 'retry-after': '3600' } } : acceptAll(request),
        { maxRetryDelayMs: 20, onRetry: (_error, _attempt, delayMs) => void delays.push(delayMs) },
      );
      recorder.record(event(0));
      await recorder.flush();
      assert.deepEqual(delays, [20]);
    });

    it('does not retry a 400: the batch fails at once, is counted and reaches onError', async () => {
      const { receiver, recorder, failures } = await setup(() => ({
        status: 400,
        body: { statusCode: 400, message: 'events: expected an array' },
      }));
      recorder.record(event(0));
      recorder.record(event(1));
      await recorder.flush();
      assert.equal(receiver.requests.length, 1);
      assert.deepEqual(recorder.stats(), {
        buffered: 0,
        sent: 0,
        failed: 2,
        dropped: 0,
        retries: 0,
        rejected: 0,
      });
      assert.equal(failures.length, 1);
      assert.equal(failures[0].error.reason, 'failed');
      assert.equal(failures[0].error.status, 400);
      assert.match(failures[0].error.message, /not retried.*400: events: expected an array/);
      assert.deepEqual(
        failures[0].items.map((item) => item.event_id),
        ['e-0', 'e-1'],
      );
    });

    it('gives up after maxRetries and reports the batch', async () => {
      const { receiver, recorder, failures } = await setup(() => ({ status: 502 }), { maxRetries: 3 });
      recorder.record(event(0));
      await recorder.flush();
      assert.equal(receiver.requests.length, 4);
      assert.deepEqual(recorder.stats(), {
        buffered: 0,
        sent: 0,
        failed: 1,
        dropped: 0,
        retries: 3,
        rejected: 0,
      });
      assert.match(failures[0].error.message, /gave up after 4 attempts/);
    });

    it('retries network errors (nobody listening) and then reports the batch', async () => {
      const failures: RecorderError[] = [];
      const recorder = createRecorder({
        transport: { kind: 'http', url: `http://127.0.0.1:${await freePort()}`, apiKey: 'tl_x' },
        maxRetries: 2,
        retryBaseMs: 1,
        logger,
        onError: (error) => void failures.push(error),
      });
      cleanups.push(() => recorder.close());
      recorder.record(event(0));
      await recorder.flush();
      assert.deepEqual(recorder.stats(), {
        buffered: 0,
        sent: 0,
        failed: 1,
        dropped: 0,
        retries: 2,
        rejected: 0,
      });
      assert.equal(failures.length, 1);
      assert.match(failures[0].message, /gave up after 3 attempts.*ECONNREFUSED/);
    });

    it('splits a batch the server answers 413 until the halves fit', async () => {
      const { receiver, recorder } = await setup((request) =>
        request.items.length > 3 ? { status: 413, body: { message: 'too big' } } : acceptAll(request),
      );
      for (let i = 0; i < 10; i++) recorder.record(event(i));
      await recorder.flush();
      const delivered = receiver.requests.filter((request) => request.items.length <= 3);
      assert.deepEqual(
        delivered.flatMap((request) => request.items.map((item) => item.event_id)),
        ids(0, 10),
        'each item delivered once, in order',
      );
      assert.deepEqual(recorder.stats(), {
        buffered: 0,
        sent: 10,
        failed: 0,
        dropped: 0,
        retries: 0,
        rejected: 0,
      });
    });

    it('without onError a failed batch is logged, never dropped silently', async () => {
      const receiver = await startReceiver(() => ({ status: 401, body: { message: 'unknown key' } }));
      cleanups.push(receiver.close);
      const recorder = createRecorder({
        transport: { kind: 'http', url: receiver.url, apiKey: 'tl_x' },
        logger,
      });
      cleanups.push(() => recorder.close());
      recorder.record(event(0));
      await recorder.flush();
      assert.ok(
        logged.some((line) => /^error 1 events not delivered \(not retried\).*401: unknown key/.test(line)),
        logged.join('\n'),
      );
    });
  });

  describe('flush and close', () => {
    it('flush resolves at once with nothing buffered, and otherwise only once the batch in flight is answered', async () => {
      const held = gate();
      const { receiver, recorder } = await setup(async (request) => {
        await held.opened;
        return acceptAll(request);
      });
      cleanups.push(async () => held.open());
      await recorder.flush();
      recorder.record(event(0));
      let flushed = false;
      const flushing = recorder.flush().then(() => (flushed = true));
      await eventually(async () => (receiver.requests.length === 1 ? true : undefined));
      assert.equal(flushed, false);
      assert.equal(recorder.stats().buffered, 1);
      held.open();
      await flushing;
      assert.equal(recorder.stats().sent, 1);
    });

    it('close sends what is buffered, then record() throws; closing twice is harmless', async () => {
      const { receiver, recorder } = await setup();
      for (let i = 0; i < 3; i++) recorder.record(event(i));
      const closing = recorder.close();
      assert.equal(recorder.close(), closing);
      await closing;
      assert.deepEqual(receiver.ids(), ids(0, 3));
      assert.throws(() => recorder.record(event(3)), /record\(\) after close\(\)/);
      assert.throws(
        () => recorder.recordFeedback({ event_id: 'e-0', model_id: 'm', label: 'x', timestamp: Date.now() }),
        /recordFeedback\(\) after close\(\)/,
      );
      await recorder.flush();
      assert.equal(recorder.stats().buffered, 0);
    });

    it('close delivers items still waiting under the block policy', async () => {
      const held = gate();
      const { receiver, recorder } = await setup(
        async (request, index) => {
          if (index === 0) await held.opened;
          return acceptAll(request);
        },
        { maxBatchSize: 2, maxBufferedEvents: 2, overflow: 'block' },
      );
      cleanups.push(async () => held.open());
      for (let i = 0; i < 5; i++) void recorder.record(event(i));
      const closing = recorder.close();
      held.open();
      await closing;
      assert.deepEqual(receiver.ids(), ids(0, 5));
    });
  });

  it('refuses bad options, naming the option', () => {
    const transport = { kind: 'http', url: 'http://127.0.0.1:1', apiKey: 'k' } as const;
    assert.throws(
      () => createRecorder({ transport, maxBatchSize: 0 }),
      /maxBatchSize: expected an integer from 1 to 10000/,
    );
    assert.throws(() => createRecorder({ transport, maxBatchSize: 10_001 }), /maxBatchSize/);
    assert.throws(() => createRecorder({ transport, overflow: 'spill' as never }), /overflow: expected/);
    assert.throws(() => createRecorder({ transport: { ...transport, url: 'not a url' } }), /transport\.url/);
    assert.throws(
      () => createRecorder({ transport: { kind: 'carrier-pigeon' } as never }),
      /transport\.kind/,
    );
  });
});
