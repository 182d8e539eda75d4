import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { FaultInjector, type ModelServerFaults } from './model-server-faults';
import { HttpError, readBody, send } from './model-server-http';
import { chat, infer, metadata, predict, VERSION } from './model-server-protocols';
import { SwappableModel } from './swappable-model';

export type { ModelServerFaults } from './model-server-faults';

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

/** What the routes answer from: the public name, the model behind it, the faults and the counts. */
interface ServerParts {
  name: string;
  model: SwappableModel;
  faults: FaultInjector;
  requests: { infer: number; chat: number; predict: number };
}

function stateOf({ name, model, faults, requests }: ServerParts): ModelServerState {
  return {
    name,
    version: VERSION,
    model: model.model,
    labels: model.labels,
    faults: faults.faults,
    requests: { ...requests, failedByFault: faults.failedByFault },
    ...(model.swappedAt ? { swappedAt: model.swappedAt } : {}),
  };
}

/** Inference: counted, read, then the faults get the first say and the protocol the rest. */
async function inference(
  parts: ServerParts,
  kind: keyof ServerParts['requests'],
  request: http.IncomingMessage,
  response: http.ServerResponse,
  answer: (body: unknown) => Promise<void>,
): Promise<void> {
  parts.requests[kind]++;
  const body = await readBody(request);
  if (await parts.faults.inject(response)) return;
  return answer(body);
}

/** GET /v2/models/{name}[/versions/1][/ready] and POST .../infer; false when the path is not one. */
async function routeOipModel(
  parts: ServerParts,
  method: string,
  pathname: string,
  request: http.IncomingMessage,
  response: http.ServerResponse,
): Promise<boolean> {
  const modelRoute = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(\/infer|\/ready)?$/.exec(pathname);
  if (!modelRoute) return false;
  const { name, model } = parts;
  const [, requested, version, action] = modelRoute;
  if (decodeURIComponent(requested) !== name) {
    throw new HttpError(404, `model "${decodeURIComponent(requested)}" not found`);
  }
  if (version !== undefined && decodeURIComponent(version) !== VERSION) {
    throw new HttpError(404, `model "${name}" has no version "${decodeURIComponent(version)}"`);
  }
  if (method === 'GET' && action === undefined) send(response, 200, metadata(name, model));
  else if (method === 'GET' && action === '/ready') send(response, 200, { name, ready: true });
  else if (method === 'POST' && action === '/infer')
    await inference(parts, 'infer', request, response, (body) => infer(name, model, body, response));
  // Another method on a model path falls through to the routes below and ends in a 404.
  else return false;
  return true;
}

async function route(parts: ServerParts, request: http.IncomingMessage, response: http.ServerResponse) {
  const { name, model } = parts;
  const { pathname } = new URL(request.url ?? '/', 'http://localhost');
  const method = request.method ?? 'GET';

  if (method === 'GET' && pathname === '/v2/health/live') return send(response, 200, { live: true });
  if (method === 'GET' && pathname === '/v2/health/ready') return send(response, 200, { ready: true });
  if (method === 'GET' && pathname === '/v2') {
    return send(response, 200, { name: 'tripline-model-server', version: VERSION, extensions: [] });
  }
  if (await routeOipModel(parts, method, pathname, request, response)) return;
  if (method === 'GET' && pathname === '/v1/models') {
    return send(response, 200, {
      object: 'list',
      data: [{ id: name, object: 'model', owned_by: 'tripline' }],
    });
  }
  if (method === 'POST' && pathname === '/v1/chat/completions')
    return inference(parts, 'chat', request, response, (body) => chat(name, model, body, response));
  if (method === 'POST' && pathname === '/predict')
    return inference(parts, 'predict', request, response, (body) => predict(model, body, response));
  if (method === 'GET' && pathname === '/admin/state') return send(response, 200, stateOf(parts));
  if (method === 'POST' && pathname === '/admin/swap') {
    const { model: next } = (await readBody(request)) as { model?: unknown };
    if (typeof next !== 'string') throw new HttpError(400, 'expected {"model": "<folder name>"}');
    const previous = model.model;
    await model.swap(next);
    return send(response, 200, { name, model: next, previous });
  }
  if (method === 'POST' && pathname === '/admin/faults') {
    return send(response, 200, { faults: parts.faults.set(await readBody(request)) });
  }
  throw new HttpError(404, `no route ${method} ${pathname}`);
}

export async function startModelServer(options: ModelServerOptions): Promise<ModelServer> {
  const name = options.name ?? 'sentiment';
  const model = await SwappableModel.open(path.resolve(options.modelsDir), options.model);
  const parts: ServerParts = {
    name,
    model,
    faults: new FaultInjector(),
    requests: { infer: 0, chat: 0, predict: 0 },
  };

  const server = http.createServer((request, response) => {
    route(parts, request, response).catch((error: Error) => {
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
    swap: (next) => model.swap(next),
    setFaults: (next) => {
      parts.faults.set(next);
    },
    state: () => stateOf(parts),
    close: async () => {
      parts.faults.wakeAll();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await model.close();
    },
  };
}
