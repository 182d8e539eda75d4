import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startApp, temporaryDirectory, type RunningApp } from '@tripline/testing';

const ADMIN_KEY = 'tl_e2e-admin-key-0123456789abcdefghij';

describe('standalone app on embedded storage', () => {
  const scratch = temporaryDirectory();
  let app: RunningApp;

  const call = (method: string, path: string, key?: string, body?: unknown) =>
    fetch(`${app.baseUrl}${path}`, {
      method,
      headers: {
        ...(key ? { authorization: `Bearer ${key}` } : {}),
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });

  before(async () => {
    app = await startApp('standalone', { TRIPLINE_DATA_DIR: scratch.path, TRIPLINE_ADMIN_KEY: ADMIN_KEY });
  });

  after(async () => {
    await app?.stop('SIGKILL');
    scratch.remove();
  });

  it('GET /health answers 200 with every store up', async () => {
    const response = await call('GET', '/health');
    assert.equal(response.status, 200);
    const body = (await response.json()) as { status: string; details: Record<string, { status: string }> };
    assert.equal(body.status, 'ok');
    assert.deepEqual(Object.keys(body.details).sort(), ['bus', 'clickhouse', 'postgres', 'process']);
    for (const [name, check] of Object.entries(body.details)) assert.equal(check.status, 'up', name);
  });

  it('serves the OpenAPI UI and document', async () => {
    assert.equal((await call('GET', '/docs')).status, 200);
    const document = (await (await call('GET', '/docs-json')).json()) as {
      paths: Record<string, unknown>;
      components: { securitySchemes: object };
    };
    assert.ok(document.paths['/v1/keys'], 'keys routes are documented');
    assert.ok(document.components.securitySchemes, 'bearer auth is documented');
  });

  it('a /v1/ route without a key is 401, with an unknown key 401', async () => {
    const missing = await call('GET', '/v1/keys');
    assert.equal(missing.status, 401);
    assert.match(((await missing.json()) as { message: string }).message, /Authorization: Bearer/);
    assert.equal((await call('GET', '/v1/keys', 'tl_not-a-real-key')).status, 401);
  });

  it('a key without the needed role is 403; the admin can create, list and revoke keys', async () => {
    const created = await call('POST', '/v1/keys', ADMIN_KEY, { name: 'dashboards', role: 'viewer' });
    assert.equal(created.status, 201);
    const viewer = (await created.json()) as { id: string; key: string; prefix: string };
    assert.match(viewer.key, /^tl_/);
    assert.equal(viewer.key.slice(0, 10), viewer.prefix);

    const forbidden = await call('GET', '/v1/keys', viewer.key);
    assert.equal(forbidden.status, 403);
    assert.match(
      ((await forbidden.json()) as { message: string }).message,
      /needs role admin or higher; this key has role viewer/,
    );

    const listed = (await (await call('GET', '/v1/keys', ADMIN_KEY)).json()) as {
      items: Record<string, unknown>[];
    };
    const entry = listed.items.find((item) => item.id === viewer.id);
    assert.ok(entry);
    assert.equal(entry.key, undefined, 'the secret is never listed');
    assert.ok(!JSON.stringify(listed).includes(viewer.key), 'no secret anywhere in the list');
    assert.ok(!JSON.stringify(listed).includes('keyHash'), 'no hash in the list');

    assert.equal((await call('DELETE', `/v1/keys/${viewer.id}`, ADMIN_KEY)).status, 200);
    assert.equal(
      (await call('GET', '/v1/keys', viewer.key)).status,
      401,
      'a revoked key no longer authenticates',
    );
  });

  it('an ingest-only key cannot manage keys (403)', async () => {
    const created = (await (
      await call('POST', '/v1/keys', ADMIN_KEY, { name: 'svc', scopes: ['ingest'] })
    ).json()) as { key: string; role: null };
    assert.equal(created.role, null);
    assert.equal((await call('POST', '/v1/keys', created.key, { name: 'x', role: 'admin' })).status, 403);
  });

  it('rejects a bad key request with a message naming the field', async () => {
    const response = await call('POST', '/v1/keys', ADMIN_KEY, { name: '', role: 'superuser' });
    assert.equal(response.status, 400);
    const body = (await response.json()) as { message: string[] };
    assert.ok(
      body.message.some((m) => m.startsWith('name: expected a non-empty name')),
      body.message.join('\n'),
    );
    assert.ok(
      body.message.some((m) => m.startsWith('role: expected one of viewer, operator, admin')),
      body.message.join('\n'),
    );
  });

  it('the last admin key cannot be revoked', async () => {
    const listed = (await (await call('GET', '/v1/keys', ADMIN_KEY)).json()) as {
      items: { id: string; role: string }[];
    };
    const admin = listed.items.find((item) => item.role === 'admin')!;
    assert.equal((await call('DELETE', `/v1/keys/${admin.id}`, ADMIN_KEY)).status, 409);
  });

  it('exposes Prometheus metrics, including per-route HTTP timings', async () => {
    const response = await call('GET', '/metrics');
    assert.equal(response.status, 200);
    const text = await response.text();
    assert.match(text, /tripline_http_request_duration_seconds_count\{.*route="\/v1\/keys"/);
    assert.match(text, /tripline_process_cpu_seconds_total/);
  });

  it('never writes the admin key to its logs', () => {
    assert.ok(!app.output().includes(ADMIN_KEY));
  });
});

describe('standalone first run and restart', () => {
  const scratch = temporaryDirectory();
  after(() => scratch.remove());

  it('prints a generated admin key once, keeps data across a restart, and exits 0 on SIGTERM', async () => {
    const first = await startApp('standalone', { TRIPLINE_DATA_DIR: scratch.path });
    const printed = /(tl_[A-Za-z0-9_-]{43})/.exec(first.output());
    assert.ok(printed, `expected an admin key on the console:\n${first.output()}`);
    const key = printed[1];
    const created = await fetch(`${first.baseUrl}/v1/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'survives restart', role: 'operator' }),
    });
    assert.equal(created.status, 201);
    assert.equal(await first.stop('SIGTERM'), 0, `clean shutdown expected:\n${first.output()}`);

    const second = await startApp('standalone', { TRIPLINE_DATA_DIR: scratch.path });
    try {
      assert.ok(!/tl_[A-Za-z0-9_-]{43}/.test(second.output()), 'no new admin key on a second start');
      const listed = await fetch(`${second.baseUrl}/v1/keys`, {
        headers: { authorization: `Bearer ${key}` },
      });
      assert.equal(listed.status, 200);
      const names = ((await listed.json()) as { items: { name: string }[] }).items.map((item) => item.name);
      assert.ok(names.includes('survives restart'));
    } finally {
      assert.equal(await second.stop('SIGTERM'), 0);
    }
  });

  // A new value is registered like the first one was (the first start above): that is the way back in.
  it('a revoked TRIPLINE_ADMIN_KEY stays revoked after a restart, and the start says how to get back in', async () => {
    const data = temporaryDirectory();
    const first = 'tl_e2e-bootstrap-first-0123456789abcdef';
    const call = (app: RunningApp, key: string, method = 'GET', path = '/v1/keys', body?: unknown) =>
      fetch(`${app.baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
    try {
      let app = await startApp('standalone', { TRIPLINE_DATA_DIR: data.path, TRIPLINE_ADMIN_KEY: first });
      const other = await call(app, first, 'POST', '/v1/keys', { name: 'second admin', role: 'admin' });
      assert.equal(other.status, 201);
      const { items } = (await (await call(app, first)).json()) as { items: { id: string; name: string }[] };
      const bootstrap = items.find((item) => item.name.includes('TRIPLINE_ADMIN_KEY'))!;
      assert.equal((await call(app, first, 'DELETE', `/v1/keys/${bootstrap.id}`)).status, 200);
      assert.equal(await app.stop('SIGTERM'), 0);

      app = await startApp('standalone', { TRIPLINE_DATA_DIR: data.path, TRIPLINE_ADMIN_KEY: first });
      try {
        assert.equal((await call(app, first)).status, 401, 'a restart does not bring a revoked key back');
        assert.match(
          app.output(),
          /TRIPLINE_ADMIN_KEY is the key .* it stays revoked\. To get back in, set TRIPLINE_ADMIN_KEY to a new value/,
        );
      } finally {
        assert.equal(await app.stop('SIGTERM'), 0);
      }
    } finally {
      data.remove();
    }
  });

  it('refuses to start with an invalid variable, naming it', async () => {
    await assert.rejects(
      startApp('standalone', {
        TRIPLINE_DATA_DIR: scratch.path,
        PORT_UNUSED: '1',
        KAFKA_BROKERS: 'not a broker',
      }),
      /KAFKA_BROKERS: expected a comma-separated list of host:port pairs/,
    );
  });
});
