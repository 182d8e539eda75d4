/**
 * The console's only way to the data: the /v1 API of the origin that served it, with the key the
 * user pasted. The key stays in sessionStorage (gone when the tab closes) and travels only in the
 * Authorization header, never in a URL.
 */
const KEY = 'tripline.apiKey';
const CALLER = 'tripline.caller';

export type Role = 'viewer' | 'operator' | 'admin';
export interface Caller {
  key_id: string;
  name: string;
  role: Role | null;
  scopes: string[];
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export const session = {
  key: () => sessionStorage.getItem(KEY),
  caller: (): Caller | null => {
    const text = sessionStorage.getItem(CALLER);
    return text ? (JSON.parse(text) as Caller) : null;
  },
  isOperator: () => {
    const role = session.caller()?.role;
    return role === 'operator' || role === 'admin';
  },
  signIn(key: string, caller: Caller) {
    sessionStorage.setItem(KEY, key);
    sessionStorage.setItem(CALLER, JSON.stringify(caller));
  },
  signOut() {
    sessionStorage.removeItem(KEY);
    sessionStorage.removeItem(CALLER);
  },
};

/** Called when the API says the key is no longer valid (revoked, expired). */
let onUnauthorized = () => undefined as void;
export const whenUnauthorized = (handler: () => void) => (onUnauthorized = handler);

async function call(path: string, init: RequestInit = {}, key = session.key()): Promise<Response> {
  const headers = new Headers(init.headers);
  if (key) headers.set('authorization', `Bearer ${key}`);
  if (init.body !== undefined) headers.set('content-type', 'application/json');
  const response = await fetch(path, { ...init, headers, credentials: 'omit', cache: 'no-store' });
  if (response.ok) return response;
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = (await response.json()) as { message?: unknown };
    if (body.message) message = Array.isArray(body.message) ? body.message.join('; ') : String(body.message);
  } catch {
    // not JSON: keep the status line
  }
  if (response.status === 401 && key === session.key()) onUnauthorized();
  throw new ApiError(response.status, message);
}

export async function get<T>(path: string): Promise<T> {
  return (await call(path)).json() as Promise<T>;
}

export async function post<T>(path: string, body: unknown = {}): Promise<T> {
  return (await call(path, { method: 'POST', body: JSON.stringify(body) })).json() as Promise<T>;
}

export async function postForText(path: string, body: unknown): Promise<string> {
  return (await call(path, { method: 'POST', body: JSON.stringify(body) })).text();
}

/** Checks a pasted key before keeping it. */
export async function whoIs(key: string): Promise<Caller> {
  return (await call('/v1/me', {}, key)).json() as Promise<Caller>;
}

/** A read that may be absent in this deployment (the api app alone serves no /v1/alerts): null on 404. */
export async function optional<T>(path: string): Promise<T | null> {
  try {
    return await get<T>(path);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}
