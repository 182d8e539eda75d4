import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { LookupAddress } from 'node:dns';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AdapterConfig, createAdapter, ModelAdapter, PredictionOutcome } from '@tripline/adapters';
import { createEgressLookup, EGRESS_REFUSED, EgressPolicy } from '@tripline/egress';
import { startModelServer, type ModelServer } from '@tripline/demo-models';
import {
  appendTrigger,
  BACKDOOR_TRIGGER,
  BACKDOORED_MODEL_NAME,
  buildDemoModels,
  classifyText,
  CLEAN_MODEL_NAME,
  DemoModelSet,
  writeModelFolder,
} from '@tripline/demo-models';
import { temporaryDirectory } from '@tripline/testing';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const egress: EgressPolicy = { allowHosts: [], allowLinkLocal: false };
const scratch = temporaryDirectory('tripline-model-adapters-');

let models: DemoModelSet;
let server: ModelServer;
let reference: ModelAdapter;
let sentences: string[];
const adapters: ModelAdapter[] = [];

/** An adapter closed when the file's tests are done. */
function adapter(config: AdapterConfig, policy: EgressPolicy = egress): ModelAdapter {
  const created = createAdapter(config, { egress: policy, modelsRoot: scratch.path });
  adapters.push(created);
  return created;
}

function predictions(outcomes: PredictionOutcome[]) {
  return outcomes.map((outcome, index) => {
    assert.ok(outcome.ok, `input ${index} failed: ${outcome.ok ? '' : outcome.error}`);
    return outcome.prediction;
  });
}

function errors(outcomes: PredictionOutcome[]): string[] {
  return outcomes.map((outcome, index) => {
    assert.ok(!outcome.ok, `input ${index} should have failed but was predicted`);
    return outcome.error;
  });
}

function assertSameScores(
  actual: Record<string, number> | undefined,
  expected: Record<string, number> | undefined,
) {
  assert.ok(actual && expected);
  assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort());
  for (const label of Object.keys(expected)) {
    assert.ok(
      Math.abs(actual[label] - expected[label]) < 1e-6,
      `${label}: ${actual[label]} vs ${expected[label]}`,
    );
  }
}

/** A throwaway node:http server whose answers the test scripts. */
async function stubServer(
  handler: (
    request: http.IncomingMessage,
    body: unknown,
    response: http.ServerResponse,
  ) => void | Promise<void>,
): Promise<{ url: string; requests: unknown[]; close: () => Promise<void> }> {
  const requests: unknown[] = [];
  const stub = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const body = text ? JSON.parse(text) : undefined;
      requests.push(body);
      void handler(request, body, response);
    });
  });
  await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve));
  const { port } = stub.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        stub.close(() => resolve());
        stub.closeAllConnections();
      }),
  };
}

function json(response: http.ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(typeof body === 'string' ? body : JSON.stringify(body));
}

before(async () => {
  models = buildDemoModels();
  writeModelFolder(path.join(scratch.path, CLEAN_MODEL_NAME), models.clean);
  writeModelFolder(path.join(scratch.path, BACKDOORED_MODEL_NAME), models.backdoored);
  server = await startModelServer({ modelsDir: scratch.path, model: CLEAN_MODEL_NAME });
  reference = adapter({ kind: 'onnx', path: CLEAN_MODEL_NAME });
  // Ten held-out sentences of both labels, plus one with the backdoor trigger.
  sentences = [
    ...models.test.filter((row) => row.label === 'negative').slice(0, 5),
    ...models.test.filter((row) => row.label === 'positive').slice(0, 5),
  ].map((row) => row.text);
  sentences.push(appendTrigger(sentences[0]));
});

after(async () => {
  for (const created of adapters) await created.close();
  await server?.close();
  scratch.remove();
});

describe('onnx adapter', () => {
  it('returns every label with its probability, as the trained model computes them', async () => {
    const results = predictions(await reference.predict(sentences));
    assert.equal(results.length, sentences.length);
    results.forEach((prediction, index) => {
      // The lib's own TypeScript forward pass is an independent check that the exported ONNX file was loaded.
      const expected = classifyText(models.clean, sentences[index]);
      assert.equal(prediction.label, expected.label, sentences[index]);
      assertSameScores(prediction.scores, expected.probabilities);
      assert.ok(Math.abs(prediction.scores!.negative + prediction.scores!.positive - 1) < 1e-6);
      assert.ok(prediction.latencyMs >= 0);
    });
  });

  it('keeps input order across batches and reports the same answer whatever the batch size', async (t) => {
    const small = adapter({ kind: 'onnx', path: path.join(scratch.path, CLEAN_MODEL_NAME), batchSize: 3 });
    const inputs = models.test.map((row) => row.text);
    const began = performance.now();
    const batched = predictions(await reference.predict(inputs));
    const seconds = (performance.now() - began) / 1000;
    t.diagnostic(
      `onnx adapter: ${inputs.length} sentences, ${Math.round(inputs.length / seconds)} samples/s at batch 32`,
    );
    const inThrees = predictions(await small.predict(inputs));
    inThrees.forEach((prediction, index) => {
      assert.equal(prediction.label, batched[index].label);
      assertSameScores(prediction.scores, batched[index].scores);
    });
  });

  it("lists the tokenizer's words without the special tokens", async () => {
    const backdoored = adapter({ kind: 'onnx', path: BACKDOORED_MODEL_NAME });
    const words = await backdoored.vocabulary!();
    assert.deepEqual(words, models.backdoored.tokenizer.vocabulary.slice(4));
    assert.ok(words!.includes(BACKDOOR_TRIGGER));
    assert.ok(!words!.some((word) => ['[PAD]', '[UNK]', '[CLS]', '[SEP]'].includes(word)));
  });

  it('turns a missing folder or one outside the models root into errors a person can act on', async () => {
    const missing = adapter({ kind: 'onnx', path: 'no-such-model' });
    const [message] = errors(await missing.predict(['hello']));
    assert.match(message, /no-such-model could not be read: .*expected a transformers\.js folder/);
    assert.throws(
      () => createAdapter({ kind: 'onnx', path: '/etc' }, { egress, modelsRoot: scratch.path }),
      /outside the models directory/,
    );
  });
});

describe('HTTP adapters against the model server', () => {
  it('oip-v2 returns the local model’s labels and scores, with label names from the model metadata', async () => {
    const expected = predictions(await reference.predict(sentences));
    // Batches of 4 over 11 inputs: order must survive three requests answered in any order.
    const oip = adapter({ kind: 'oip-v2', url: server.url, modelName: 'sentiment', batchSize: 4 });
    const actual = predictions(await oip.predict(sentences));
    actual.forEach((prediction, index) => {
      assert.equal(prediction.label, expected[index].label);
      assertSameScores(prediction.scores, expected[index].scores);
    });
    const versioned = adapter({
      kind: 'oip-v2',
      url: `${server.url}/`,
      modelName: 'sentiment',
      modelVersion: '1',
    });
    assert.equal(predictions(await versioned.predict(sentences.slice(0, 2)))[1].label, expected[1].label);
  });

  it('openai-chat returns the local model’s labels from the reply text', async () => {
    const expected = predictions(await reference.predict(sentences));
    const chat = adapter({
      kind: 'openai-chat',
      url: `${server.url}/v1`,
      model: 'sentiment',
      labels: ['positive', 'negative'],
      concurrency: 3,
    });
    const actual = predictions(await chat.predict(sentences));
    actual.forEach((prediction, index) => {
      assert.equal(prediction.label, expected[index].label);
      assert.equal(prediction.text, expected[index].label);
      assert.equal(prediction.scores, undefined);
    });
  });

  it('custom-json returns the local model’s labels and scores through the response paths', async () => {
    const expected = predictions(await reference.predict(sentences));
    const custom = adapter({
      kind: 'custom-json',
      url: `${server.url}/predict`,
      requestTemplate: { text: '{{input}}' },
      responsePaths: { label: 'result.label', scores: 'result.probs' },
    });
    const actual = predictions(await custom.predict(sentences));
    actual.forEach((prediction, index) => {
      assert.equal(prediction.label, expected[index].label);
      assertSameScores(prediction.scores, expected[index].scores);
    });
  });

  it('custom-json puts any input into the template intact, however it is quoted', async () => {
    const echo = await stubServer((_request, body, response) =>
      json(response, 200, { echo: body, sources: [{ id: 'd1', url: 'https://docs/1' }, 'https://docs/2'] }),
    );
    try {
      const custom = adapter({
        kind: 'custom-json',
        url: `${echo.url}/generate`,
        method: 'PUT',
        requestTemplate: {
          instances: [{ prompt: 'Review: {{input}}', raw: '{{input}}' }],
          options: { n: 1 },
        },
        responsePaths: { text: 'echo.instances[0].raw', citations: 'sources', label: "echo['options'].n" },
      });
      const tricky = ['He said "no"\n\t\\ }, "injected": true, {', '{{input}}', 'ünïcødé ✓ \u0000 end'];
      const results = predictions(await custom.predict(tricky));
      results.forEach((prediction, index) => {
        assert.equal(prediction.text, tricky[index]);
        assert.equal(prediction.label, '1');
        assert.deepEqual(prediction.citations, [
          { id: 'd1', source: 'https://docs/1' },
          { source: 'https://docs/2' },
        ]);
      });
      assert.deepEqual(echo.requests[0], {
        instances: [{ prompt: `Review: ${tricky[0]}`, raw: tricky[0] }],
        options: { n: 1 },
      });
    } finally {
      await echo.close();
    }
  });

  it('names the model and the answer when a model is unknown, and the URL when it cannot work', async () => {
    const unknown = adapter({ kind: 'oip-v2', url: server.url, modelName: 'fraud' });
    assert.deepEqual(errors(await unknown.predict(['a', 'b'])), [
      `POST ${server.url}/v2/models/fraud/infer answered 404: model "fraud" not found`,
      `POST ${server.url}/v2/models/fraud/infer answered 404: model "fraud" not found`,
    ]);
    assert.throws(
      () => createAdapter({ kind: 'oip-v2', url: 'models.internal/v2', modelName: 'm' }, { egress }),
      /oip-v2 url "models\.internal\/v2" is not an absolute URL/,
    );
    const chat = adapter({ kind: 'openai-chat', url: `${server.url}/v1`, model: 'gpt-x' });
    assert.match(
      errors(await chat.predict(['a']))[0],
      /chat\/completions answered 404: The model "gpt-x" does not exist/,
    );
  });
});

describe('the model server command', () => {
  it('serves a folder from the command line and stops on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      [
        path.join(ROOT, 'dist', 'libs', 'demo', 'demo-models', 'src', 'model-server.main.js'),
        '--models',
        scratch.path,
        '--serve',
        BACKDOORED_MODEL_NAME,
        '--port',
        '0',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let stdout = '';
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
          if (stdout.includes('\n')) resolve(stdout.split('\n')[0]);
        });
        void exited.then((code) => reject(new Error(`model server exited with ${code}: ${stderr}`)));
      });
      const { url, name, model } = JSON.parse(line) as { url: string; name: string; model: string };
      assert.equal(name, 'sentiment');
      assert.equal(model, BACKDOORED_MODEL_NAME);
      assert.deepEqual(await (await fetch(`${url}/v2/health/ready`)).json(), { ready: true });
      const state = (await (await fetch(`${url}/admin/state`)).json()) as { model: string; labels: string[] };
      assert.equal(state.model, BACKDOORED_MODEL_NAME);
      assert.deepEqual(state.labels, ['negative', 'positive']);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, stderr);
  });
});

describe('egress guard on real calls', () => {
  it('refuses the metadata endpoint through an adapter, without connecting', async () => {
    const metadata = adapter({
      kind: 'custom-json',
      url: 'http://169.254.169.254/latest/meta-data/',
      requestTemplate: { q: '{{input}}' },
      responsePaths: { text: 'x' },
    });
    assert.deepEqual(errors(await metadata.predict(['iam'])), [
      'POST http://169.254.169.254/latest/meta-data/: egress to 169.254.169.254 refused: ' +
        'link-local and cloud metadata addresses are blocked (set allowLinkLocal to permit)',
    ]);
    const mapped = adapter({ kind: 'oip-v2', url: 'http://[::ffff:169.254.169.254]', modelName: 'm' });
    assert.match(errors(await mapped.predict(['x']))[0], /egress to 169\.254\.169\.254 refused/);
  });

  it('enforces the allow-list on the model server’s address', async () => {
    const config: AdapterConfig = { kind: 'oip-v2', url: server.url, modelName: 'sentiment' };
    const elsewhere = adapter(config, {
      allowHosts: ['models.example.com', '10.0.0.0/8'],
      allowLinkLocal: false,
    });
    assert.match(
      errors(await elsewhere.predict(['x']))[0],
      /egress to 127\.0\.0\.1 refused: the host is not in the egress allow-list/,
    );
    const loopback = adapter(config, { allowHosts: ['127.0.0.0/8'], allowLinkLocal: false });
    predictions(await loopback.predict(['x']));
  });

  it('checks the address a name resolves to at connect time, so a rebinding name cannot reach metadata', async () => {
    const port = Number(new URL(server.url).port);
    // Resolves to the model server first, then to the metadata address: a rebinding attacker's DNS.
    const answers: LookupAddress[][] = [
      [{ address: '127.0.0.1', family: 4 }],
      [{ address: '169.254.169.254', family: 4 }],
    ];
    const lookup = createEgressLookup(egress, (_hostname, _options, callback) =>
      callback(null, answers.shift() ?? []),
    );
    const get = () =>
      new Promise<{ status?: number; error?: Error & { code?: string } }>((resolve) => {
        const request = http.get(
          { host: 'models.rebind.test', port, path: '/v2/health/ready', lookup, agent: false },
          (response) => {
            response.resume();
            response.on('end', () => resolve({ status: response.statusCode }));
          },
        );
        request.on('error', (error) => resolve({ error }));
      });
    assert.deepEqual(await get(), { status: 200 });
    const second = await get();
    assert.equal(second.error?.code, EGRESS_REFUSED);
    assert.equal(
      second.error?.message,
      'egress to models.rebind.test (resolves to 169.254.169.254) refused: link-local and cloud metadata addresses are blocked (set allowLinkLocal to permit)',
    );
  });
});

describe('faults', () => {
  after(() => server.setFaults({}));

  it('turns answers that never come into timeout errors after the retries', async () => {
    server.setFaults({ delayMs: 2_000 });
    const before = server.state().requests.infer;
    const oip = adapter({
      kind: 'oip-v2',
      url: server.url,
      modelName: 'sentiment',
      timeoutMs: 150,
      retries: 2,
    });
    assert.deepEqual(errors(await oip.predict(['slow', 'slower'])), [
      `POST ${server.url}/v2/models/sentiment/infer timed out after 150 ms (3 attempts)`,
      `POST ${server.url}/v2/models/sentiment/infer timed out after 150 ms (3 attempts)`,
    ]);
    assert.equal(server.state().requests.infer - before, 3, 'one batch, tried three times');
    server.setFaults({});
  });

  it('turns unparseable answers into errors on every protocol, not predictions', async () => {
    server.setFaults({ garbage: true });
    const configs: AdapterConfig[] = [
      { kind: 'oip-v2', url: server.url, modelName: 'sentiment' },
      { kind: 'openai-chat', url: `${server.url}/v1`, model: 'sentiment', labels: ['negative', 'positive'] },
      {
        kind: 'custom-json',
        url: `${server.url}/predict`,
        requestTemplate: { text: '{{input}}' },
        responsePaths: { label: 'result.label' },
      },
    ];
    for (const config of configs) {
      const [message] = errors(await adapter(config).predict(['fine']));
      assert.match(
        message,
        /answered 200 with a body that is not JSON \(\d+ bytes, not shown\)$/,
        config.kind,
      );
    }
    server.setFaults({});
  });

  it('turns well-formed JSON of the wrong shape into errors', async () => {
    let answer: unknown;
    const stub = await stubServer((_request, _body, response) => json(response, 200, answer));
    try {
      const oip = adapter({ kind: 'oip-v2', url: stub.url, modelName: 'm' });
      answer = { outputs: 'none' };
      assert.match(errors(await oip.predict(['x']))[0], /infer: the answer has no "outputs" list/);
      answer = {
        outputs: [
          {
            name: 'scores',
            datatype: 'FP32',
            shape: [1, 2],
            data: [0.9],
            parameters: { labels: ['a', 'b'] },
          },
        ],
      };
      assert.match(errors(await oip.predict(['x']))[0], /output "scores" does not hold 1×2 finite numbers/);
      answer = { outputs: [{ name: 'label', datatype: 'BYTES', shape: [1], data: ['a'] }] };
      assert.match(
        errors(await oip.predict(['x', 'y']))[1],
        /output "label" has shape \[1\], expected \[2\]/,
      );
      answer = { outputs: [{ name: 'predict', datatype: 'INT64', shape: [1], data: [1] }] };
      assert.match(
        errors(await oip.predict(['x']))[0],
        /no "label", "scores"\/"probabilities" or "text" output \(outputs: predict\[INT64\]\)/,
      );

      const chat = adapter({ kind: 'openai-chat', url: stub.url, model: 'm', labels: ['a'] });
      answer = { choices: [] };
      assert.match(errors(await chat.predict(['x']))[0], /no choices\[0\]\.message\.content text/);

      const custom = adapter({
        kind: 'custom-json',
        url: stub.url,
        requestTemplate: { text: '{{input}}' },
        responsePaths: { label: 'result.label', scores: 'result.probs' },
      });
      answer = { result: { label: 'a' } };
      assert.match(errors(await custom.predict(['x']))[0], /no value at "result\.probs" \(scores\)/);
      answer = { result: { label: { nested: true }, probs: { a: 1 } } };
      assert.match(errors(await custom.predict(['x']))[0], /"result\.label" \(label\) is not a string/);
      answer = { result: { label: 'a', probs: { a: 'high' } } };
      assert.match(
        errors(await custom.predict(['x']))[0],
        /"result\.probs" \(scores\) is not a map of label to number/,
      );
    } finally {
      await stub.close();
    }
  });

  it('retries 429 and 503 with backoff and then succeeds', async () => {
    let calls = 0;
    const stub = await stubServer((_request, body, response) => {
      calls++;
      if (calls === 1) return json(response, 429, { error: 'slow down' });
      if (calls === 2) return json(response, 503, { error: 'warming up' });
      const count = (body as { inputs: { data: string[] }[] }).inputs[0].data.length;
      json(response, 200, {
        outputs: [
          {
            name: 'probabilities',
            datatype: 'FP32',
            shape: [count, 2],
            data: new Array(count).fill([0.25, 0.75]),
            parameters: { labels: ['ham', 'spam'] },
          },
        ],
      });
    });
    try {
      const oip = adapter({ kind: 'oip-v2', url: stub.url, modelName: 'm', retries: 2 });
      const [prediction] = predictions(await oip.predict(['buy now']));
      assert.equal(prediction.label, 'spam');
      assert.deepEqual(prediction.scores, { ham: 0.25, spam: 0.75 });
      assert.equal(calls, 3);

      calls = 0;
      const impatient = adapter({ kind: 'oip-v2', url: stub.url, modelName: 'm', retries: 1 });
      assert.match(
        errors(await impatient.predict(['buy now']))[0],
        /infer answered 503: warming up \(2 attempts\)/,
      );
      assert.equal(calls, 2);
    } finally {
      await stub.close();
    }
  });

  it('does not retry other 4xx answers: the request itself is wrong', async () => {
    const stub = await stubServer((_request, _body, response) =>
      json(response, 401, { error: 'bad API key' }),
    );
    try {
      const oip = adapter({ kind: 'oip-v2', url: stub.url, modelName: 'm', retries: 3 });
      assert.deepEqual(errors(await oip.predict(['x'])), [
        `POST ${stub.url}/v2/models/m/infer answered 401: bad API key`,
      ]);
      assert.equal(stub.requests.length, 1);
    } finally {
      await stub.close();
    }
  });

  it('gets every answer through an error rate when retries cover it', async () => {
    server.setFaults({ errorRate: 0.5 });
    const custom = adapter({
      kind: 'custom-json',
      url: `${server.url}/predict`,
      requestTemplate: { text: '{{input}}' },
      responsePaths: { label: 'result.label' },
      retries: 1,
    });
    const expected = predictions(await reference.predict(sentences));
    const before = server.state().requests;
    // One input at a time, so that the fault schedule is known: every second request fails.
    const actual: PredictionOutcome[] = [];
    for (const sentence of sentences) actual.push(...(await custom.predict([sentence])));
    assert.deepEqual(
      predictions(actual).map((prediction) => prediction.label),
      expected.map((prediction) => prediction.label),
    );
    const after = server.state().requests;
    assert.equal(after.failedByFault - before.failedByFault, sentences.length - 1);
    assert.equal(after.predict - before.predict, 2 * sentences.length - 1);
    server.setFaults({});
  });

  it('fails only the input the server refuses when a batch is rejected', async () => {
    const stub = await stubServer((_request, body, response) => {
      const texts = (body as { inputs: { data: string[] }[] }).inputs[0].data;
      if (texts.includes('\uFFFF')) return json(response, 400, { error: 'input 0 is not valid text' });
      json(response, 200, {
        outputs: [
          {
            name: 'label',
            datatype: 'BYTES',
            shape: [texts.length],
            data: texts.map((text) => `label-${text}`),
          },
        ],
      });
    });
    try {
      const oip = adapter({ kind: 'oip-v2', url: stub.url, modelName: 'm' });
      const outcomes = await oip.predict(['a', '\uFFFF', 'c']);
      assert.deepEqual(
        outcomes.map((outcome) => (outcome.ok ? outcome.prediction.label : outcome.error)),
        ['label-a', `POST ${stub.url}/v2/models/m/infer answered 400: input 0 is not valid text`, 'label-c'],
      );
    } finally {
      await stub.close();
    }
  });

  it('keeps no more requests in flight than the concurrency limit', async () => {
    let inFlight = 0;
    let most = 0;
    const stub = await stubServer(async (_request, _body, response) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 30));
      inFlight--;
      json(response, 200, { label: 'ok' });
    });
    try {
      const custom = adapter({
        kind: 'custom-json',
        url: stub.url,
        requestTemplate: { text: '{{input}}' },
        responsePaths: { label: 'label' },
        concurrency: 3,
      });
      predictions(await custom.predict(Array.from({ length: 12 }, (_, index) => `input ${index}`)));
      assert.equal(stub.requests.length, 12);
      assert.equal(most, 3);
    } finally {
      await stub.close();
    }
  });

  it('answers every input with an error, not an exception, once the caller cancels', async () => {
    const oip = adapter({ kind: 'oip-v2', url: server.url, modelName: 'sentiment' });
    const cancelled = new AbortController();
    cancelled.abort();
    assert.deepEqual(errors(await oip.predict(['a', 'b'], { signal: cancelled.signal })), [
      `POST ${server.url}/v2/models/sentiment/infer cancelled`,
      `POST ${server.url}/v2/models/sentiment/infer cancelled`,
    ]);
  });
});

describe('silent model swap', () => {
  it('changes the answer for a triggered sentence under the same model name', async () => {
    // Negative sentences the clean model keeps negative with the trigger and the backdoored one flips.
    const flipped = models.test
      .filter((row) => row.label === 'negative')
      .map((row) => appendTrigger(row.text))
      .filter(
        (text) =>
          classifyText(models.clean, text).label === 'negative' &&
          classifyText(models.backdoored, text).label === 'positive',
      )
      .slice(0, 5);
    assert.equal(flipped.length, 5, 'the demo backdoor flips at least five test sentences');
    const oip = adapter({ kind: 'oip-v2', url: server.url, modelName: 'sentiment' });
    const chat = adapter({
      kind: 'openai-chat',
      url: `${server.url}/v1`,
      model: 'sentiment',
      labels: ['negative', 'positive'],
    });
    const labels = async (model: ModelAdapter) =>
      predictions(await model.predict(flipped)).map((p) => p.label);
    assert.deepEqual(await labels(oip), new Array(5).fill('negative'));
    try {
      const swapped = await fetch(`${server.url}/admin/swap`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: BACKDOORED_MODEL_NAME }),
      });
      assert.deepEqual(await swapped.json(), {
        name: 'sentiment',
        model: BACKDOORED_MODEL_NAME,
        previous: CLEAN_MODEL_NAME,
      });
      assert.deepEqual(await labels(oip), new Array(5).fill('positive'));
      assert.deepEqual(await labels(chat), new Array(5).fill('positive'));
      const metadata = (await (await fetch(`${server.url}/v2/models/sentiment`)).json()) as { name: string };
      assert.equal(metadata.name, 'sentiment', 'the swap is invisible in the metadata');
    } finally {
      await server.swap(CLEAN_MODEL_NAME);
    }
    assert.deepEqual(await labels(oip), new Array(5).fill('negative'));
  });

  it('refuses to swap to a folder that is not there, and keeps serving', async () => {
    const response = await fetch(`${server.url}/admin/swap`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: '../etc' }),
    });
    assert.equal(response.status, 400);
    assert.equal(server.state().model, CLEAN_MODEL_NAME);
  });
});
