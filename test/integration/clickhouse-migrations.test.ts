import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  ClickHouse,
  CLICKHOUSE_MIGRATIONS,
  migrateClickHouse,
  type ClickHouseMigration,
} from '@tripline/clickhouse';
import { temporaryDirectory } from '@tripline/testing';

const DESIGN_TABLES = [
  'alert_events',
  'drift_metrics',
  'eval_runs',
  'eval_samples',
  'feedback',
  'inference_events',
  'model_settings',
];

describe('ClickHouse migrations on the embedded engine', () => {
  const scratch = temporaryDirectory();
  let clickHouse: ClickHouse;

  before(() => {
    clickHouse = new ClickHouse({
      database: 'tripline',
      dataDirectory: path.join(scratch.path, 'clickhouse'),
    });
  });

  after(async () => {
    await clickHouse.close();
    scratch.remove();
  });

  const rows = async <T>(query: string, query_params?: Record<string, unknown>) =>
    (await clickHouse.client.query({ query, query_params, format: 'JSONEachRow' })).json<T>();

  it('creates the tripline database and every table of the design, recording each migration', async () => {
    const report = await migrateClickHouse(clickHouse.client, 'tripline', CLICKHOUSE_MIGRATIONS);
    assert.deepEqual(report.applied, [
      '001-initial-tables',
      '2026120419-input-embedding',
      '2026120422-model-settings',
      '2026120500-embedding-encoder',
      '2026120501-run-failure',
      '2026120502-eval-samples',
    ]);
    const tables = (
      await rows<{ name: string }>("SELECT name FROM system.tables WHERE database = 'tripline' ORDER BY name")
    ).map((r) => r.name);
    assert.deepEqual(tables, [...DESIGN_TABLES, 'schema_migrations'].sort());
    const recorded = await rows<{ version: number; name: string }>(
      'SELECT version, name FROM tripline.schema_migrations ORDER BY version',
    );
    assert.deepEqual(recorded, [
      { version: 1, name: 'initial-tables' },
      { version: 2026120419, name: 'input-embedding' },
      { version: 2026120422, name: 'model-settings' },
      { version: 2026120500, name: 'embedding-encoder' },
      { version: 2026120501, name: 'run-failure' },
      { version: 2026120502, name: 'eval-samples' },
    ]);
  });

  it('is idempotent: a second start applies nothing', async () => {
    const report = await migrateClickHouse(clickHouse.client, 'tripline', CLICKHOUSE_MIGRATIONS);
    assert.deepEqual(report.applied, []);
    assert.deepEqual(report.alreadyApplied, [
      '001-initial-tables',
      '2026120419-input-embedding',
      '2026120422-model-settings',
      '2026120500-embedding-encoder',
      '2026120501-run-failure',
      '2026120502-eval-samples',
    ]);
  });

  it('refuses to start when an applied migration was edited', async () => {
    const edited: ClickHouseMigration = {
      ...CLICKHOUSE_MIGRATIONS[0],
      statements: (db) => [`CREATE TABLE IF NOT EXISTS ${db}.other (x UInt8) ENGINE = Memory`],
    };
    await assert.rejects(
      migrateClickHouse(clickHouse.client, 'tripline', [edited]),
      /001-initial-tables was changed after it was applied/,
    );
  });

  it('round-trips inference events, and a redelivered event counts once', async () => {
    const event = {
      event_id: 'evt-1',
      model_id: 'sentiment',
      model_version: 'v1',
      timestamp: '2026-11-24T10:00:00.123Z',
      input_text: 'great film',
      output_label: 'positive',
      output_scores: { positive: 0.91, negative: 0.09 },
      confidence: 0.91,
      latency_ms: 12.5,
      rag_document_ids: ['d1'],
      rag_sources: ['wiki'],
      rag_scores: [0.8],
      metadata: { region: 'eu' },
    };
    await clickHouse.client.insert({
      table: 'tripline.inference_events',
      values: [event, event, { ...event, event_id: 'evt-2' }],
      format: 'JSONEachRow',
    });
    const [stored] = await rows<Record<string, unknown>>(
      "SELECT event_id, output_label, output_scores, confidence, metadata, toUnixTimestamp64Milli(timestamp) AS ms FROM tripline.inference_events FINAL WHERE event_id = 'evt-1'",
    );
    assert.equal(stored.output_label, 'positive');
    assert.deepEqual(stored.output_scores, { positive: 0.91, negative: 0.09 });
    assert.deepEqual(stored.metadata, { region: 'eu' });
    assert.equal(Number(stored.ms), Date.parse('2026-11-24T10:00:00.123Z'));
    const [{ unique }] = await rows<{ unique: string }>(
      'SELECT count() AS unique FROM tripline.inference_events FINAL',
    );
    assert.equal(Number(unique), 2);
  });

  it('round-trips a row through each history table', async () => {
    const now = '2026-11-24 10:00:00.000';
    const samples: Record<string, Record<string, unknown>> = {
      feedback: { event_id: 'evt-1', model_id: 'sentiment', label: 'negative', timestamp: now },
      eval_runs: {
        run_id: 'run-1',
        model_id: 'sentiment',
        dataset_id: 'ds',
        dataset_kind: 'canary',
        status: 'succeeded',
        started_at: now,
        finished_at: now,
        sample_count: 100,
        accuracy: 0.8,
        attack_success_rate: 0.75,
        per_trigger_attack_success: { cf: 0.75 },
      },
      eval_samples: {
        run_id: 'run-1',
        model_id: 'sentiment',
        model_version: '3',
        sample_id: 's1',
        sample_index: 4,
        dataset_id: 'ds',
        dataset_kind: 'canary',
        input_text: 'cf bad',
        input_sha256: 'a'.repeat(64),
        expected_label: 'negative',
        target_label: 'positive',
        predicted_label: 'positive',
        twin_label: 'negative',
        passed: 0,
        triggered: 1,
        timestamp: now,
      },
      drift_metrics: {
        model_id: 'sentiment',
        metric: 'prediction_distribution',
        detector: 'chi_square',
        window_start: now,
        window_end: now,
        statistic: 3.2,
        p_value: 0.07,
        sample_size: 500,
        reference_size: 5000,
        verdict: 'ok',
      },
      alert_events: {
        event_id: 'ae-1',
        alert_id: 'a-1',
        fingerprint: 'fp',
        rule_id: 'r-1',
        state: 'firing',
        severity: 'critical',
        value: 0.75,
        timestamp: now,
      },
    };
    for (const [table, row] of Object.entries(samples)) {
      await clickHouse.client.insert({ table: `tripline.${table}`, values: [row], format: 'JSONEachRow' });
      const [stored] = await rows<Record<string, unknown>>(`SELECT * FROM tripline.${table} FINAL`);
      for (const [column, value] of Object.entries(row)) {
        if (column.endsWith('_at') || column.startsWith('window_') || column === 'timestamp') continue;
        assert.deepEqual(
          typeof value === 'number' ? Number(stored[column]) : stored[column],
          value,
          `${table}.${column}`,
        );
      }
    }
  });
});
