import http from 'node:http';
import https from 'node:https';
import { backoffDelay, parseRetryAfter, sleep } from '@tripline/retry';
import {
  assertEgressAllowed,
  createEgressLookup,
  EGRESS_REFUSED,
  egressPort,
  redactUrl,
  type EgressPolicy,
} from '@tripline/egress';
import type { HttpCallOptions } from './model-adapter';

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_RETRIES = 2;
export const DEFAULT_CONCURRENCY = 4;
/** Answers bigger than this are refused rather than buffered. */
const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;
const RETRY_BASE_MS = 200;
const RETRY_CAP_MS = 5_000;
/** A Retry-After longer than this is not waited out in full; the attempt budget still bounds the wait. */
const RETRY_AFTER_CAP_MS = 30_000;

/** FIFO counting semaphore: at most `limit` holders at once, waiters served in arrival order. */
export class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new Error(`concurrency must be a positive integer, not ${limit}`);
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await task();
    } finally {
      // The slot passes straight to the next waiter, so `active` never dips and lets a newcomer jump the queue.
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

export interface JsonRequest {
  method: 'GET' | 'POST' | 'PUT';
  url: string;
  body?: unknown;
}

export type JsonResponse =
  | { ok: true; status: number; body: unknown }
  /** `status` is set when the server answered, to tell a refused request from an unreachable server. */
  | { ok: false; error: string; status?: number };

/** What one attempt came to; `retry` says whether another attempt may help. */
type Attempt =
  | { kind: 'answer'; status: number; text: string; retryAfterMs?: number }
  | { kind: 'failure'; message: string; retry: boolean; egress?: boolean };

/**
 * The endpoint URL with a protocol path appended to its path, before any query string or
 * fragment: `https://h/base?api-version=2` + `/v2/models/m/infer` is
 * `https://h/base/v2/models/m/infer?api-version=2`, not a path glued onto the query.
 */
export function withPath(base: string, path: string): string {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    return `${base.replace(/\/+$/, '')}${path}`;
  }
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${path}`;
  return url.toString();
}

const MAX_ERROR_MESSAGE = 200;

/**
 * The part of an error answer a person can act on: the message of a JSON error as the model
 * protocols write it (OIP v2 `{"error": "..."}`, OpenAI `{"error": {"message": "..."}}`, or
 * `message` / `detail`), else only the body's size. The body itself is never repeated: an endpoint
 * may be an internal address that answers with pages, stack traces or configuration, and run
 * errors are readable by every viewer and written to logs.
 */
export function describeErrorBody(text: string): string {
  const trimmed = text.trim();
  if (trimmed === '') return 'empty body';
  try {
    const body = JSON.parse(trimmed) as Record<string, unknown>;
    const candidates = [
      body?.error,
      (body?.error as Record<string, unknown>)?.message,
      body?.message,
      body?.detail,
    ];
    const message = candidates.find((candidate) => typeof candidate === 'string');
    if (typeof message === 'string')
      return message.length > MAX_ERROR_MESSAGE ? `${message.slice(0, MAX_ERROR_MESSAGE)}…` : message;
  } catch {
    // Not JSON: not an error of any protocol the adapters speak.
  }
  return `${Buffer.byteLength(text)}-byte body not shown (not a JSON error)`;
}

/**
 * JSON over node:http/https with the adapters' shared rules: every URL and every resolved address
 * passes the egress guard, a timeout per attempt, retries with backoff on network errors, 429
 * and 5xx, at most `concurrency` requests in flight, and failures as messages, never throws.
 * node:http is used instead of fetch because only it takes a `lookup` for the real connection.
 */
export class JsonHttpClient {
  readonly timeoutMs: number;
  readonly retries: number;
  private readonly semaphore: Semaphore;
  private readonly headers: Record<string, string>;
  private readonly agents: { http: http.Agent; https: https.Agent };

  constructor(
    options: HttpCallOptions,
    private readonly egress: EgressPolicy,
  ) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.retries = options.retries ?? DEFAULT_RETRIES;
    const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
    if (!(this.timeoutMs > 0)) throw new Error(`timeoutMs must be positive, not ${options.timeoutMs}`);
    if (!Number.isInteger(this.retries) || this.retries < 0) {
      throw new Error(`retries must be a non-negative integer, not ${options.retries}`);
    }
    this.semaphore = new Semaphore(concurrency);
    this.headers = options.headers ?? {};
    this.agents = {
      http: new http.Agent({ keepAlive: true, maxSockets: concurrency }),
      https: new https.Agent({ keepAlive: true, maxSockets: concurrency }),
    };
  }

  async request(request: JsonRequest, signal?: AbortSignal): Promise<JsonResponse> {
    const shown = `${request.method} ${redactUrl(request.url)}`;
    let url: URL;
    try {
      url = assertEgressAllowed(request.url, this.egress);
    } catch (error) {
      return { ok: false, error: `${shown}: ${(error as Error).message}` };
    }
    const payload = request.body === undefined ? undefined : Buffer.from(JSON.stringify(request.body));
    const attempts = this.retries + 1;
    let last: Attempt | undefined;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (signal?.aborted) return { ok: false, error: `${shown} cancelled` };
      last = await this.semaphore.run(() => this.attempt(url, request.method, payload, signal));
      const retry =
        last.kind === 'failure'
          ? last.retry
          : last.status === 429 || (last.status >= 500 && last.status <= 599);
      if (!retry || attempt === attempts) break;
      const backoff = backoffDelay(attempt, RETRY_BASE_MS, RETRY_CAP_MS);
      const wait = last.kind === 'answer' && last.retryAfterMs !== undefined ? last.retryAfterMs : 0;
      await sleep(Math.max(backoff, Math.min(wait, RETRY_AFTER_CAP_MS)), signal);
    }
    const after = this.retries > 0 ? ` (${attempts} attempts)` : '';
    if (last!.kind === 'failure') {
      const separator = last!.egress ? ': ' : ' ';
      return { ok: false, error: `${shown}${separator}${last!.message}${last!.retry ? after : ''}` };
    }
    const { status, text } = last!;
    if (status < 200 || status > 299) {
      const retried = status === 429 || status >= 500 ? after : '';
      return {
        ok: false,
        status,
        error: `${shown} answered ${status}: ${describeErrorBody(text)}${retried}`,
      };
    }
    try {
      return { ok: true, status, body: JSON.parse(text) };
    } catch {
      return {
        ok: false,
        status,
        error: `${shown} answered ${status} with a body that is not JSON (${Buffer.byteLength(text)} bytes, not shown)`,
      };
    }
  }

  private attempt(
    url: URL,
    method: string,
    payload: Buffer | undefined,
    signal?: AbortSignal,
  ): Promise<Attempt> {
    return new Promise<Attempt>((resolve) => {
      const timeout = AbortSignal.timeout(this.timeoutMs);
      const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
      const transport = url.protocol === 'https:' ? https : http;
      const headers: Record<string, string | number> = {
        accept: 'application/json',
        ...this.headers,
      };
      if (payload) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = payload.length;
      }
      let settled = false;
      const finish = (result: Attempt) => {
        if (settled) return;
        settled = true;
        resolve(result);
      };
      const request = transport.request(
        url,
        {
          method,
          headers,
          signal: combined,
          lookup: createEgressLookup(this.egress, undefined, egressPort(url)),
          agent: url.protocol === 'https:' ? this.agents.https : this.agents.http,
        },
        (response) => {
          const chunks: Buffer[] = [];
          let size = 0;
          response.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_RESPONSE_BYTES) {
              finish({
                kind: 'failure',
                message: `answered more than ${MAX_RESPONSE_BYTES} bytes`,
                retry: false,
              });
              request.destroy();
              return;
            }
            chunks.push(chunk);
          });
          response.on('end', () => {
            const retryAfter = response.headers['retry-after'];
            finish({
              kind: 'answer',
              status: response.statusCode ?? 0,
              text: Buffer.concat(chunks).toString('utf8'),
              retryAfterMs: parseRetryAfter(retryAfter),
            });
          });
          response.on('error', (error) => finish(this.failure(error, timeout, signal)));
        },
      );
      request.on('error', (error) => finish(this.failure(error, timeout, signal)));
      request.end(payload);
    });
  }

  private failure(error: Error & { code?: string }, timeout: AbortSignal, signal?: AbortSignal): Attempt {
    if (error.code === EGRESS_REFUSED)
      return { kind: 'failure', message: error.message, retry: false, egress: true };
    if (signal?.aborted) return { kind: 'failure', message: 'cancelled', retry: false };
    if (timeout.aborted) {
      return { kind: 'failure', message: `timed out after ${this.timeoutMs} ms`, retry: true };
    }
    const code = error.code && !error.message.includes(error.code) ? ` (${error.code})` : '';
    return { kind: 'failure', message: `failed: ${error.message}${code}`, retry: true };
  }

  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }
}
