import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import path from 'node:path';
import { eventually, startApp, temporaryDirectory, type RunningApp } from '@tripline/testing';

/**
 * Issue 8, the authorization matrix: every route under /v1/ in the OpenAPI document, every method,
 * called with no key, an unknown key, and keys of each role and of the ingest scope. The expected
 * answer comes from the method default (reads need a viewer, anything else an operator) and the
 * small table of exceptions below; a route that behaves otherwise fails the test until it is
 * looked at and, if deliberate, added to the table.
 */

type Role = 'viewer' | 'operator' | 'admin';
type Requirement = { role: Role } | { scope: 'ingest' };

/** Routes that declare their own requirement (@RequireRole / @RequireScope above the method default). */
const EXCEPTIONS: Record<string, Requirement> = {
  'POST /v1/events': { scope: 'ingest' },
  'POST /v1/feedback': { scope: 'ingest' },
  'GET /v1/keys': { role: 'admin' },
  'POST /v1/keys': { role: 'admin' },
  'DELETE /v1/keys/{id}': { role: 'admin' },
  'DELETE /v1/models/{id}': { role: 'admin' },
};

const byDefault = (method: string): Requirement =>
  ['GET', 'HEAD', 'OPTIONS'].includes(method) ? { role: 'viewer' } : { role: 'operator' };

const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };

interface Caller {
  name: string;
  authorization?: string;
  role?: Role;
  scopes?: 'ingest'[];
}

function grants(caller: Caller, requirement: Requirement): boolean {
  if ('scope' in requirement)
    return caller.role === 'admin' || (caller.scopes ?? []).includes(requirement.scope);
  return caller.role !== undefined && RANK[caller.role] >= RANK[requirement.role];
}

const describeRequirement = (requirement: Requirement) =>
  'scope' in requirement ? `the ${requirement.scope} scope` : `role ${requirement.role}`;

const ADMIN_KEY = `tl_authz-e2e-bootstrap-${randomBytes(12).toString('hex')}`;
const DUMMY_ID = '00000000-0000-4000-8000-000000000000';
const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

describe('authorization matrix over every /v1/ route', () => {
  const scratch = temporaryDirectory();
  let app: RunningApp;
  const secrets: string[] = [ADMIN_KEY];
  const bodies: { what: string; text: string }[] = [];
  let callers: Caller[] = [];

  const call = async (method: string, path: string, authorization?: string) => {
    const mutation = !['GET', 'HEAD', 'DELETE'].includes(method);
    const response = await fetch(`${app.baseUrl}${path}`, {
      method,
      headers: {
        ...(authorization ? { authorization } : {}),
        ...(mutation ? { 'content-type': 'application/json' } : {}),
      },
      ...(mutation ? { body: '{}' } : {}),
    });
    const text = await response.text();
    bodies.push({ what: `${method} ${path}`, text });
    return { status: response.status, text };
  };

  before(async () => {
    app = await startApp('standalone', {
      TRIPLINE_DATA_DIR: scratch.path,
      TRIPLINE_ADMIN_KEY: ADMIN_KEY,
      // Request lines are logged at info: the query-string test reads them.
      LOG_LEVEL: 'info',
    });
    const issue = async (name: string, grant: { role?: Role; scopes?: 'ingest'[] }) => {
      const response = await fetch(`${app.baseUrl}/v1/keys`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name, ...grant }),
      });
      assert.equal(response.status, 201, await response.clone().text());
      const { key } = (await response.json()) as { key: string };
      secrets.push(key);
      return { name, authorization: `Bearer ${key}`, ...grant } satisfies Caller;
    };
    const unknown = `tl_${randomBytes(32).toString('base64url')}`;
    callers = [
      { name: 'no key' },
      { name: 'an unknown key', authorization: `Bearer ${unknown}` },
      { name: 'the admin key’s hash as a key', authorization: `Bearer ${sha256(ADMIN_KEY)}` },
      {
        name: 'the admin key as Basic credentials',
        authorization: `Basic ${Buffer.from(`x:${ADMIN_KEY}`).toString('base64')}`,
      },
      await issue('viewer', { role: 'viewer' }),
      await issue('operator', { role: 'operator' }),
      await issue('admin', { role: 'admin' }),
      await issue('ingest only', { scopes: ['ingest'] }),
    ];
  });

  after(async () => {
    await app?.stop();
    scratch.remove();
  });

  it('answers 401 without a valid key and 403 exactly where the role or scope is missing, on every route', async (t) => {
    const document = (await (await fetch(`${app.baseUrl}/docs-json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const routes = Object.entries(document.paths)
      .filter(([path]) => path.startsWith('/v1/'))
      .flatMap(([path, methods]) =>
        Object.keys(methods)
          .filter((method) => ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'].includes(method))
          .map((method) => ({ method: method.toUpperCase(), path })),
      );
    const names = new Set(routes.map((route) => `${route.method} ${route.path}`));
    // The enumeration is not vacuous: the documented interface is all there.
    for (const expected of [
      'POST /v1/events',
      'POST /v1/feedback',
      'GET /v1/models',
      'GET /v1/models/{id}/stats',
      'GET /v1/datasets',
      'GET /v1/schedules',
      'POST /v1/evaluations',
      'POST /v1/scans',
      ...Object.keys(EXCEPTIONS),
    ])
      assert.ok(names.has(expected), `${expected} is not in /docs-json (a stale table row, or a lost route)`);

    const failures: string[] = [];
    const serverErrors: string[] = [];
    for (const { method, path } of routes) {
      const key = `${method} ${path}`;
      const requirement = EXCEPTIONS[key] ?? byDefault(method);
      const concrete = path.replace(/\{[^}]+\}/g, DUMMY_ID);
      for (const caller of callers) {
        const { status, text } = await call(method, concrete, caller.authorization);
        const expected = !caller.role && !caller.scopes ? 401 : grants(caller, requirement) ? 'allowed' : 403;
        const ok = expected === 'allowed' ? status !== 401 && status !== 403 : status === expected;
        if (!ok)
          failures.push(
            `${key} with ${caller.name}: ${status}, expected ${expected} (${describeRequirement(requirement)}, ` +
              `${key in EXCEPTIONS ? 'from the table of exceptions' : 'the method default'}). If the route deliberately ` +
              `needs something else, add it to EXCEPTIONS. ${text.slice(0, 160)}`,
          );
        if (expected !== 401 && status === 403 && !/needs .+; this key has/.test(text))
          failures.push(
            `${key} with ${caller.name}: a 403 that does not say what is needed: ${text.slice(0, 160)}`,
          );
        if (status >= 500) serverErrors.push(`${key} with ${caller.name}: ${status}`);
      }
    }
    t.diagnostic(
      `${routes.length} routes × ${callers.length} callers; 5xx on dummy parameters: ${serverErrors.length ? serverErrors.join('; ') : 'none'}`,
    );
    assert.deepEqual(failures, []);
  });

  it('serves no route under another spelling of its path, and no spelling reaches a handler without a key', async () => {
    const document = (await (await fetch(`${app.baseUrl}/docs-json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const admin = callers.find((caller) => caller.role === 'admin')!.authorization!;
    const routes = Object.entries(document.paths)
      .filter(([path]) => path.startsWith('/v1/'))
      .flatMap(([path, methods]) =>
        Object.keys(methods)
          .filter((method) => ['get', 'post', 'put', 'patch', 'delete'].includes(method))
          .map((method) => ({ method: method.toUpperCase(), path: path.replace(/\{[^}]+\}/g, DUMMY_ID) })),
      );
    assert.ok(routes.length > 30, `only ${routes.length} routes enumerated`);
    const spellings = (path: string) => [
      { form: 'upper-case V1', path: path.replace('/v1/', '/V1/') },
      { form: 'all upper case', path: path.toUpperCase() },
      {
        form: 'a capital letter after /v1/',
        path: path.replace(/^\/v1\/(.)/, (_, c: string) => `/v1/${c.toUpperCase()}`),
      },
      { form: 'a trailing slash', path: `${path}/` },
      { form: 'a doubled leading slash', path: `/${path}` },
      { form: 'a doubled inner slash', path: path.replace('/v1/', '/v1//') },
      { form: 'an encoded slash', path: path.replace('/v1/', '/v1%2F') },
      {
        form: 'an encoded first letter',
        path: path.replace(/^\/v1\/(.)/, (_, c: string) => `/v1/%${c.charCodeAt(0).toString(16)}`),
      },
    ];
    const failures: string[] = [];
    for (const { method, path } of routes) {
      for (const variant of spellings(path)) {
        if (variant.path === path) continue;
        const anonymous = await call(method, variant.path);
        // Deny by default: without a key the answer is 401 (guarded) or 404 (no such route), never a handler's.
        if (![401, 404].includes(anonymous.status))
          failures.push(
            `${method} ${variant.path} (${variant.form}) without a key: ${anonymous.status} ${anonymous.text.slice(0, 120)}`,
          );
        const withKey = await call(method, variant.path, admin);
        // One spelling per route: another spelling is not served even to an admin.
        if (withKey.status !== 404)
          failures.push(
            `${method} ${variant.path} (${variant.form}) with an admin key: ${withKey.status}, expected 404`,
          );
      }
      const head = method === 'GET' ? await fetch(`${app.baseUrl}${path}`, { method: 'HEAD' }) : undefined;
      if (head && head.status !== 401)
        failures.push(`HEAD ${path} without a key: ${head.status}, expected 401`);
      const options = await fetch(`${app.baseUrl}${path}`, { method: 'OPTIONS' });
      const optionsText = await options.text();
      if (options.status < 400)
        failures.push(`OPTIONS ${path} without a key: ${options.status} ${optionsText.slice(0, 80)}`);
    }
    assert.deepEqual(failures, []);
  });

  it('creates no key through /V1/keys without a key (the outside review’s reproduction)', async () => {
    for (const path of ['/V1/keys', '/v1/KEYS', '/V1/Keys/', '/v1/keys/']) {
      const response = await fetch(`${app.baseUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'intruder', role: 'admin' }),
      });
      assert.ok([401, 404].includes(response.status), `POST ${path}: ${response.status}`);
      assert.doesNotMatch(await response.text(), /tl_/);
    }
    const listed = (await (
      await fetch(`${app.baseUrl}/v1/keys`, {
        headers: { authorization: callers.find((c) => c.role === 'admin')!.authorization! },
      })
    ).json()) as { items: { name: string }[] };
    assert.ok(!listed.items.some((key) => key.name === 'intruder'), 'an intruder key was created');
  });

  it('keeps the operational routes public and everything else closed', async () => {
    for (const path of ['/health', '/health/live', '/metrics', '/docs-json']) {
      const response = await fetch(`${app.baseUrl}${path}`);
      assert.ok(
        response.status === 200 || (path === '/health' && response.status === 503),
        `GET ${path}: ${response.status}`,
      );
    }
    const docs = await fetch(`${app.baseUrl}/docs`);
    assert.ok(docs.status < 400, `GET /docs: ${docs.status}`);
    for (const path of ['/HEALTH', '/health/', '/Metrics'])
      assert.equal((await fetch(`${app.baseUrl}${path}`)).status, 404, `GET ${path}`);
  });

  it('serves the console’s static files without a key, by their one spelling, and nothing else', async () => {
    for (const path of ['/', '/console/console.js', '/console/console.css']) {
      const response = await fetch(`${app.baseUrl}${path}`);
      assert.equal(response.status, 200, `GET ${path}`);
      assert.doesNotMatch(await response.text(), /tl_/, `${path} holds no key`);
    }
    for (const path of [
      '/Console/console.js',
      '/console/console.js/',
      '/console/Console.js',
      '/console/',
      '/console/index.html',
      '/console/..%2F..%2Fpackage.json',
      '/console/%2e%2e%2fpackage.json',
      '/index.html',
    ])
      assert.equal((await fetch(`${app.baseUrl}${path}`)).status, 404, `GET ${path}`);
    // The console is not an API route: it writes nothing and is absent from the OpenAPI document.
    assert.equal((await fetch(`${app.baseUrl}/`, { method: 'POST' })).status, 404);
    const document = (await (await fetch(`${app.baseUrl}/docs-json`)).json()) as { paths: object };
    assert.ok(!Object.keys(document.paths).some((path) => path === '/' || path.startsWith('/console')));
  });

  it('never answers with an API key secret or a key hash', async () => {
    for (const path of ['/health', '/metrics', '/docs-json', '/v1/keys']) {
      await call('GET', path, callers.find((caller) => caller.role === 'admin')!.authorization);
    }
    const listed = bodies.find((body) => body.what === 'GET /v1/keys' && body.text.includes('"items"'));
    assert.ok(listed, 'the key list was read');
    assert.ok(bodies.length > 100, `only ${bodies.length} answers collected`);
    const forbidden = secrets.flatMap((secret) => [
      { what: 'a key secret', text: secret },
      { what: 'a key secret without its prefix', text: secret.slice(3) },
      { what: 'a key hash', text: sha256(secret) },
      { what: 'a key hash (upper case)', text: sha256(secret).toUpperCase() },
    ]);
    const leaks = bodies.flatMap((body) =>
      forbidden
        .filter((needle) => body.text.includes(needle.text))
        .map((needle) => `${body.what}: ${needle.what}`),
    );
    assert.deepEqual(leaks, []);
  });

  const keyOf = (role: Role) => callers.find((caller) => caller.role === role)!.authorization!;
  const send = (route: string, authorization: string, method = 'GET', body?: unknown) =>
    fetch(`${app.baseUrl}${route}`, {
      method,
      headers: { authorization, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });

  it('refuses an expired key on the first request after its expiry, though it was just used', async () => {
    const expiresAt = Date.now() + 1_500;
    const created = await send('/v1/keys', keyOf('admin'), 'POST', {
      name: 'short-lived',
      role: 'viewer',
      expiresAt: new Date(expiresAt).toISOString(),
    });
    assert.equal(created.status, 201);
    const authorization = `Bearer ${((await created.json()) as { key: string }).key}`;
    assert.equal((await send('/v1/models', authorization)).status, 200, 'valid (and now cached)');
    await eventually(async () => (Date.now() > expiresAt ? true : undefined), 5_000);
    assert.equal((await send('/v1/models', authorization)).status, 401, 'expired');
  });

  it('shows the data directory in /health only to callers with a key', async () => {
    const directory = path.basename(scratch.path);
    const anonymous = await (await fetch(`${app.baseUrl}/health`)).text();
    assert.doesNotMatch(anonymous, new RegExp(directory), anonymous);
    const viewer = await (await send('/health', keyOf('viewer'))).text();
    assert.match(viewer, new RegExp(directory), 'a viewer still sees where the data is');
    const unknown = await (
      await send('/health', `Bearer tl_${randomBytes(32).toString('base64url')}`)
    ).text();
    assert.doesNotMatch(unknown, new RegExp(directory), 'an unknown key is anonymous');
  });

  it('never writes a key sent in the query string to the log', async () => {
    const secret = `tl_${randomBytes(32).toString('base64url')}`;
    await send(`/v1/models?api_key=${secret}&token=${secret}x`, keyOf('viewer'));
    await eventually(async () =>
      app.output().includes('api_key=[redacted]&token=[redacted]') ? true : undefined,
    );
    assert.ok(!app.output().includes(secret));
  });

  it('shows viewers and operators only where a model endpoint is; admins see path and plain headers', async () => {
    assert.equal(
      (await send('/v1/models', keyOf('admin'), 'POST', { id: 'authz-endpoint', task: 'text-generation' }))
        .status,
      201,
    );
    const registered = await send('/v1/models/authz-endpoint/versions', keyOf('operator'), 'POST', {
      version: '1',
      adapter: {
        kind: 'openai-chat',
        url: 'http://127.0.0.1:9/tenant-7f3a9c/v1?sig=s1gn4ture',
        model: 'm',
        headers: { 'X-Auth': 'opaque-credential', 'X-Team': 'ml' },
      },
    });
    assert.equal(registered.status, 201, await registered.clone().text());
    assert.match(
      await registered.text(),
      /tenant-7f3a9c/,
      'the create response shows its caller what it sent',
    );
    for (const role of ['viewer', 'operator'] as const) {
      const listed = (await (await send('/v1/models/authz-endpoint/versions', keyOf(role))).json()) as {
        items: { adapter: { url: string; headers: Record<string, string> } }[];
      };
      assert.deepEqual(listed.items[0].adapter.url, 'http://127.0.0.1:9/[redacted]', role);
      assert.deepEqual(
        listed.items[0].adapter.headers,
        { 'X-Auth': '[redacted]', 'X-Team': '[redacted]' },
        role,
      );
      assert.doesNotMatch(JSON.stringify(listed), /tenant-7f3a9c|s1gn4ture|opaque-credential/, role);
    }
    const admin = (await (await send('/v1/models/authz-endpoint/versions', keyOf('admin'))).json()) as {
      items: { adapter: { url: string; headers: Record<string, string> } }[];
    };
    assert.equal(admin.items[0].adapter.url, 'http://127.0.0.1:9/tenant-7f3a9c/v1?sig=s1gn4ture');
    assert.equal(admin.items[0].adapter.headers['X-Team'], 'ml');
  });
});
