import { createReadStream, statSync } from 'node:fs';
import { Readable } from 'node:stream';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A thin client of the Tripline HTTP API for the CLI. */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly apiKey: string | undefined,
  ) {}

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    return this.send<T>(
      method,
      path,
      body === undefined ? undefined : JSON.stringify(body),
      'application/json',
    );
  }

  /** Streams a file as the request body, so a large dataset is never read whole. */
  async upload<T>(path: string, file: string, contentType: string): Promise<T> {
    const size = statSync(file).size;
    const body = Readable.toWeb(createReadStream(file)) as unknown as NonNullable<RequestInit['body']>;
    return this.send<T>('POST', path, body, contentType, { 'content-length': String(size) });
  }

  private async send<T>(
    method: string,
    path: string,
    body: RequestInit['body'] | undefined,
    contentType: string,
    extra: Record<string, string> = {},
  ): Promise<T> {
    let response: Response;
    try {
      response = await fetch(new URL(path, this.baseUrl), {
        method,
        headers: {
          ...(this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {}),
          ...(body !== undefined ? { 'content-type': contentType } : {}),
          ...extra,
        },
        body,
        ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
      } as RequestInit);
    } catch (error) {
      throw new ApiError(
        0,
        `cannot reach Tripline at ${this.baseUrl}: ${(error as Error).cause ?? (error as Error).message} (set --url or TRIPLINE_URL)`,
      );
    }
    const text = await response.text();
    const parsed = text ? safeJson(text) : undefined;
    if (!response.ok) {
      const message = (parsed as { message?: unknown } | undefined)?.message;
      const detail = Array.isArray(message)
        ? message.join('\n  ')
        : typeof message === 'string'
          ? message
          : text.slice(0, 500);
      const hint = response.status === 401 ? ' (set --key or TRIPLINE_API_KEY)' : '';
      throw new ApiError(response.status, `${method} ${path} answered ${response.status}: ${detail}${hint}`);
    }
    return parsed as T;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
