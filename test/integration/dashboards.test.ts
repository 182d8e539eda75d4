import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Ajv from 'ajv';
import { parse as parseYaml } from 'yaml';
import { ClickHouse, CLICKHOUSE_MIGRATIONS, migrateClickHouse } from '@tripline/clickhouse';
import { temporaryDirectory } from '@tripline/testing';
import { grafanaSql, type GrafanaQueryContext } from '../support/grafana-sql';
import { seedHistory, SEEDED_MODELS, type SeededHistory } from '../support/history-seed';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const DASHBOARDS = path.join(ROOT, 'dashboards');

interface Target {
  refId: string;
  datasource?: { type: string; uid: string };
  [key: string]: unknown;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: Target[];
  [key: string]: unknown;
}
interface Variable {
  name: string;
  type: string;
  multi?: boolean;
  includeAll?: boolean;
  datasource?: { type: string; uid: string };
  query?: { rawSql?: string; editorType?: string };
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: Variable[] };
}

const files = readdirSync(path.join(DASHBOARDS, 'tripline'))
  .filter((file) => file.endsWith('.json'))
  .sort();
const dashboards = files.map((file) => ({
  file,
  json: JSON.parse(readFileSync(path.join(DASHBOARDS, 'tripline', file), 'utf8')) as Dashboard,
}));
const expectedColumns = JSON.parse(
  readFileSync(path.join(DASHBOARDS, 'panel-columns.json'), 'utf8'),
) as Record<string, Record<string, Record<string, string[]>>>;
const builder = require(path.join(DASHBOARDS, 'build.js')) as {
  build(): Record<string, string>;
  CLICKHOUSE: { type: string; uid: string };
  PROMETHEUS: { type: string; uid: string };
};
const schemaGenerator = require(path.join(DASHBOARDS, 'schema', 'generate.js')) as {
  generateSchema(): unknown;
  render(schema: unknown): string;
  OUTPUT: string;
};

const isClickHouse = (target: Target, panel: Panel) =>
  (target.datasource ?? panel.datasource)?.type === builder.CLICKHOUSE.type;
const clickHouseTargets = (panel: Panel) =>
  (panel.targets ?? []).filter((target) => isClickHouse(target, panel));

/** Metric names and kinds the apps register with prom-client, read from the source. */
function exportedMetrics(): Map<string, string> {
  const metrics = new Map<string, string>();
  const walk = (directory: string) => {
    for (const entry of readdirSync(directory, { withFileTypes: true })) {
      const full = path.join(directory, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts')) {
        const source = readFileSync(full, 'utf8');
        for (const match of source.matchAll(/\.(counter|gauge|histogram)\(\s*\{\s*name:\s*'([a-z0-9_]+)'/g))
          metrics.set(match[2], match[1]);
      }
    }
  };
  walk(path.join(ROOT, 'libs'));
  return metrics;
}

describe('Grafana dashboards: files', () => {
  it('are exactly what dashboards/build.js produces', () => {
    const built = builder.build();
    assert.ok(Object.keys(built).length >= 6);
    for (const [file, text] of Object.entries(built)) {
      assert.equal(
        readFileSync(file, 'utf8'),
        text,
        `${path.relative(ROOT, file)} is stale: node dashboards/build.js`,
      );
    }
    assert.deepEqual(
      files,
      Object.keys(built)
        .filter((file) => path.dirname(file).endsWith('tripline'))
        .map((file) => path.basename(file))
        .sort(),
    );
  });

  it('include the five dashboards of the design', () => {
    assert.deepEqual(dashboards.map(({ json }) => json.uid).sort(), [
      'tripline-alerts',
      'tripline-canaries',
      'tripline-fleet',
      'tripline-ingestion',
      'tripline-model',
    ]);
  });

  it('come with a JSON Schema that matches the installed @grafana/schema Dashboard type', () => {
    const committed = readFileSync(schemaGenerator.OUTPUT, 'utf8');
    assert.equal(
      committed,
      schemaGenerator.render(schemaGenerator.generateSchema()),
      'dashboards/schema/dashboard.schema.json is stale: node dashboards/schema/generate.js',
    );
  });

  it('validate against that schema, which refuses what Grafana would not load', () => {
    const ajv = new Ajv({ allErrors: true, strict: true });
    const validate = ajv.compile(JSON.parse(readFileSync(schemaGenerator.OUTPUT, 'utf8')));
    for (const { file, json } of dashboards) {
      assert.ok(validate(json), `${file}: ${ajv.errorsText(validate.errors, { separator: '\n' })}`);
    }
    // The schema is strict enough to matter: an unknown panel property, a panel without a type.
    const [{ json }] = dashboards;
    const unknownProperty = structuredClone(json);
    (unknownProperty.panels[0] as Record<string, unknown>).queries = [];
    assert.equal(validate(unknownProperty), false);
    const untyped = structuredClone(json);
    delete (untyped.panels[0] as Partial<Panel>).type;
    assert.equal(validate(untyped), false);
  });

  it('have unique ids and titles and a model variable backed by a ClickHouse query', () => {
    for (const { file, json } of dashboards) {
      const ids = json.panels.map((panel) => panel.id);
      assert.equal(new Set(ids).size, ids.length, `${file}: panel ids`);
      const titles = json.panels.map((panel) => panel.title);
      assert.equal(new Set(titles).size, titles.length, `${file}: panel titles`);
      const model = json.templating.list.find((variable) => variable.name === 'model');
      assert.ok(model, `${file}: model variable`);
      assert.equal(model.type, 'query');
      assert.deepEqual(model.datasource, builder.CLICKHOUSE);
      assert.equal(model.query?.editorType, 'sql');
      assert.match(model.query?.rawSql ?? '', /inference_events[\s\S]*eval_runs/);
    }
  });

  it('write every ClickHouse target in the plugin SQL-editor model, with declared columns', () => {
    for (const { file, json } of dashboards) {
      const declared = expectedColumns[json.uid] ?? {};
      const withTargets = new Set<string>();
      for (const panel of json.panels) {
        for (const target of clickHouseTargets(panel)) {
          withTargets.add(panel.title);
          const where = `${file} / ${panel.title} / ${target.refId}`;
          assert.deepEqual(target.datasource, builder.CLICKHOUSE, where);
          assert.equal(target.editorType, 'sql', where);
          assert.ok(target.queryType === 'table' || target.queryType === 'timeseries', where);
          assert.equal(target.format, target.queryType === 'timeseries' ? 0 : 1, `${where}: format`);
          assert.equal(typeof target.rawSql, 'string', where);
          assert.match(String(target.pluginVersion), /^4\./, where);
          assert.ok(declared[panel.title]?.[target.refId]?.length, `${where}: no expected columns declared`);
        }
      }
      assert.deepEqual(
        Object.keys(declared).sort(),
        [...withTargets].sort(),
        `${file}: declared vs actual panels`,
      );
    }
  });

  it('query only Prometheus metrics the apps export, with the right kind', () => {
    const metrics = exportedMetrics();
    assert.ok(metrics.size >= 5, 'the metric scan found the apps metrics');
    let queried = 0;
    for (const { file, json } of dashboards) {
      for (const panel of json.panels) {
        for (const target of panel.targets ?? []) {
          if ((target.datasource ?? panel.datasource)?.type !== 'prometheus') continue;
          assert.deepEqual(target.datasource, builder.PROMETHEUS, `${file} / ${panel.title}`);
          for (const [name] of String(target.expr).matchAll(/tripline_[a-z0-9_]+/g)) {
            queried += 1;
            const histogram = /^(.*)_(bucket|sum|count)$/.exec(name);
            if (histogram && metrics.get(histogram[1]) === 'histogram') continue;
            assert.ok(metrics.has(name), `${file} / ${panel.title}: ${name} is not exported by any app`);
            if (String(target.expr).includes(`rate(${name}`))
              assert.equal(metrics.get(name), 'counter', `${name} is rated but is not a counter`);
          }
        }
      }
    }
    assert.ok(queried > 0, 'ingestion health reads lag and dead letters from Prometheus');
  });

  it('are provisioned with the datasources and the folder they reference', () => {
    const datasources = parseYaml(
      readFileSync(path.join(DASHBOARDS, 'provisioning', 'datasources', 'clickhouse.yaml'), 'utf8'),
    ) as {
      apiVersion: number;
      datasources: { type: string; uid: string; jsonData?: Record<string, unknown> }[];
    };
    assert.equal(datasources.apiVersion, 1);
    const byUid = new Map(datasources.datasources.map((source) => [source.uid, source]));
    for (const expected of [builder.CLICKHOUSE, builder.PROMETHEUS]) {
      assert.equal(byUid.get(expected.uid)?.type, expected.type, `datasource ${expected.uid}`);
    }
    assert.equal(byUid.get(builder.CLICKHOUSE.uid)?.jsonData?.defaultDatabase, 'tripline');
    const providers = parseYaml(
      readFileSync(path.join(DASHBOARDS, 'provisioning', 'dashboards', 'tripline.yaml'), 'utf8'),
    ) as { apiVersion: number; providers: { type: string; folder: string; options: { path: string } }[] };
    assert.equal(providers.apiVersion, 1);
    assert.equal(providers.providers.length, 1);
    assert.equal(providers.providers[0].type, 'file');
    // The provider reads the directory holding only the dashboards (Grafana loads every .json below its path).
    assert.match(providers.providers[0].options.path, /\/tripline$/);
  });
});

describe('Grafana dashboards: every panel query on the ClickHouse engine with seeded history', () => {
  const scratch = temporaryDirectory();
  let clickHouse: ClickHouse;
  let history: SeededHistory;
  const end = Date.UTC(2026, 10, 20, 12, 0, 0);

  before(async () => {
    clickHouse = new ClickHouse({
      database: 'tripline',
      dataDirectory: path.join(scratch.path, 'clickhouse'),
    });
    await migrateClickHouse(clickHouse.client, 'tripline', CLICKHOUSE_MIGRATIONS);
    history = await seedHistory(clickHouse, { end, days: 7, seed: 7 });
  });

  after(async () => {
    await clickHouse.close();
    scratch.remove();
  });

  const context = (variables: GrafanaQueryContext['variables']): GrafanaQueryContext => ({
    range: { from: history.from, to: history.to },
    intervalMs: 3_600_000,
    variables,
  });

  async function run(rawSql: string, variables: GrafanaQueryContext['variables']) {
    const query = grafanaSql(rawSql, context(variables));
    try {
      const result = await clickHouse.client.query({ query, format: 'JSON' });
      return await result.json<Record<string, unknown>>();
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- SQL sent ---\n${query}`);
    }
  }

  /** The values a variable offers, from its own query, as Grafana would list them. */
  async function options(dashboard: Dashboard, name: string): Promise<string[]> {
    const variable = dashboard.templating.list.find((candidate) => candidate.name === name)!;
    const result = await run(variable.query!.rawSql!, {});
    return result.data.map((row) => String(Object.values(row)[0]));
  }

  it('seeded every table', () => {
    for (const table of [
      'inference_events',
      'feedback',
      'eval_runs',
      'eval_samples',
      'drift_metrics',
      'alert_events',
    ])
      assert.ok(history.rows[table] > 0, table);
  });

  async function panelRows(uid: string, title: string, variables: GrafanaQueryContext['variables']) {
    const dashboard = dashboards.find(({ json }) => json.uid === uid)!.json;
    const panel = dashboard.panels.find((candidate) => candidate.title === title)!;
    const result = await run(String(clickHouseTargets(panel)[0].rawSql), variables);
    return result.data as Record<string, unknown>[];
  }

  // Shapes alone would pass a query that joins the wrong rows; these check the answers against the
  // story the seed tells (a silent backdoor swap on day 4, traffic drift on day 5).
  it('answer what the seeded history says happened', async () => {
    const all = { model: [...SEEDED_MODELS] };
    const health = await panelRows('tripline-fleet', 'Model health', all);
    const byModel = new Map(health.map((row) => [row.model_id, row]));
    assert.deepEqual([...byModel.keys()].sort(), [...SEEDED_MODELS].sort());
    const backdoored = byModel.get('sentiment-backdoored')!;
    assert.equal(backdoored.worst_trigger, 'rare-token-cf');
    assert.ok(Number(backdoored.attack_success_rate) > 0.8);
    assert.equal(Number(backdoored.open_alerts), 1);
    const router = byModel.get('support-router')!;
    assert.ok(Number(router.accuracy) < Number(router.baseline_accuracy) - 0.05, 'router accuracy fell');
    assert.ok(
      Math.abs(
        Number(router.accuracy_change) - (Number(router.accuracy) - Number(router.baseline_accuracy)),
      ) < 1e-9,
    );
    assert.equal(Number(byModel.get('sentiment-clean')!.open_alerts), 0);

    const fingerprints = await panelRows('tripline-canaries', 'Behavioural fingerprints', all);
    const swaps = fingerprints.filter((row) => Number(row.silent_swap) === 1).map((row) => row.model_id);
    assert.deepEqual(swaps, ['sentiment-backdoored'], 'only the same-version change is a silent swap');
    const changes = fingerprints
      .filter((row) => Number(row.fingerprint_changed) === 1)
      .map((row) => row.model_id);
    assert.deepEqual(changes.sort(), ['sentiment-backdoored', 'sentiment-clean']);

    const open = await panelRows('tripline-alerts', 'Open alerts', all);
    assert.deepEqual(
      open.map((row) => [row.alert_id, row.state, row.severity]),
      [
        ['alert-asr', 'acknowledged', 'critical'],
        ['alert-drift', 'firing', 'warning'],
      ],
    );
    const [counts] = await panelRows('tripline-alerts', 'Open now', all);
    assert.deepEqual([counts.firing, counts.acknowledged, counts.critical_firing].map(Number), [1, 1, 0]);

    const detectors = await panelRows('tripline-model', 'Drift detectors', { model: 'support-router' });
    const prediction = detectors.find((row) => row.metric === 'prediction_distribution')!;
    assert.ok(Number(prediction.drift_windows) >= 24, 'two days of drifted windows');
    assert.equal(prediction.verdict, 'drift');
    assert.equal(Number(detectors.find((row) => row.metric === 'input_text_length')!.drift_windows), 0);

    const features = await panelRows('tripline-model', 'Feature drift', { model: 'support-router' });
    const feature = (name: string) => features.find((row) => row.feature === name)!;
    assert.ok(Number(feature('plan').drift_windows) >= 24, 'the plan mix drifted for two days');
    assert.equal(feature('plan').feature_type, 'categorical');
    assert.equal(Number(feature('account_age_days').drift_windows), 0);
    assert.equal(feature('(dataset share)').verdict, 'ok', 'one feature in three is under the share');
    const heat = await panelRows('tripline-model', 'Feature drift heat map', { model: 'support-router' });
    assert.deepEqual([...new Set(heat.map((row) => row.feature))].sort(), [
      'account_age_days',
      'plan',
      'seats',
    ]);

    const performance = await panelRows('tripline-model', 'Estimated performance (CBPE)', {
      model: 'support-router',
    });
    const [first, last] = [performance[0], performance[performance.length - 1]];
    assert.ok(Number(first.estimated_accuracy) > 0.85, 'the estimate before the drift');
    assert.equal(Number(last.estimated_accuracy), 0.62, 'and after it');
    assert.ok(Number(last.accuracy_low) < 0.62 && Number(last.accuracy_high) > 0.62, 'inside its interval');
    assert.ok(Math.abs(Number(last.reference_accuracy) - 0.87) < 1e-6, 'the reference it is compared with');
    assert.equal(Number(last.estimated_macro_f1), 0.58);

    const tokens = await panelRows('tripline-canaries', 'Tokens pinning the output', all);
    assert.ok(tokens.length > 0);
    assert.ok(tokens.every((row) => row.model_id === 'sentiment-backdoored' && row.trigger_tokens === 'cf'));

    // The model variable reaches the SQL: another selection, other answers.
    const [clean] = await panelRows('tripline-model', 'Canary response', { model: 'sentiment-clean' });
    assert.ok(Number(clean.attack_success_rate) < 0.2);
    const [feedback] = await panelRows('tripline-model', 'Feedback accuracy', { model: 'sentiment-clean' });
    assert.ok(Number(feedback.feedback_accuracy) > 0.85 && Number(feedback.labelled) > 100);
  });

  for (const { json: dashboard } of dashboards) {
    it(`${dashboard.uid}: the model variable lists the seeded models`, async () => {
      assert.deepEqual(await options(dashboard, 'model'), [...SEEDED_MODELS].sort());
    });

    for (const panel of dashboard.panels) {
      const targets = clickHouseTargets(panel);
      if (targets.length === 0) continue;
      it(`${dashboard.uid}: ${panel.title}`, async () => {
        const model = dashboard.templating.list.find((variable) => variable.name === 'model')!;
        const choices = await options(dashboard, 'model');
        // A multi-value dashboard runs with "All"; a single-model one runs once for every model.
        const selections: GrafanaQueryContext['variables'][] = model.multi
          ? [{ model: choices }]
          : choices.map((choice) => ({ model: choice }));
        for (const target of targets) {
          const columns = expectedColumns[dashboard.uid][panel.title][target.refId];
          for (const variables of selections) {
            const where = `${panel.title} (${JSON.stringify(variables)})`;
            const result = await run(String(target.rawSql), variables);
            const meta = result.meta as { name: string; type: string }[];
            const data = result.data as Record<string, unknown>[];
            assert.deepEqual(
              meta.map((column) => column.name),
              columns,
              `${where}: columns`,
            );
            assert.ok(data.length > 0, `${where}: no rows`);
            if (target.queryType === 'timeseries') {
              assert.match(
                meta[0].type,
                /^(Nullable\()?DateTime/,
                `${where}: the first column must be the time`,
              );
              const times = data.map((row) => Date.parse(`${String(row[meta[0].name]).replace(' ', 'T')}Z`));
              assert.ok(times.every(Number.isFinite), `${where}: time values parse`);
              assert.deepEqual(
                times,
                [...times].sort((a, b) => a - b),
                `${where}: ascending time`,
              );
            }
          }
        }
      });
    }
  }
});
