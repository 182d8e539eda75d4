import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { eventually, startApp, temporaryDirectory, type RunningApp } from '@tripline/testing';
import { launchChromium, testOutputDirectory } from '../support/browser';

/** The page's storage, as seen from code run in the page (the test compiles without DOM types). */
interface PageGlobals {
  sessionStorage: { getItem(key: string): string | null };
  localStorage: { length: number };
}

/**
 * Issue 15, the console in a real browser: Debian's Chromium driven by playwright-core against the
 * standalone app with the demo seeded (its served model swapped early, so alerts fire). Every wait
 * is on a condition the page or the API exposes; charts are checked through the numbers the page
 * publishes about them (data attributes and data tables), never through pixels.
 */

const ADMIN_KEY = 'tl_console-e2e-admin-key-0123456789abcdef';
const MODEL = 'sentiment';

interface AlertSummary {
  id: string;
  state: string;
  model_id: string | null;
  acknowledged_by: string | null;
}

describe('the Tripline console in Chromium, on the standalone app with the demo seeded', () => {
  const scratch = temporaryDirectory();
  const screenshots = testOutputDirectory('console');
  let app: RunningApp;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const problems: string[] = [];
  const keys: Record<'operator' | 'viewer', { name: string; key: string }> = {
    operator: { name: 'console e2e operator', key: '' },
    viewer: { name: 'console e2e viewer', key: '' },
  };
  let operatorPage: Page;
  let acknowledged: string;

  const api = async <T>(route: string, init: RequestInit = {}, key = ADMIN_KEY) => {
    const response = await fetch(`${app.baseUrl}${route}`, {
      ...init,
      headers: {
        authorization: `Bearer ${key}`,
        ...(init.body ? { 'content-type': 'application/json' } : {}),
      },
    });
    assert.ok(response.ok, `${route}: ${response.status} ${await response.clone().text()}`);
    return (await response.json()) as T;
  };

  const openPage = async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(60_000);
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    // Failed loads are judged by their request (below); every other console error is a problem.
    page.on('console', (message) => {
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource'))
        problems.push(`console error: ${message.text()}`);
    });
    page.on('response', (response) => {
      const request = response.request();
      const deliberate = request.method() === 'POST' && /\/v1\/alerts\/[^/]+\/resolve$/.test(request.url());
      if (response.status() >= 400 && !(deliberate && response.status() === 403))
        problems.push(`${request.method()} ${request.url()}: ${response.status()}`);
    });
    return page;
  };

  const signIn = async (page: Page, key: string) => {
    await page.goto(`${app.baseUrl}/`);
    await page.getByLabel('API key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForSelector('main[data-page="fleet"][data-ready="true"]');
  };

  const visit = async (page: Page, name: string, link: string) => {
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: link }).click();
    await page.waitForSelector(`main[data-page="${name}"][data-ready="true"]`);
  };

  before(
    async () => {
      browser = await launchChromium();
      app = await startApp('standalone', {
        TRIPLINE_DATA_DIR: scratch.path,
        TRIPLINE_ADMIN_KEY: ADMIN_KEY,
        TRIPLINE_DEMO: 'true',
        // The baselines are recorded within seconds of seeding; the swap comes after them, so the
        // next scheduled replay (every minute) sees a changed model and an alert fires.
        TRIPLINE_DEMO_SWAP_AFTER_SECONDS: '20',
        // Drift windows short enough that several close while the test runs.
        DRIFT_WINDOW_SECONDS: '15',
        DRIFT_MIN_SAMPLES: '20',
      });
      await eventually(
        async () => (app.output().includes('demo: where to look:') ? true : undefined),
        120_000,
      );
      for (const role of ['operator', 'viewer'] as const) {
        const created = await api<{ key: string }>('/v1/keys', {
          method: 'POST',
          body: JSON.stringify({ name: keys[role].name, role }),
        });
        keys[role].key = created.key;
      }
      // What the pages are to show: a firing alert on the model, and history in every family the
      // charts draw (evaluations, traffic, drift windows, the alert's state change).
      await eventually(
        async () => {
          const firing = await api<{ items: AlertSummary[] }>(`/v1/alerts?state=firing&model_id=${MODEL}`);
          if (firing.items.length === 0) return undefined;
          const series = await api<{
            evaluations: { dataset_kind: string }[];
            traffic: unknown[];
            drift: { points: { p_value: number | null; statistic: number | null }[] }[];
            alerts: unknown[];
          }>(`/v1/models/${MODEL}/timeseries?from=${Date.now() - 3_600_000}`);
          const kinds = new Set(series.evaluations.map((point) => point.dataset_kind));
          return kinds.has('clean') &&
            kinds.has('canary') &&
            series.traffic.length > 1 &&
            series.drift.some((entry) =>
              entry.points.some((point) => point.p_value !== null && point.statistic !== null),
            ) &&
            series.alerts.length > 0
            ? true
            : undefined;
        },
        240_000,
        1_000,
      );
    },
    { timeout: 420_000 },
  );

  after(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await app?.stop();
    scratch.remove();
  });

  it('serves the console at / to anyone, with a policy that allows only its own scripts', async () => {
    const response = await fetch(`${app.baseUrl}/`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(response.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    assert.match(await response.text(), /<script src="\/console\/console\.js" defer><\/script>/);
    assert.equal((await fetch(`${app.baseUrl}/console/console.js`)).status, 200);
    // Only the built files: nothing else of the file system, and no data without a key.
    for (const route of [
      '/console/..%2Fpackage.json',
      '/console/index.html',
      '/console/nothing.js',
      '/index.html',
    ])
      assert.equal((await fetch(`${app.baseUrl}${route}`)).status, 404, route);
    assert.equal((await fetch(`${app.baseUrl}/v1/models`)).status, 401);
  });

  it('signs in with a pasted key, keeps it in the session only, and shows the fleet', async () => {
    operatorPage = await openPage();
    const page = operatorPage;
    await signIn(page, keys.operator.key);
    assert.ok(!page.url().includes(keys.operator.key), 'the key is never in the address');
    const storage = await page.evaluate(() => ({
      session: (globalThis as unknown as PageGlobals).sessionStorage.getItem('tripline.apiKey'),
      local: (globalThis as unknown as PageGlobals).localStorage.length,
    }));
    assert.equal(storage.session, keys.operator.key);
    assert.equal(storage.local, 0, 'nothing is kept beyond the tab');
    await page.waitForSelector('#caller [data-role="operator"]');

    const row = page.locator(`tr[data-model-id="${MODEL}"]`);
    await row.waitFor();
    const field = (name: string) => row.locator(`[data-field="${name}"]`).getAttribute('data-value');
    const accuracy = Number(await field('accuracy'));
    assert.ok(accuracy > 0.5 && accuracy <= 1, `clean accuracy shown: ${accuracy}`);
    assert.match(await row.locator('[data-field="accuracy"]').innerText(), /baseline/);
    assert.ok(Number(await field('canary')) >= 0, 'a worst canary attack-success rate is shown');
    assert.match(String(await field('fingerprint')), /^(matches|changed|unknown)$/);
    assert.match(String(await field('drift')), /^(ok|drift|insufficient-data)$/);
    assert.ok(Number(await field('firing')) >= 1, 'the firing alert is counted');
    assert.ok(Number(await field('events')) > 0, 'the demo traffic gives an event rate');
    await page.screenshot({ path: path.join(screenshots, 'fleet.png'), fullPage: true });
  });

  it('opens the model page: every chart renders the history with data points and markers', async () => {
    const page = operatorPage;
    await page.getByRole('link', { name: MODEL, exact: true }).click();
    await page.waitForSelector('main[data-page="model"][data-ready="true"]');
    const charts = ['accuracy', 'macro-f1', 'canary-asr', 'drift-p-value', 'drift-statistic', 'traffic'];
    for (const chart of charts) {
      const figure = page.locator(`figure[data-chart="${chart}"]`);
      await page.waitForSelector(`figure[data-chart="${chart}"][data-rendered="true"]`);
      const points = Number(await figure.getAttribute('data-points'));
      assert.ok(points > 0, `${chart}: ${points} data points`);
      // uPlot drew it: its canvas is there, and the data table holds the same series.
      assert.equal(await figure.locator('canvas').count(), 1, `${chart}: one canvas`);
      const series = Number(await figure.getAttribute('data-series'));
      assert.equal(
        await figure.locator('details.data thead th').count(),
        series + 1,
        `${chart}: table columns`,
      );
      assert.ok(
        ((await figure.locator('[role="img"]').getAttribute('aria-label')) ?? '').includes(
          `${points} data points`,
        ),
        `${chart}: the accessible description carries the numbers`,
      );
    }
    // The firing alert is marked on the charts (its state change reached the history).
    assert.ok(Number(await page.locator('figure[data-chart="accuracy"]').getAttribute('data-markers')) >= 1);
    await page
      .locator('figure[data-chart="accuracy"] .markers')
      .getByText(/alert firing/)
      .first()
      .waitFor();
    // Latest runs carry their verdicts; the version table shows the current version.
    assert.ok((await page.locator('tr[data-run-id]').count()) > 0, 'latest evaluation runs listed');
    await page.locator('tr[data-version="1"]').getByText('current').waitFor();
    await page.screenshot({ path: path.join(screenshots, 'model.png'), fullPage: true });
    await page.screenshot({ path: path.join(screenshots, 'model-viewport.png') });
  });

  it('lets an operator acknowledge a firing alert from the alerts page', async () => {
    const page = operatorPage;
    await visit(page, 'alerts', 'Alerts');
    const firing = page.locator('tr[data-alert-id][data-state="firing"]').first();
    await firing.waitFor();
    acknowledged = (await firing.getAttribute('data-alert-id'))!;
    await page.screenshot({ path: path.join(screenshots, 'alerts.png'), fullPage: true });
    await firing.getByRole('button', { name: 'Acknowledge' }).click();
    await page.waitForSelector(`tr[data-alert-id="${acknowledged}"][data-state="acknowledged"]`);
    const alert = await api<AlertSummary>(`/v1/alerts/${acknowledged}`);
    assert.equal(alert.state, 'acknowledged');
    assert.equal(alert.acknowledged_by, keys.operator.name);
    assert.match((await page.locator('#status').textContent()) ?? '', /^Alert .+ acknowledged$/, 'announced');
    await page.screenshot({ path: path.join(screenshots, 'alerts-acknowledged.png'), fullPage: true });
  });

  it('lists trigger scans and shows a dataset scan report inline in a sandboxed frame', async () => {
    const page = operatorPage;
    await visit(page, 'scans', 'Scans');
    await page.locator('tr[data-scan-id]').first().waitFor();
    const clean = page.locator('tr[data-dataset-id]', { hasText: 'held-out' }).first();
    const datasetId = await clean.getAttribute('data-dataset-id');
    await clean.getByRole('button', { name: 'Scan' }).click();
    const frame = page.locator(`article.dataset-report[data-dataset-id="${datasetId}"] iframe`);
    await frame.waitFor({ timeout: 180_000 });
    assert.equal(await frame.getAttribute('sandbox'), '', 'no scripts, no same-origin access');
    const report = page.frameLocator(`article.dataset-report[data-dataset-id="${datasetId}"] iframe`);
    await report
      .locator('body')
      .getByText(/dataset scan/i)
      .first()
      .waitFor();
    await page.screenshot({ path: path.join(screenshots, 'scans.png'), fullPage: true });
  });

  it('shows a viewer no operator buttons, and the API refuses the operation to that key with 403', async () => {
    const page = await openPage();
    await signIn(page, keys.viewer.key);
    await page.waitForSelector('#caller [data-role="viewer"]');
    await visit(page, 'alerts', 'Alerts');
    await page.locator(`tr[data-alert-id="${acknowledged}"]`).waitFor();
    assert.equal(await page.locator('button[data-action]').count(), 0, 'no acknowledge, resolve or silence');
    await page.locator(`tr[data-alert-id="${acknowledged}"]`).getByText('operators act on alerts').waitFor();
    await page.screenshot({ path: path.join(screenshots, 'alerts-viewer.png'), fullPage: true });
    await visit(page, 'scans', 'Scans');
    assert.equal(await page.locator('button[data-action="scan-dataset"]').count(), 0, 'no dataset scan');

    // The buttons are a courtesy: the same call from the page with the viewer's key is refused.
    const refused = await page.evaluate(async (id) => {
      const response = await fetch(`/v1/alerts/${id}/resolve`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${(globalThis as unknown as PageGlobals).sessionStorage.getItem('tripline.apiKey')}`,
          'content-type': 'application/json',
        },
        body: '{}',
      });
      return { status: response.status, body: await response.text() };
    }, acknowledged);
    assert.equal(refused.status, 403, refused.body);
    assert.match(refused.body, /needs role operator or higher; this key has role viewer/);
    assert.equal((await api<AlertSummary>(`/v1/alerts/${acknowledged}`)).state, 'acknowledged');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForSelector('main[data-page="sign-in"]');
    assert.equal(
      await page.evaluate(() =>
        (globalThis as unknown as PageGlobals).sessionStorage.getItem('tripline.apiKey'),
      ),
      null,
    );
  });

  it('ran without a script error or a refused resource in the browser', () => {
    assert.deepEqual(problems, []);
  });
});
