import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { AlertsModule } from '@tripline/alerts';
import {
  ClickHouse,
  CLICKHOUSE_MIGRATIONS,
  ClickHouseModule,
  clickHouseTime,
  migrateClickHouse,
} from '@tripline/clickhouse';
import { ConfigModule } from '@tripline/config';
import { seededRandom } from '@tripline/drift';
import { EventSinkModule, inferenceRow, ModelStatsModule, type ModelDrift } from '@tripline/ingestion';
import { PostgresModule } from '@tripline/postgres';
import { RegistryApiModule } from '@tripline/registry';
import { OperabilityModule } from '@tripline/server';
import {
  StreamDetectionModule,
  StreamDetectorService,
  type DriftMetricRecord,
  type TimeRange,
} from '@tripline/stream-detection';
import { TransportModule } from '@tripline/transport';
import {
  createTestDatabase,
  eventually,
  freePort,
  kafkaBrokers,
  carEfficiencyClassifier,
  carEncoder,
  classifiedCars,
  loadCars,
  TabularStream,
  temporaryDirectory,
  uniqueName,
  type CovariateShift,
} from '@tripline/testing';

import { HttpReceiver } from './alerting-receivers';

const ADMIN_KEY = 'tl_feature-drift-integration-admin-0123';
const WINDOW_MS = 5 * 60_000;
const DAY_MS = 86_400_000;
/** False-discovery rate across a window's features (DRIFT_FEATURE_FDR), the per-feature false-alarm budget. */
const FDR = 0.01;
const DATASET_SHARE = 0.5;
const FEATURES = [
  'Acceleration',
  'Cylinders',
  'Displacement',
  'Horsepower',
  'Miles_per_Gallon',
  'Model_year',
  'Origin',
  'Weight_in_lbs',
];

/** Keeps the shared engine open until this file is done with it. */
class SharedClickHouse extends ClickHouse {
  override async onApplicationShutdown(): Promise<void> {}
}

const scratch = temporaryDirectory();
const clickHouse = new SharedClickHouse({
  database: 'tripline',
  dataDirectory: path.join(scratch.path, 'clickhouse'),
});

const windowAt = (start: number, index: number): TimeRange => ({
  from: start + index * WINDOW_MS,
  to: start + (index + 1) * WINDOW_MS,
});

async function write(stream: TabularStream): Promise<void> {
  const rows = stream.drain().map(inferenceRow);
  for (let i = 0; i < rows.length; i += 20_000) {
    await clickHouse.client.insert({
      table: clickHouse.table('inference_events'),
      values: rows.slice(i, i + 20_000),
      format: 'JSONEachRow',
    });
  }
}

const featureResults = (records: DriftMetricRecord[]) =>
  records.filter((record) => record.metric.startsWith('feature.'));

describe('per-feature drift of a tabular stream: ClickHouse engine, real Kafka, alerter and webhook', () => {
  const prefix = `${uniqueName('features')}.`;
  const cars = loadCars();
  const receiver = new HttpReceiver();
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let app: INestApplication;
  let detectors: StreamDetectorService;
  let baseUrl = '';
  let receiverUrl = '';

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
    receiverUrl = await receiver.start();
    Object.assign(process.env, {
      LOG_LEVEL: 'warn',
      DATABASE_URL: database.url,
      KAFKA_BROKERS: kafkaBrokers().join(','),
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_PARTITIONS: '2',
      TRIPLINE_DATA_DIR: scratch.path,
      TRIPLINE_ADMIN_KEY: ADMIN_KEY,
      TRIPLINE_ALERTER_TICK_MS: '200',
      TRIPLINE_ALERTER_DELIVERY_POLL_MS: '100',
      TRIPLINE_ALERTER_LAG_INTERVAL_MS: '0',
      DRIFT_WINDOW_SECONDS: String(WINDOW_MS / 1_000),
      DRIFT_REFERENCE_SECONDS: String(DAY_MS / 1_000),
      DRIFT_MIN_SAMPLES: '200',
      DRIFT_ALPHA: '0.0001',
      DRIFT_FEATURE_FDR: String(FDR),
      DRIFT_DATASET_SHARE: String(DATASET_SHARE),
    });
    await migrateClickHouse(clickHouse.client, clickHouse.database, CLICKHOUSE_MIGRATIONS);
    // The ingestor's modules and the alerter's, in one process as the standalone app composes them.
    const module = await Test.createTestingModule({
      imports: [
        ConfigModule,
        OperabilityModule,
        ClickHouseModule,
        PostgresModule,
        TransportModule,
        EventSinkModule,
        StreamDetectionModule,
        AlertsModule,
        ModelStatsModule,
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
    await receiver.stop();
    await database?.drop();
    await clickHouse.close();
    scratch.remove();
  });

  it('50 stationary windows: no dataset drift verdict, per-feature false alarms within the FDR', async (t) => {
    const modelId = 'cars-stationary';
    const start = Date.UTC(2026, 5, 1);
    const stream = new TabularStream(cars, modelId, seededRandom(1401));
    stream.add({ from: start - DAY_MS, to: start }, 5_000);
    for (let w = 0; w < 50; w++) stream.add(windowAt(start, w), 500);
    await write(stream);

    const records: DriftMetricRecord[] = [];
    for (let w = 0; w < 50; w++) records.push(...(await detectors.evaluateWindow(windowAt(start, w))));
    const datasets = records.filter((record) => record.metric === 'dataset_share');
    assert.equal(datasets.length, 50);
    assert.deepEqual(
      datasets.filter((record) => record.verdict !== 'ok').map((record) => record.window_start),
      [],
      'no window has a dataset-level verdict other than ok',
    );
    const features = featureResults(records);
    assert.equal(features.length, 50 * FEATURES.length, 'one result per feature per window');
    assert.deepEqual([...new Set(features.map((record) => record.labels?.feature))].sort(), FEATURES);
    const types = Object.fromEntries(
      features.slice(0, FEATURES.length).map((r) => [r.labels?.feature, r.labels?.feature_type]),
    );
    assert.equal(types.Cylinders, 'categorical', 'five distinct integers are categories');
    assert.equal(types.Origin, 'categorical');
    assert.equal(types.Weight_in_lbs, 'numeric');
    assert.equal(types.Model_year, 'numeric', 'thirteen distinct years are a quantity');
    const falseAlarms = features.filter((record) => record.verdict === 'drift');
    const missingAlarms = records.filter(
      (r) => r.metric.startsWith('feature_missing.') && r.verdict === 'drift',
    );
    t.diagnostic(
      `per-feature false alarms: ${falseAlarms.length} of ${features.length} feature tests ` +
        `(${falseAlarms.map((r) => r.metric).join(', ') || 'none'}); missing-rate false alarms: ${missingAlarms.length}; ` +
        `smallest adjusted p: ${Math.min(...features.map((r) => r.p_value ?? 1)).toPrecision(3)}`,
    );
    assert.ok(
      falseAlarms.length / features.length <= FDR,
      `${falseAlarms.length} false alarms in ${features.length} tests exceed the share ${FDR}`,
    );
    assert.ok(missingAlarms.length / features.length <= FDR);
  });

  it('a shift of two named features is flagged, exactly those two, in the first window after it; a rule on one of them notifies the webhook', async () => {
    const channel = await api<{ id: string }>('POST', '/v1/channels', {
      name: 'feature hook',
      kind: 'webhook',
      config: { url: `${receiverUrl}/feature-hook`, secret: 'feature-webhook-secret-0123456789' },
    });
    assert.equal(channel.status, 201, JSON.stringify(channel.body));
    const rule = await api<{ id: string }>('POST', '/v1/rules', {
      name: 'car weight drifts',
      metric: 'drift.feature.Weight_in_lbs',
      condition: { type: 'threshold', op: '>=', value: 0.3 },
      selector: { model_id: 'cars-shifted' },
      channel_ids: [channel.body.id],
    });
    assert.equal(rule.status, 201, JSON.stringify(rule.body));

    // Windows after the rule was made (a rule does not judge what was measured before it existed).
    const modelId = 'cars-shifted';
    const start = Math.ceil((Date.now() + DAY_MS) / WINDOW_MS) * WINDOW_MS;
    const stream = new TabularStream(cars, modelId, seededRandom(1402));
    // Heavier cars (+20% weight), and Japanese imports in place of 40% of the others' origin: both
    // drawn independently of the other columns, so nothing else moves.
    const shift: CovariateShift = (features, random) => ({
      ...features,
      Weight_in_lbs: Math.round((features.Weight_in_lbs as number) * 1.2),
      Origin: random.next() < 0.4 ? 'Japan' : features.Origin,
    });
    stream.add({ from: start - DAY_MS, to: start }, 5_000);
    stream.add(windowAt(start, 0), 500);
    stream.add(windowAt(start, 1), 500, shift);
    await write(stream);

    const before = await detectors.evaluateWindow(windowAt(start, 0));
    assert.deepEqual(
      featureResults(before)
        .filter((r) => r.verdict === 'drift')
        .map((r) => r.metric),
      [],
      'nothing is flagged before the shift',
    );
    const shifted = await detectors.evaluateWindow(windowAt(start, 1));
    const flagged = featureResults(shifted)
      .filter((record) => record.verdict === 'drift')
      .map((record) => record.labels?.feature)
      .sort();
    assert.deepEqual(flagged, ['Origin', 'Weight_in_lbs']);
    const dataset = shifted.find((record) => record.metric === 'dataset_share')!;
    assert.equal(dataset.statistic, 2 / FEATURES.length);
    assert.equal(dataset.verdict, 2 / FEATURES.length >= DATASET_SHARE ? 'drift' : 'ok', 'the share rule');
    const weight = shifted.find((record) => record.metric === 'feature.Weight_in_lbs')!;
    assert.ok(weight.effect_size! >= 0.3, `weight moved ${weight.effect_size} reference standard deviations`);

    // The read side: the same results per window and feature from drift_metrics, through the API.
    const drift = await eventually(async () => {
      const response = await api<ModelDrift>(
        'GET',
        `/v1/models/${modelId}/drift?from=${new Date(start).toISOString()}&to=${windowAt(start, 2).from}`,
      );
      assert.equal(response.status, 200, JSON.stringify(response.body));
      return response.body.windows.length === 2 && response.body.windows.every((w) => w.dataset)
        ? response.body
        : undefined;
    }, 60_000);
    const [quiet, moved] = drift.windows;
    assert.equal(quiet.window_start, new Date(start).toISOString());
    assert.deepEqual(moved.dataset!.drifted_features, ['Origin', 'Weight_in_lbs']);
    assert.deepEqual(
      moved.features.map((f) => f.feature),
      FEATURES,
    );
    const apiWeight = moved.features.find((f) => f.feature === 'Weight_in_lbs')!;
    assert.equal(apiWeight.effect_size, weight.effect_size);
    assert.equal(apiWeight.p_value, weight.p_value);
    assert.equal(apiWeight.type, 'numeric');
    assert.equal(apiWeight.missing?.verdict, 'ok');
    const refused = await api<{ message: unknown }>('GET', `/v1/models/${modelId}/drift?from=yesterday`);
    assert.equal(refused.status, 400);

    const hook = await eventually(
      async () =>
        receiver.at('/feature-hook').find((request) => request.raw.includes('drift.feature.Weight_in_lbs')),
      60_000,
      100,
    );
    const body = hook.json as {
      event: string;
      alerts: { model_id: string; value: number; summary: string }[];
    };
    assert.equal(body.alerts[0].model_id, modelId);
    assert.equal(body.alerts[0].value, weight.effect_size);
  });

  it('a covariate shift seen through input.embedding is flagged by MMD; the window before it is not', async () => {
    const modelId = 'cars-embedded';
    const start = Date.UTC(2026, 6, 1);
    const stream = new TabularStream(cars, modelId, seededRandom(1403));
    const embed = carEncoder(cars, seededRandom(1404));
    const heavier: CovariateShift = (features) => ({
      ...features,
      Weight_in_lbs: Math.round((features.Weight_in_lbs as number) * 1.2),
    });
    stream.add({ from: start - DAY_MS, to: start }, 3_000, undefined, embed);
    stream.add(windowAt(start, 0), 1_500, undefined, embed);
    stream.add(windowAt(start, 1), 1_500, heavier, embed);
    await write(stream);

    const quiet = (await detectors.evaluateWindow(windowAt(start, 0))).find(
      (r) => r.metric === 'input_embedding',
    )!;
    const moved = (await detectors.evaluateWindow(windowAt(start, 1))).find(
      (r) => r.metric === 'input_embedding',
    )!;
    assert.equal(quiet.verdict, 'ok', `p ${quiet.p_value} before the shift`);
    assert.equal(moved.verdict, 'drift', `p ${moved.p_value} after the shift`);
    assert.equal(moved.detector, 'mmd');
    assert.equal(moved.sample_size, 1_500);
    assert.equal((moved.details as { dimension: number }).dimension, 16);
    assert.ok(moved.effect_size! > quiet.effect_size!, 'the MMD grew');
  });

  it('CBPE: the accuracy of unlabelled windows is estimated within 0.03 of the truth held back from it, a covariate shift included; a rule on its drop notifies the webhook', async (t) => {
    const channel = await api<{ id: string }>('POST', '/v1/channels', {
      name: 'performance hook',
      kind: 'webhook',
      config: { url: `${receiverUrl}/performance-hook`, secret: 'performance-webhook-secret-0123456789' },
    });
    assert.equal(channel.status, 201, JSON.stringify(channel.body));
    const rule = await api<{ id: string }>('POST', '/v1/rules', {
      name: 'estimated accuracy falls five points below the reference',
      metric: 'drift.estimated_accuracy.drop',
      condition: { type: 'threshold', op: '>=', value: 0.05 },
      selector: { model_id: 'cars-cbpe' },
      channel_ids: [channel.body.id],
    });
    assert.equal(rule.status, 201, JSON.stringify(rule.body));

    const modelId = 'cars-cbpe';
    // Windows after the rule was made: a rule does not judge what was measured before it existed.
    const start = Math.ceil((Date.now() + 3 * DAY_MS) / WINDOW_MS) * WINDOW_MS;
    const classify = carEfficiencyClassifier(cars);
    const random = seededRandom(1405);
    // Reference: a day of traffic whose feedback has arrived, which CBPE calibrates on.
    const reference = classifiedCars(
      cars,
      classify,
      modelId,
      { from: start - DAY_MS, to: start },
      5_000,
      random,
      'ref',
    );
    // Window 0 like the reference; window 1 only cars of 2,200 to 3,200 lbs, near the model's
    // boundary: P(class | weight) unchanged, the mix of inputs moved. No feedback for either.
    const stationary = classifiedCars(cars, classify, modelId, windowAt(start, 0), 1_000, random, 'w0');
    const nearBoundary = cars.filter((car) => car.Weight_in_lbs >= 2_200 && car.Weight_in_lbs <= 3_200);
    const shifted = classifiedCars(nearBoundary, classify, modelId, windowAt(start, 1), 1_000, random, 'w1');
    const rows = [...reference.events, ...stationary.events, ...shifted.events].map(inferenceRow);
    await clickHouse.client.insert({
      table: clickHouse.table('inference_events'),
      values: rows,
      format: 'JSONEachRow',
    });
    await clickHouse.client.insert({
      table: clickHouse.table('feedback'),
      values: reference.events.map((event) => ({
        event_id: event.event_id,
        model_id: modelId,
        label: reference.truth.get(event.event_id)!,
        timestamp: clickHouseTime(Number(event.timestamp) + 60_000),
      })),
      format: 'JSONEachRow',
    });

    const estimates = [];
    for (const [w, truth] of [
      [0, stationary.accuracy],
      [1, shifted.accuracy],
    ] as const) {
      const records = await detectors.evaluateWindow(windowAt(start, w));
      const accuracy = records.find((r) => r.metric === 'estimated_accuracy')!;
      const macroF1 = records.find((r) => r.metric === 'estimated_macro_f1')!;
      const [low, high] = accuracy.details!.interval as [number, number];
      t.diagnostic(
        `window ${w}: true accuracy ${truth.toFixed(4)}, CBPE ${accuracy.statistic!.toFixed(4)} [${low.toFixed(4)}, ${high.toFixed(4)}], ` +
          `reference ${reference.accuracy.toFixed(4)}, macro-F1 estimate ${macroF1.statistic!.toFixed(4)}, verdict ${accuracy.verdict}`,
      );
      assert.equal(accuracy.detector, 'cbpe');
      assert.ok(
        Math.abs(accuracy.statistic! - truth) <= 0.03,
        `window ${w}: estimate ${accuracy.statistic} vs truth ${truth}`,
      );
      assert.ok(low <= truth && truth <= high, `window ${w}: interval [${low}, ${high}] misses ${truth}`);
      assert.equal(accuracy.details!.validity, 'valid');
      assert.equal(
        macroF1.verdict === 'insufficient-data',
        false,
        'the events carry scores for both classes',
      );
      estimates.push(accuracy);
    }
    assert.ok(shifted.accuracy < reference.accuracy - 0.05, 'the shift costs the model accuracy');
    assert.equal(estimates[0].verdict, 'ok');
    assert.equal(estimates[1].verdict, 'drift');

    // The read side: the estimate per window through the API, from drift_metrics.
    const drift = await eventually(async () => {
      const response = await api<ModelDrift>(
        'GET',
        `/v1/models/${modelId}/drift?from=${start}&to=${windowAt(start, 2).from}`,
      );
      assert.equal(response.status, 200, JSON.stringify(response.body));
      return response.body.windows.length === 2 && response.body.windows.every((w) => w.performance?.accuracy)
        ? response.body
        : undefined;
    }, 60_000);
    const moved = drift.windows[1].performance!;
    assert.equal(moved.accuracy!.estimate, estimates[1].statistic);
    assert.equal(moved.accuracy!.verdict, 'drift');
    assert.equal(moved.accuracy!.validity, 'valid');
    assert.deepEqual(moved.accuracy!.interval, estimates[1].details!.interval);
    // The sliding reference of window 1 is the day before it: the labelled day, less its first window.
    assert.ok(
      Math.abs(moved.accuracy!.reference! - (estimates[1].details!.reference_value as number)) < 1e-6,
      'compared with the realised accuracy of the reference feedback',
    );
    assert.ok(Math.abs(moved.accuracy!.reference! - reference.accuracy) < 0.01);
    assert.ok(moved.macro_f1!.estimate! > 0);

    const hook = await eventually(
      async () =>
        receiver
          .at('/performance-hook')
          .find((request) => request.raw.includes('drift.estimated_accuracy.drop')),
      60_000,
      100,
    );
    const body = hook.json as { alerts: { model_id: string; value: number }[] };
    assert.equal(body.alerts[0].model_id, modelId);
    assert.ok(Math.abs(body.alerts[0].value + estimates[1].effect_size!) < 1e-12, 'the drop is the value');
  });

  it('CBPE under a controlled label shift of the cars stream: the estimate misses outside its interval; the prediction mix, the feedback accuracy and the feedback check see it', async (t) => {
    const modelId = 'cars-label-shift';
    const start = Date.UTC(2026, 9, 1);
    const classify = carEfficiencyClassifier(cars);
    const random = seededRandom(1407);
    const reference = classifiedCars(
      cars,
      classify,
      modelId,
      { from: start - DAY_MS, to: start },
      5_000,
      random,
      'ref',
    );
    // Label shift: from 42% efficient cars to 5%, each class's cars drawn as before (P(features | class) kept).
    const efficient = cars.filter((car) => (car.Miles_per_Gallon ?? 0) >= 25);
    const thirsty = cars.filter((car) => car.Miles_per_Gallon !== null && car.Miles_per_Gallon < 25);
    const a = classifiedCars(efficient, classify, modelId, windowAt(start, 0), 100, random, 'eff');
    const b = classifiedCars(thirsty, classify, modelId, windowAt(start, 0), 1_900, random, 'thr');
    const truth = (a.accuracy * 100 + b.accuracy * 1_900) / 2_000;
    const events = [...reference.events, ...a.events, ...b.events];
    await clickHouse.client.insert({
      table: clickHouse.table('inference_events'),
      values: events.map(inferenceRow),
      format: 'JSONEachRow',
    });
    // Feedback: all of the reference, and half the events of the shifted window.
    const labels = new Map([...reference.truth, ...a.truth, ...b.truth]);
    const windowEvents = [...a.events, ...b.events];
    const labelled = [...reference.events, ...windowEvents.filter(() => random.next() < 0.5)];
    await clickHouse.client.insert({
      table: clickHouse.table('feedback'),
      values: labelled.map((event) => ({
        event_id: event.event_id,
        model_id: modelId,
        label: labels.get(event.event_id)!,
        timestamp: clickHouseTime(Number(event.timestamp) + 60_000),
      })),
      format: 'JSONEachRow',
    });
    const records = await detectors.evaluateWindow(windowAt(start, 0));
    const estimate = records.find((r) => r.metric === 'estimated_accuracy')!;
    const details = estimate.details!;
    const [low, high] = details.interval as [number, number];
    t.diagnostic(
      `label shift to 5% efficient: reference accuracy ${reference.accuracy.toFixed(4)}, true accuracy ${truth.toFixed(4)}, ` +
        `CBPE ${estimate.statistic!.toFixed(4)} [${low.toFixed(4)}, ${high.toFixed(4)}], validity ${String(details.validity)}; ` +
        `feedback on ${String(details.feedback_events)} events: ${String(details.feedback_accuracy)} vs expected ${String(details.feedback_expected_accuracy)}`,
    );
    // P(class | score) moved with the class mix, and nothing in the scores shows it: the estimate
    // is too high by 0.03 (this model recognises its two classes about equally well; the unit test
    // has one where the miss is 0.15), and its interval, which only knows sampling and calibration
    // error, does not cover the truth.
    assert.ok(estimate.statistic! - truth > 0.02, `estimate ${estimate.statistic} vs truth ${truth}`);
    assert.ok(truth < low, 'the interval misses the truth');
    // Half the window labelled is enough feedback for the check to contradict the estimate.
    assert.equal(details.validity, 'contradicted-by-feedback');
    // What does see it: the mix of predicted labels, and the accuracy on the feedback.
    const mix = records.find((r) => r.metric === 'prediction_distribution')!;
    assert.equal(mix.verdict, 'drift', 'the predicted label mix moved');
    const labelledAccuracy = records.find((r) => r.metric === 'accuracy')!;
    assert.ok(
      Math.abs(labelledAccuracy.statistic! - truth) < 0.05,
      'the feedback accuracy is the one to trust',
    );
  });

  it('feature_types on the model: refused with a reason when invalid, applied by the stream detectors, removed with null', async () => {
    const refused = await api<{ message: string[] }>('POST', '/v1/models', {
      id: 'cars-typed',
      task: 'text-classification',
      labels: ['efficient', 'thirsty'],
      feature_types: { Model_year: 'text' },
    });
    assert.equal(refused.status, 400);
    assert.match(
      refused.body.message.join('\n'),
      /feature_types\.Model_year: expected "numeric" or "categorical" \(got "text"\)/,
    );
    const created = await api<{ feature_types: Record<string, string> }>('POST', '/v1/models', {
      id: 'cars-typed',
      task: 'text-classification',
      labels: ['efficient', 'thirsty'],
      feature_types: { Model_year: 'categorical', Cylinders: 'numeric' },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.deepEqual(created.body.feature_types, { Model_year: 'categorical', Cylinders: 'numeric' });

    const settings = async () =>
      (
        await (
          await clickHouse.client.query({
            query: `SELECT feature_types FROM tripline.model_settings FINAL WHERE model_id = 'cars-typed'`,
            format: 'JSONEachRow',
          })
        ).json<{ feature_types: Record<string, string> }>()
      )[0]?.feature_types;
    await eventually(
      async () => ((await settings())?.Model_year === 'categorical' ? true : undefined),
      60_000,
    );

    const start = Date.UTC(2026, 8, 1);
    const stream = new TabularStream(cars, 'cars-typed', seededRandom(1406));
    stream.add({ from: start - DAY_MS, to: start }, 2_000);
    stream.add(windowAt(start, 0), 500);
    stream.add(windowAt(start, 1), 500);
    await write(stream);
    const typeOf = (records: DriftMetricRecord[], feature: string) => {
      const record = records.find((r) => r.metric === `feature.${feature}`)!;
      return [record.labels?.feature_type, record.details!.type_source];
    };
    const typed = await detectors.evaluateWindow(windowAt(start, 0));
    assert.deepEqual(typeOf(typed, 'Model_year'), ['categorical', 'feature_types']);
    assert.deepEqual(typeOf(typed, 'Cylinders'), ['numeric', 'feature_types']);
    assert.deepEqual(typeOf(typed, 'Weight_in_lbs'), ['numeric', 'inferred']);

    const cleared = await api<{ feature_types: Record<string, string> }>('PATCH', '/v1/models/cars-typed', {
      feature_types: null,
    });
    assert.equal(cleared.status, 200, JSON.stringify(cleared.body));
    assert.deepEqual(cleared.body.feature_types, {});
    await eventually(async () => ((await settings())?.Model_year === undefined ? true : undefined), 60_000);
    const inferred = await detectors.evaluateWindow(windowAt(start, 1));
    assert.deepEqual(typeOf(inferred, 'Model_year'), ['numeric', 'inferred']);
    assert.deepEqual(typeOf(inferred, 'Cylinders'), ['categorical', 'inferred']);
  });

  it('the sink stores one drift_metrics row per feature per window', async () => {
    const rows = await eventually(async () => {
      const result = await clickHouse.client.query({
        query: `SELECT labels['feature'] AS feature, count() AS windows FROM tripline.drift_metrics FINAL
                WHERE model_id = 'cars-stationary' AND metric LIKE 'feature.%'
                GROUP BY feature ORDER BY feature`,
        format: 'JSONEachRow',
      });
      const found = await result.json<{ feature: string; windows: string }>();
      return found.length === FEATURES.length && found.every((row) => Number(row.windows) === 50)
        ? found
        : undefined;
    }, 60_000);
    assert.deepEqual(
      rows.map((row) => row.feature),
      FEATURES,
    );
  });
});
