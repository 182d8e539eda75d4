import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { OnnxAdapter } from '@tripline/adapters';

/**
 * A small model server for tests and the demo: one transformers.js folder at a time behind the
 * three protocols the HTTP adapters speak, under one public model name that does not change when
 * the folder behind it is swapped. That is the silent swap a fingerprint check has to notice.
 * The admin routes have no authentication: bind it to loopback (the default) only.
 *
 *   GET  /v2/health/live, /v2/health/ready, /v2, /v2/models/{name}[/versions/1][/ready]
 *   POST /v2/models/{name}[/versions/1]/infer   OIP v2; labels are named in the metadata only
 *   GET  /v1/models;  POST /v1/chat/completions  replies with the label word
 *   POST /predict {"text"} -> {"result": {"label", "probs"}}
 *   POST /admin/swap {"model"}, POST /admin/faults {"delayMs", "errorRate", "garbage"}, GET /admin/state
 */

export interface ModelServerOptions {
  /** The folder holding the model folders, e.g. .cache/models. */
  modelsDir: string;
  /** The model folder served at start, e.g. "sentiment-clean". */
  model: string;
  /** The model name callers use; default "sentiment". */
  name?: string;
  /** Default 0: any free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
}

export interface ModelServerFaults {
  /** Each inference request waits this long before it is handled. */
  delayMs?: number;
  /**
   * Share of inference requests answered 503, spread evenly and deterministically: 0.5 fails
   * every second request, 1 every request. Deterministic so that a test knows what comes next.
   */
  errorRate?: number;
  /** Inference requests are answered 200 with a truncated, unparseable JSON body. */
  garbage?: boolean;
}

export interface ModelServerState {
  name: string;
  version: string;
  model: string;
  labels: string[];
  faults: Required<ModelServerFaults>;
  requests: { infer: number; chat: number; predict: number; failedByFault: number };
  swappedAt?: string;
}

export interface ModelServer {
  /** Base URL, e.g. http://127.0.0.1:41234 (OIP and /predict under it, OpenAI under url + "/v1"). */
  readonly url: string;
  readonly name: string;
  /** Serves another folder from modelsDir under the same name; resolves once it is loaded. */
  swap(model: string): Promise<void>;
  setFaults(faults: ModelServerFaults): void;
  state(): ModelServerState;
  close(): Promise<void>;
}

const VERSION = '1';
const MAX_BODY_BYTES = 10 * 1024 * 1024;
const NO_FAULTS: Required<ModelServerFaults> = { delayMs: 0, errorRate: 0, garbage: false };

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A loaded folder, closed once it has been swapped out and its last request is done. */
interface Served {
  model: string;
  adapter: OnnxAdapter;
  labels: string[];
  active: number;
  retired: boolean;
}

function validFaults(input: unknown): Required<ModelServerFaults> {
  const faults = (input ?? {}) as Record<string, unknown>;
  const delayMs = faults.delayMs ?? 0;
  const errorRate = faults.errorRate ?? 0;
  const garbage = faults.garbage ?? false;
  if (typeof delayMs !== 'number' || !(delayMs >= 0))
    throw new HttpError(400, 'delayMs must be a number >= 0');
  if (typeof errorRate !== 'number' || !(errorRate >= 0 && errorRate <= 1)) {
    throw new HttpError(400, 'errorRate must be a number from 0 to 1');
  }
  if (typeof garbage !== 'boolean') throw new HttpError(400, 'garbage must be true or false');
  return { delayMs, errorRate, garbage };
}

function readBody(request: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new HttpError(413, `body larger than ${MAX_BODY_BYTES} bytes`));
        request.destroy();
      } else chunks.push(chunk);
    });
    request.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        resolve(text.trim() === '' ? {} : JSON.parse(text));
      } catch {
        reject(new HttpError(400, 'body is not JSON'));
      }
    });
    request.on('error', reject);
  });
}

function send(response: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

export async function startModelServer(options: ModelServerOptions): Promise<ModelServer> {
  const modelsDir = path.resolve(options.modelsDir);
  const name = options.name ?? 'sentiment';
  let faults = NO_FAULTS;
  let errorCredit = 0;
  const requests = { infer: 0, chat: 0, predict: 0, failedByFault: 0 };
  let swappedAt: string | undefined;
  /** Wake-ups of requests held back by delayMs, so that close() does not wait for them. */
  const delayed = new Set<() => void>();

  const load = async (model: string): Promise<Served> => {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(model)) {
      throw new HttpError(400, `"${model}" is not a model folder name`);
    }
    const folder = path.join(modelsDir, model);
    if (!existsSync(path.join(folder, 'config.json'))) {
      throw new HttpError(404, `no model folder "${model}" in ${modelsDir}`);
    }
    const adapter = new OnnxAdapter({ kind: 'onnx', path: folder });
    try {
      return { model, adapter, labels: await adapter.labels(), active: 0, retired: false };
    } catch (error) {
      await adapter.close();
      throw new HttpError(500, (error as Error).message);
    }
  };

  let served = await load(options.model);

  const release = (entry: Served) => {
    entry.active--;
    if (entry.retired && entry.active === 0) void entry.adapter.close();
  };

  const swap = async (model: string) => {
    const next = await load(model);
    const previous = served;
    served = next;
    swappedAt = new Date().toISOString();
    previous.retired = true;
    if (previous.active === 0) await previous.adapter.close();
  };

  /** Probabilities by label for each text, in label order. */
  const classify = async (texts: string[]): Promise<{ label: string; scores: Record<string, number> }[]> => {
    const entry = served;
    entry.active++;
    try {
      const outcomes = await entry.adapter.predict(texts);
      return outcomes.map((outcome) => {
        if (!outcome.ok) throw new HttpError(500, outcome.error);
        const scores = outcome.prediction.scores ?? {};
        return {
          label: outcome.prediction.label!,
          scores: Object.fromEntries(entry.labels.map((label) => [label, scores[label] ?? 0])),
        };
      });
    } finally {
      release(entry);
    }
  };

  /** Delay, injected errors and garbage, in that order; true when the fault has answered. */
  const injectFaults = async (response: http.ServerResponse): Promise<boolean> => {
    const active = faults;
    if (active.delayMs > 0) {
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          delayed.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, active.delayMs);
        delayed.add(wake);
      });
    }
    errorCredit += active.errorRate;
    if (errorCredit >= 1 - 1e-9) {
      errorCredit -= 1;
      requests.failedByFault++;
      send(response, 503, { error: 'injected fault: the model server is unavailable' });
      return true;
    }
    if (active.garbage) {
      requests.failedByFault++;
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{"outputs": [{"name": "label", "data": ["posi');
      return true;
    }
    return false;
  };

  const metadata = () => ({
    name,
    versions: [VERSION],
    platform: 'onnxruntime_onnx',
    inputs: [{ name: 'text', datatype: 'BYTES', shape: [-1] }],
    outputs: [
      { name: 'label', datatype: 'BYTES', shape: [-1] },
      {
        name: 'scores',
        datatype: 'FP32',
        shape: [-1, served.labels.length],
        parameters: { labels: served.labels },
      },
    ],
    parameters: { labels: served.labels },
  });

  const infer = async (body: unknown, response: http.ServerResponse) => {
    const request = body as {
      id?: unknown;
      inputs?: { name?: unknown; datatype?: unknown; data?: unknown }[];
    };
    if (!Array.isArray(request.inputs) || request.inputs.length !== 1) {
      throw new HttpError(400, 'expected exactly one input tensor named "text"');
    }
    const [input] = request.inputs;
    if (input?.name !== 'text')
      throw new HttpError(400, `unexpected input "${input?.name}"; this model takes "text"`);
    if (input.datatype !== 'BYTES')
      throw new HttpError(400, `input "text" must be BYTES, not ${input.datatype}`);
    const texts = Array.isArray(input.data) ? input.data.flat(Infinity) : undefined;
    if (!texts || !texts.every((text) => typeof text === 'string')) {
      throw new HttpError(400, 'input "text" data must be a list of strings');
    }
    const results = await classify(texts as string[]);
    send(response, 200, {
      model_name: name,
      model_version: VERSION,
      id: typeof request.id === 'string' ? request.id : randomUUID(),
      outputs: [
        {
          name: 'label',
          datatype: 'BYTES',
          shape: [results.length],
          data: results.map((result) => result.label),
        },
        {
          name: 'scores',
          datatype: 'FP32',
          shape: [results.length, served.labels.length],
          data: results.flatMap((result) => Object.values(result.scores)),
        },
      ],
    });
  };

  const chat = async (body: unknown, response: http.ServerResponse) => {
    const request = body as { model?: unknown; messages?: { role?: unknown; content?: unknown }[] };
    if (request.model !== name) {
      send(response, 404, {
        error: {
          message: `The model "${String(request.model)}" does not exist; this server serves "${name}"`,
          type: 'invalid_request_error',
          code: 'model_not_found',
        },
      });
      return;
    }
    const user = Array.isArray(request.messages)
      ? request.messages.filter((message) => message?.role === 'user').at(-1)
      : undefined;
    if (typeof user?.content !== 'string')
      throw new HttpError(400, 'expected a user message with text content');
    const [result] = await classify([user.content]);
    send(response, 200, {
      id: `chatcmpl-${randomUUID()}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: name,
      choices: [{ index: 0, message: { role: 'assistant', content: result.label }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 0, completion_tokens: 1, total_tokens: 1 },
    });
  };

  const predict = async (body: unknown, response: http.ServerResponse) => {
    const text = (body as { text?: unknown }).text;
    if (typeof text !== 'string') throw new HttpError(400, 'expected {"text": "..."}');
    const [result] = await classify([text]);
    send(response, 200, { result: { label: result.label, probs: result.scores } });
  };

  const state = (): ModelServerState => ({
    name,
    version: VERSION,
    model: served.model,
    labels: served.labels,
    faults,
    requests: { ...requests },
    ...(swappedAt ? { swappedAt } : {}),
  });

  const route = async (request: http.IncomingMessage, response: http.ServerResponse) => {
    const { pathname } = new URL(request.url ?? '/', 'http://localhost');
    const method = request.method ?? 'GET';
    const modelRoute = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(\/infer|\/ready)?$/.exec(pathname);

    if (method === 'GET' && pathname === '/v2/health/live') return send(response, 200, { live: true });
    if (method === 'GET' && pathname === '/v2/health/ready') return send(response, 200, { ready: true });
    if (method === 'GET' && pathname === '/v2') {
      return send(response, 200, { name: 'tripline-model-server', version: VERSION, extensions: [] });
    }
    if (modelRoute) {
      const [, requested, version, action] = modelRoute;
      if (decodeURIComponent(requested) !== name) {
        throw new HttpError(404, `model "${decodeURIComponent(requested)}" not found`);
      }
      if (version !== undefined && decodeURIComponent(version) !== VERSION) {
        throw new HttpError(404, `model "${name}" has no version "${decodeURIComponent(version)}"`);
      }
      if (method === 'GET' && action === undefined) return send(response, 200, metadata());
      if (method === 'GET' && action === '/ready') return send(response, 200, { name, ready: true });
      if (method === 'POST' && action === '/infer') {
        requests.infer++;
        const body = await readBody(request);
        if (await injectFaults(response)) return;
        return infer(body, response);
      }
    }
    if (method === 'GET' && pathname === '/v1/models') {
      return send(response, 200, {
        object: 'list',
        data: [{ id: name, object: 'model', owned_by: 'tripline' }],
      });
    }
    if (method === 'POST' && pathname === '/v1/chat/completions') {
      requests.chat++;
      const body = await readBody(request);
      if (await injectFaults(response)) return;
      return chat(body, response);
    }
    if (method === 'POST' && pathname === '/predict') {
      requests.predict++;
      const body = await readBody(request);
      if (await injectFaults(response)) return;
      return predict(body, response);
    }
    if (method === 'GET' && pathname === '/admin/state') return send(response, 200, state());
    if (method === 'POST' && pathname === '/admin/swap') {
      const { model } = (await readBody(request)) as { model?: unknown };
      if (typeof model !== 'string') throw new HttpError(400, 'expected {"model": "<folder name>"}');
      const previous = served.model;
      await swap(model);
      return send(response, 200, { name, model, previous });
    }
    if (method === 'POST' && pathname === '/admin/faults') {
      faults = validFaults(await readBody(request));
      errorCredit = 0;
      return send(response, 200, { faults });
    }
    throw new HttpError(404, `no route ${method} ${pathname}`);
  };

  const server = http.createServer((request, response) => {
    route(request, response).catch((error: Error) => {
      if (response.headersSent) return response.destroy();
      send(response, error instanceof HttpError ? error.status : 500, { error: error.message });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  return {
    url: `http://${host}:${address.port}`,
    name,
    swap,
    setFaults: (next) => {
      faults = validFaults(next);
      errorCredit = 0;
    },
    state,
    close: async () => {
      for (const wake of [...delayed]) wake();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await served.adapter.close();
    },
  };
}
