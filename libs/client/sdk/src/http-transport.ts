import { parseRetryAfter } from '@tripline/retry';
import type { BufferedItem, SendOutcome, Transport } from './transport';
import type { HttpTransportOptions, RecordKind } from './types';

interface BatchAnswer {
  results?: { index?: unknown; event_id?: unknown; status?: unknown; errors?: unknown }[];
}

/** POSTs batches to the HTTP ingest endpoint: `{"events": [...]}` or `{"feedback": [...]}`. */
export class HttpTransport implements Transport {
  private readonly endpoints: Record<RecordKind, URL>;
  private readonly timeoutMs: number;

  constructor(private readonly options: HttpTransportOptions) {
    let base: URL;
    try {
      base = new URL(options.url);
    } catch {
      throw new TypeError(
        `transport.url: expected an absolute http(s) URL (got ${JSON.stringify(options.url)})`,
      );
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:')
      throw new TypeError(`transport.url: expected an http or https URL (got ${base.protocol})`);
    if (typeof options.apiKey !== 'string' || options.apiKey.length === 0)
      throw new TypeError('transport.apiKey: expected an API key with the ingest scope');
    // Resolved against a directory, so an API served under a path prefix keeps it.
    const root = new URL(base.href.endsWith('/') ? base.href : `${base.href}/`);
    this.endpoints = { events: new URL('v1/events', root), feedback: new URL('v1/feedback', root) };
    this.timeoutMs = options.requestTimeoutMs ?? 30_000;
  }

  overheadBytes(): number {
    return 1;
  }

  async send(kind: RecordKind, batch: BufferedItem[]): Promise<SendOutcome> {
    const body = `{"${kind}":[${batch.map((item) => item.json).join(',')}]}`;
    let response: Response;
    let text: string;
    try {
      response = await fetch(this.endpoints[kind], {
        method: 'POST',
        headers: {
          authorization: `Bearer ${this.options.apiKey}`,
          'content-type': 'application/json',
          'user-agent': 'tripline-sdk',
        },
        body,
        // A redirect would either drop the Authorization header or send it somewhere unexpected.
        redirect: 'manual',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      const reason =
        error instanceof Error && error.name === 'TimeoutError'
          ? `no answer within ${this.timeoutMs} ms`
          : describe(error);
      return {
        ok: false,
        retriable: true,
        error: new Error(`POST ${this.endpoints[kind].href} failed: ${reason}`, { cause: error }),
      };
    }
    const status = response.status;
    if (status >= 200 && status < 300) return { ok: true, rejections: rejectionsIn(text) };
    const error = new Error(`POST ${this.endpoints[kind].href} answered ${status}: ${serverMessage(text)}`);
    if (status === 429 || status >= 500)
      return {
        ok: false,
        retriable: true,
        status,
        error,
        retryAfterMs: parseRetryAfter(response.headers.get('retry-after')),
      };
    return { ok: false, retriable: false, status, error, tooLarge: status === 413 };
  }

  async close(): Promise<void> {}
}

function rejectionsIn(
  text: string,
): { index: number; event_id?: string; errors: { field: string; message: string }[] }[] {
  let answer: BatchAnswer;
  try {
    answer = JSON.parse(text) as BatchAnswer;
  } catch {
    // A 2xx is an acceptance; an answer without per-item results just has nothing to report.
    return [];
  }
  if (!answer || !Array.isArray(answer.results)) return [];
  return answer.results
    .filter((result) => result?.status === 'rejected' && typeof result.index === 'number')
    .map((result) => ({
      index: result.index as number,
      ...(typeof result.event_id === 'string' ? { event_id: result.event_id } : {}),
      errors: Array.isArray(result.errors) ? (result.errors as { field: string; message: string }[]) : [],
    }));
}

function serverMessage(text: string): string {
  try {
    const body = JSON.parse(text) as { message?: unknown };
    if (body && body.message !== undefined)
      return Array.isArray(body.message) ? body.message.join('; ') : String(body.message);
  } catch {
    // not JSON: show the start of the text
  }
  return text.length > 200 ? `${text.slice(0, 197)}...` : text || '(empty body)';
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // undici reports "fetch failed" and puts the useful part (ECONNREFUSED, ...) in the cause.
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
}
