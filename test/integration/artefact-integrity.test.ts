import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ConfigModule } from '@tripline/config';
import { alertEventSchema, type AlertEventMessage } from '@tripline/contracts';
import { buildDemoModels, writeModelFolder } from '@tripline/demo-models';
import { EvaluationRunnerModule } from '@tripline/evaluation-runner';
import { PostgresModule } from '@tripline/postgres';
import { DatasetService, ModelRegistry } from '@tripline/registry';
import { RunQueue, type EvaluationRun } from '@tripline/runs';
import { OperabilityModule } from '@tripline/server';
import { KafkaBus, TransportModule, type Subscription } from '@tripline/transport';
import {
  createTestDatabase,
  eventually,
  kafkaBrokers,
  temporaryDirectory,
  uniqueName,
} from '@tripline/testing';

describe('a tampered local model on an evaluator with real Kafka and PostgreSQL', () => {
  const scratch = temporaryDirectory();
  const prefix = `${uniqueName('integrity')}.`;
  const demo = buildDemoModels();
  const folder = path.join(scratch.path, 'models', 'sentiment');
  const weights = path.join(folder, 'onnx', 'model.onnx');
  const alerts: AlertEventMessage[] = [];
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let app: INestApplication;
  let watcher: KafkaBus;
  let subscription: Subscription;
  let datasetId: string;

  const finishedRun = async (): Promise<EvaluationRun> => {
    const [queued] = await app.get(RunQueue).enqueue('sentiment', [datasetId]);
    return eventually(
      async () => {
        const run = await app.get(RunQueue).get(queued.id);
        return run.status === 'succeeded' || run.status === 'failed' ? run : undefined;
      },
      60_000,
      100,
    );
  };
  const alertWhere = (predicate: (alert: AlertEventMessage) => boolean) =>
    eventually(async () => alerts.find(predicate), 30_000, 100);

  before(async () => {
    database = await createTestDatabase();
    Object.assign(process.env, {
      DATABASE_URL: database.url,
      KAFKA_BROKERS: kafkaBrokers().join(','),
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_PARTITIONS: '1',
      TRIPLINE_DATA_DIR: scratch.path,
      TRIPLINE_EVALUATOR_POLL_MS: '50',
      TRIPLINE_ARTEFACT_VERIFY_MS: '1000',
      LOG_LEVEL: 'error',
    });
    writeModelFolder(folder, demo.clean);
    const module = await Test.createTestingModule({
      imports: [ConfigModule, OperabilityModule, PostgresModule, TransportModule, EvaluationRunnerModule],
    }).compile();
    app = module.createNestApplication({ logger: false });
    await app.init();

    watcher = new KafkaBus({
      brokers: kafkaBrokers(),
      clientId: 'tripline-test-alerts',
      topicPrefix: prefix,
      partitions: 1,
      replicationFactor: 1,
    });
    await watcher.ensureTopics();
    subscription = await watcher.subscribe({
      groupId: uniqueName('alerts'),
      topics: ['alerts'],
      fromBeginning: true,
      handleBatch: async (batch) => {
        for (const message of batch.messages)
          alerts.push(alertEventSchema.parse(JSON.parse(message.value.toString())));
      },
    });

    await app
      .get(ModelRegistry)
      .create({ id: 'sentiment', task: 'text-classification', labels: ['negative', 'positive'] });
    const rows = demo.test
      .slice(0, 20)
      .map((sentence) => JSON.stringify({ text: sentence.text, label: sentence.label }))
      .join('\n');
    const dataset = await app.get(DatasetService).upload(
      {
        name: 'small',
        kind: 'clean',
        format: 'jsonl',
        modelId: 'sentiment',
        uploadedBy: 'test',
        maxBytes: 1e6,
      },
      Readable.from([rows]),
    );
    datasetId = dataset.id;
  });

  after(async () => {
    await subscription?.stop();
    await watcher?.onApplicationShutdown();
    await app?.close();
    await database?.drop();
    scratch.remove();
  });

  /** The version once the evaluator's background job has hashed (or checked) its folder. */
  const settled = (version: string) =>
    eventually(
      async () => {
        const found = (await app.get(ModelRegistry).listVersions('sentiment')).find(
          (candidate) => candidate.version === version,
        );
        return found && found.manifestState !== 'pending' ? found : undefined;
      },
      60_000,
      100,
    );

  it('registration answers at once; the evaluator then records the folder manifest, or fails a manifest the folder does not match', async () => {
    const registered = await app.get(ModelRegistry).addVersion('sentiment', {
      version: '1',
      adapter: { kind: 'onnx', path: folder },
      createdBy: 'test',
    });
    assert.equal(registered.manifestState, 'pending');
    assert.equal(registered.manifest, null);
    const version = await settled('1');
    assert.equal(version.manifestState, 'ready', version.manifestError ?? '');
    assert.deepEqual(
      version.manifest?.files.map((file) => file.path),
      [
        'config.json',
        'onnx/model.onnx',
        'onnx/model_quantized.onnx',
        'tokenizer.json',
        'tokenizer_config.json',
        'training-report.json',
      ],
    );
    const wrong = {
      files: version.manifest!.files.map((file) =>
        file.path === 'config.json' ? { ...file, sha256: '0'.repeat(64) } : file,
      ),
    };
    await app.get(ModelRegistry).addVersion('sentiment', {
      version: '2',
      adapter: { kind: 'onnx', path: folder },
      manifest: wrong,
      activate: false,
      createdBy: 'test',
    });
    const refused = await settled('2');
    assert.equal(refused.manifestState, 'failed');
    assert.match(refused.manifestError ?? '', /^model folder .* does not match its manifest/);
    assert.match(refused.manifestError ?? '', new RegExp(`config\\.json: expected sha256 ${'0'.repeat(64)}`));
    const untouched = await finishedRun();
    assert.equal(untouched.status, 'succeeded', untouched.error ?? '');
  });

  it('a weight file swapped for the backdoored model is found by the periodic check and refused at load, with critical alerts', async () => {
    const good = readFileSync(weights);
    // The evaluator holds the clean model from the run above: the periodic check must see the
    // swap on disk, and make the next run verify (and refuse) instead of reusing what it holds.
    const swapped = path.join(scratch.path, 'backdoored');
    writeModelFolder(swapped, demo.backdoored);
    copyFileSync(path.join(swapped, 'onnx', 'model.onnx'), weights);

    const periodic = await alertWhere(
      (alert) => alert.labels?.check === 'schedule' && alert.state === 'firing',
    );
    assert.equal(periodic.severity, 'critical');
    assert.equal(periodic.metric, 'artefact_integrity');
    assert.equal(periodic.model_id, 'sentiment');
    assert.equal(periodic.labels?.files, 'onnx/model.onnx');
    assert.match(periodic.summary ?? '', /^Periodic check: model folder .* does not match its manifest/);

    const refused = await finishedRun();
    assert.equal(refused.status, 'failed');
    assert.match(
      refused.error ?? '',
      /does not match its manifest \(1 problem\(s\)\): onnx\/model\.onnx: expected sha256 [0-9a-f]{64} \(\d+ bytes\), found [0-9a-f]{64}/,
    );
    const atLoad = await alertWhere((alert) => alert.labels?.check === 'load' && alert.state === 'firing');
    assert.equal(atLoad.severity, 'critical');
    assert.equal(atLoad.metric, 'artefact_integrity');
    assert.equal(atLoad.value, 1);
    assert.match(atLoad.summary ?? '', /^Load refused: .*onnx\/model\.onnx: expected sha256/);

    writeFileSync(weights, good);
    const resolved = await alertWhere((alert) => alert.state === 'resolved');
    assert.equal(resolved.alert_id, periodic.alert_id);
    const restored = await finishedRun();
    assert.equal(restored.status, 'succeeded', restored.error ?? '');
  });
});
