import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ClickHouse, CLICKHOUSE_MIGRATIONS, ClickHouseModule, migrateClickHouse } from '@tripline/clickhouse';
import { ConfigModule, ENVIRONMENT, type Environment } from '@tripline/config';
import type { InferenceEvent } from '@tripline/contracts';
import { seededRandom } from '@tripline/drift';
import { ManifestHashing } from '@tripline/evaluation-runner';
import { EventSinkModule, inferenceRow } from '@tripline/ingestion';
import { PostgresModule } from '@tripline/postgres';
import { ModelRegistry, RegistryApiModule } from '@tripline/registry';
import { OperabilityModule } from '@tripline/server';
import {
  StreamDetectionModule,
  StreamDetectorService,
  WindowSource,
  type DriftMetricRecord,
  type TimeRange,
} from '@tripline/stream-detection';
import { TransportModule } from '@tripline/transport';
import {
  copyZooModel,
  createTestDatabase,
  eventually,
  freePort,
  kafkaBrokers,
  temporaryDirectory,
  uniqueName,
  zooDirectory,
} from '@tripline/testing';

const ADMIN_KEY = 'tl_embedding-encoder-integration-admin-01';
const WINDOW_MS = 5 * 60_000;
const DAY_MS = 86_400_000;
const ENCODER = 'dev-clean-a';

/** The zoo's clean set (UCI sentiment sentences of amazon, imdb and yelp reviews), in a seeded random order. */
function cleanSet(): { text: string; label: string; source: string }[] {
  const rows = readFileSync(path.join(zooDirectory(), 'clean-test.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as { text: string; label: string; source: string });
  const random = seededRandom(1411);
  return rows
    .map((row) => ({ row, key: random.next() }))
    .sort((a, b) => a.key - b.key)
    .map(({ row }) => row);
}

describe('embedding drift through a local encoder: zoo model, ClickHouse engine, real Kafka', () => {
  const prefix = `${uniqueName('encoder')}.`;
  const scratch = temporaryDirectory();
  const modelsDirectory = path.join(scratch.path, 'models');
  const clickHouse = new ClickHouse({
    database: 'tripline',
    dataDirectory: path.join(scratch.path, 'clickhouse'),
  });
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let app: INestApplication;
  let detectors: StreamDetectorService;
  let baseUrl = '';

  const api = async <T>(method: string, route: string, body?: unknown) => {
    const response = await fetch(`${baseUrl}${route}`, {
      method,
      headers: {
        authorization: `Bearer ${ADMIN_KEY}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
  };

  before(async () => {
    database = await createTestDatabase();
    mkdirSync(modelsDirectory, { recursive: true });
    // A copy inside the models directory: the shared zoo is never written, nor committed.
    copyZooModel(ENCODER, modelsDirectory);
    Object.assign(process.env, {
      LOG_LEVEL: 'warn',
      DATABASE_URL: database.url,
      KAFKA_BROKERS: kafkaBrokers().join(','),
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_PARTITIONS: '2',
      TRIPLINE_DATA_DIR: scratch.path,
      TRIPLINE_MODELS_DIR: modelsDirectory,
      TRIPLINE_ADMIN_KEY: ADMIN_KEY,
      TRIPLINE_EMBEDDED_CLICKHOUSE: 'true',
      DRIFT_WINDOW_SECONDS: String(WINDOW_MS / 1_000),
      DRIFT_REFERENCE_SECONDS: String(DAY_MS / 1_000),
      // 600 texts in the clean set: windows of 150.
      DRIFT_MIN_SAMPLES: '100',
      DRIFT_ENCODER_SAMPLE: '300',
      DRIFT_ALPHA: '0.001',
    });
    await migrateClickHouse(clickHouse.client, clickHouse.database, CLICKHOUSE_MIGRATIONS);
    const module = await Test.createTestingModule({
      imports: [
        ConfigModule,
        OperabilityModule,
        ClickHouseModule,
        PostgresModule,
        TransportModule,
        EventSinkModule,
        StreamDetectionModule,
        RegistryApiModule,
      ],
    })
      .overrideProvider(ClickHouse)
      .useValue(clickHouse)
      .compile();
    app = module.createNestApplication({ logger: ['error'] });
    const port = await freePort();
    await app.listen(port, '127.0.0.1');
    baseUrl = `http://127.0.0.1:${port}`;
    detectors = app.get(StreamDetectorService);
  });

  after(async () => {
    await app?.close();
    await database?.drop();
    scratch.remove();
  });

  it('embeds each window’s texts with the named zoo encoder once its manifest is ready: a stationary window is quiet, a window of mostly negative reviews is flagged by MMD', async () => {
    const modelId = 'reviews';
    const created = await api('POST', '/v1/models', {
      id: modelId,
      task: 'text-classification',
      labels: ['negative', 'positive'],
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const version = await api<{ manifest_state: string }>('POST', `/v1/models/${modelId}/versions`, {
      version: '1',
      adapter: { kind: 'onnx', path: ENCODER },
    });
    assert.equal(version.status, 201, JSON.stringify(version.body));
    assert.equal(version.body.manifest_state, 'pending');

    // Refused with the reason: a version that is not registered.
    const unknown = await api<{ message: string }>('PATCH', `/v1/models/${modelId}`, {
      embedding_encoder: { model_id: modelId, version: '9' },
    });
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.message, /embedding_encoder: model "reviews" version "9" is not registered/);

    const named = await api<{ embedding_encoder: unknown }>('PATCH', `/v1/models/${modelId}`, {
      embedding_encoder: { model_id: modelId, version: '1' },
    });
    assert.equal(named.status, 200, JSON.stringify(named.body));
    assert.deepEqual(named.body.embedding_encoder, { model_id: modelId, version: '1' });

    // The setting reaches the ingestor over models.v1, through the sink into model_settings.
    const source = app.get(WindowSource);
    const pending = await eventually(async () => (await source.embeddingEncoder(modelId)) ?? undefined);
    assert.equal(pending.manifest_state, 'pending');
    assert.equal(pending.path, ENCODER);

    // Reference and stationary window: 150 reviews each, drawn alike from the whole clean set. The
    // shifted window: 90% negative reviews (the reference has about half), a change of what users
    // write about that a sentiment model's hidden states see. (A change of domain alone, amazon
    // against imdb sentences, moves these encoders' embeddings too little for 100-row windows.)
    const rows = cleanSet();
    const size = 150;
    const referenceTexts = rows.slice(0, size).map((row) => row.text);
    const stationaryTexts = rows.slice(size, 2 * size).map((row) => row.text);
    const rest = rows.slice(2 * size);
    const negative = rest.filter((row) => row.label === 'negative').map((row) => row.text);
    const positive = rest.filter((row) => row.label === 'positive').map((row) => row.text);
    const shiftedTexts = [...negative.slice(0, 135), ...positive.slice(0, 15)];
    assert.equal(shiftedTexts.length, size);
    const start = Date.UTC(2026, 7, 1);
    const reference: TimeRange = { from: start - DAY_MS, to: start };
    const windows: TimeRange[] = [0, 1].map((i) => ({
      from: start + i * WINDOW_MS,
      to: start + (i + 1) * WINDOW_MS,
    }));
    const events: InferenceEvent[] = [];
    const add = (range: TimeRange, batch: string[], tag: string) =>
      batch.forEach((text, i) =>
        events.push({
          event_id: `${modelId}-${tag}-${i}`,
          model_id: modelId,
          timestamp: range.from + Math.floor(((i + 0.5) / batch.length) * (range.to - range.from)),
          input: { text },
          output: { label: 'positive', scores: { negative: 0.4, positive: 0.6 } },
        }),
      );
    add(reference, referenceTexts, 'reference');
    add(windows[0], stationaryTexts, 'stationary');
    add(windows[1], shiftedTexts, 'shifted');
    await clickHouse.client.insert({
      table: clickHouse.table('inference_events'),
      values: events.map(inferenceRow),
      format: 'JSONEachRow',
    });
    const embeddingResult = async (window: TimeRange) =>
      (await detectors.evaluateModel(modelId, window, reference)).find(
        (record) => record.metric === 'input_embedding',
      )!;

    // Not used while the manifest is pending: nothing unverified is loaded, and the result says why.
    const refused = await embeddingResult(windows[0]);
    assert.equal(refused.verdict, 'insufficient-data');
    assert.match(String(refused.details?.reason), /manifest is still being computed/);

    // The evaluator hashes the folder; the registry publishes the settings again with the manifest.
    const hashing = new ManifestHashing(app.get(ModelRegistry), app.get<Environment>(ENVIRONMENT));
    assert.equal(await hashing.drain(), 1);
    const ready = await eventually(async () => {
      const setting = await source.embeddingEncoder(modelId);
      return setting?.manifest_state === 'ready' ? setting : undefined;
    });
    assert.ok(ready.manifest!.files.some((file) => file.path === 'onnx/model.onnx'));

    const stationary: DriftMetricRecord = await embeddingResult(windows[0]);
    const shifted: DriftMetricRecord = await embeddingResult(windows[1]);
    for (const result of [stationary, shifted]) {
      assert.equal(result.detector, 'mmd');
      assert.equal(result.details?.embedded_by, 'encoder');
      assert.equal(result.details?.encoder, `${modelId}@1`);
      assert.equal(result.details?.dimension, 128, 'the mean-pooled last_hidden_state of the zoo BERT');
      assert.equal(result.reference_size, size);
    }
    assert.equal(stationary.verdict, 'ok', `stationary window: p ${stationary.p_value}`);
    assert.equal(shifted.verdict, 'drift', `90% negative reviews: p ${shifted.p_value}`);
    assert.ok(shifted.effect_size! > stationary.effect_size!, 'the MMD grew with the shift');
    assert.equal(shifted.sample_size, size);
  });

  it('removing the encoder stops the embedding test for the model', async () => {
    const modelId = 'reviews';
    const removed = await api<{ embedding_encoder: unknown }>('PATCH', `/v1/models/${modelId}`, {
      embedding_encoder: null,
    });
    assert.equal(removed.status, 200);
    assert.equal(removed.body.embedding_encoder, null);
    const source = app.get(WindowSource);
    await eventually(async () => ((await source.embeddingEncoder(modelId)) === undefined ? true : undefined));
    const start = Date.UTC(2026, 7, 1);
    const records = await detectors.evaluateModel(
      modelId,
      { from: start + WINDOW_MS, to: start + 2 * WINDOW_MS },
      { from: start - DAY_MS, to: start },
    );
    assert.equal(
      records.find((record) => record.metric === 'input_embedding'),
      undefined,
    );
  });
});
