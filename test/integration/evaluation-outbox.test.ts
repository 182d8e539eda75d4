import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { DataSource } from 'typeorm';
import { ClickHouse } from '@tripline/clickhouse';
import { ConfigModule } from '@tripline/config';
import { buildDemoModels, writeModelFolder } from '@tripline/demo-models';
import { EvaluationRunnerModule, EvaluationWorker } from '@tripline/evaluation-runner';
import { OutboxPublisher } from '@tripline/outbox';
import { PostgresModule } from '@tripline/postgres';
import { DatasetService, ModelRegistry } from '@tripline/registry';
import { RunQueue, type EvaluationRun } from '@tripline/runs';
import { OperabilityModule } from '@tripline/server';
import { TransportModule } from '@tripline/transport';
import {
  createTestDatabase,
  eventually,
  startIngestorInProcess,
  temporaryDirectory,
  uniqueName,
} from '@tripline/testing';
import { startDedicatedKafka, type DedicatedKafka } from '../support/dedicated-services';

const MODEL = 'outboxed';

/**
 * The evaluator records a run's outcome first and publishes it through the outbox: these
 * scenarios break each step on real services (a PostgreSQL trigger refusing a write, a broker of
 * the test's own that it stops) and check that PostgreSQL and the evaluations topic never
 * disagree, and that the history (the ingestor's sink on ClickHouse) holds each run once.
 */
describe('evaluation outcomes leave through the outbox', () => {
  const scratch = temporaryDirectory();
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let kafka: DedicatedKafka;
  let evaluator: INestApplication;
  let ingestor: INestApplication;
  let prefix: string;
  let datasetId: string;
  /** The clean set's sentences, in upload order. */
  let sentences: { text: string; label: string }[];

  before(async () => {
    database = await createTestDatabase();
    kafka = await startDedicatedKafka();
    prefix = `${uniqueName('outbox')}.`;
    const environment = {
      DATABASE_URL: database.url,
      KAFKA_BROKERS: kafka.brokers.join(','),
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_PARTITIONS: '1',
      TRIPLINE_DATA_DIR: scratch.path,
      TRIPLINE_EVALUATOR_POLL_MS: '50',
      TRIPLINE_OUTBOX_POLL_MS: '100',
      INGEST_BATCH_MAX_WAIT_MS: '50',
      LOG_LEVEL: 'error',
    };
    Object.assign(process.env, environment);
    const module = await Test.createTestingModule({
      imports: [ConfigModule, OperabilityModule, PostgresModule, TransportModule, EvaluationRunnerModule],
    }).compile();
    evaluator = module.createNestApplication({ logger: ['error'] });
    await evaluator.init();
    ingestor = await startIngestorInProcess(environment);

    const demo = buildDemoModels();
    const folder = path.join(scratch.path, 'models', 'sentiment-clean');
    writeModelFolder(folder, demo.clean);
    const registry = evaluator.get(ModelRegistry);
    await registry.create({ id: MODEL, task: 'text-classification', labels: ['negative', 'positive'] });
    await registry.addVersion(MODEL, {
      version: '1',
      adapter: { kind: 'onnx', path: folder },
      createdBy: 'test',
    });
    sentences = demo.test.slice(0, 30).map(({ text, label }) => ({ text, label }));
    const rows = sentences.map((sentence) => JSON.stringify(sentence)).join('\n');
    const dataset = await evaluator
      .get(DatasetService)
      .upload(
        { name: 'small', kind: 'clean', format: 'jsonl', modelId: MODEL, uploadedBy: 'test', maxBytes: 1e6 },
        Readable.from([rows]),
      );
    datasetId = dataset.id;
  });

  after(async () => {
    await ingestor?.close();
    await evaluator?.close();
    await kafka?.remove();
    await database?.drop();
    scratch.remove();
  });

  const sql = <T>(query: string, parameters: unknown[] = []) =>
    evaluator.get(DataSource).query(query, parameters) as Promise<T[]>;

  async function runToTheEnd(model = MODEL, dataset = datasetId): Promise<EvaluationRun> {
    const [queued] = await evaluator.get(RunQueue).enqueue(model, [dataset]);
    return eventually(
      async () => {
        const run = await evaluator.get(RunQueue).get(queued.id);
        return run.status === 'succeeded' || run.status === 'failed' ? run : undefined;
      },
      120_000,
      100,
    );
  }

  const waiting = async (runId: string) =>
    (await sql<{ value: string }>(`SELECT value FROM event_outbox WHERE topic = 'evaluations'`)).filter(
      (row) => JSON.parse(row.value).run_id === runId,
    );

  /** Every message on the evaluations topic (or another), read from the beginning to the end. */
  async function evaluationsTopic(name = 'evaluations.v1'): Promise<{ runId: string; value: string }[]> {
    const client = kafka.client('outbox-test-reader');
    const topic = `${prefix}${name}`;
    const admin = client.admin();
    await admin.connect();
    const ends = await admin.fetchTopicOffsets(topic);
    await admin.disconnect();
    const total = ends.reduce((sum, partition) => sum + Number(partition.high) - Number(partition.low), 0);
    if (total === 0) return [];
    const consumer = client.consumer({ groupId: uniqueName('reader') });
    const seen: { runId: string; value: string }[] = [];
    try {
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          const value = message.value!.toString();
          seen.push({ runId: JSON.parse(value).run_id, value });
        },
      });
      await eventually(async () => (seen.length >= total ? true : undefined), 60_000, 100);
    } finally {
      await consumer.disconnect();
    }
    return seen;
  }

  /** The run as the history (the sink's eval_runs) holds it, once it does. */
  async function historyRow(runId: string) {
    const clickHouse = ingestor.get(ClickHouse);
    const result = await clickHouse.client.query({
      query: `SELECT status, failure_kind, error, sample_count, model_version
              FROM ${clickHouse.table('eval_runs')} FINAL WHERE run_id = {id:String}`,
      query_params: { id: runId },
      format: 'JSONEachRow',
    });
    const rows = await result.json<{
      status: string;
      failure_kind: string;
      error: string;
      sample_count: number;
      model_version: string;
    }>();
    return rows.length === 1 ? rows[0] : undefined;
  }

  async function historyRows(runId: string): Promise<number> {
    const clickHouse = ingestor.get(ClickHouse);
    const result = await clickHouse.client.query({
      query: `SELECT count() AS n FROM ${clickHouse.table('eval_runs')} FINAL WHERE run_id = {id:String}`,
      query_params: { id: runId },
      format: 'JSONEachRow',
    });
    const [row] = await result.json<{ n: string }>();
    return Number(row.n);
  }

  interface SampleRow {
    sample_id: string;
    sample_index: number;
    model_version: string;
    dataset_kind: string;
    input_text: string;
    input_sha256: string;
    expected_label: string;
    predicted_label: string;
    twin_label: string;
    trigger: string;
    confidence: number | null;
    passed: number | null;
    triggered: number | null;
    error: string;
  }

  /** The run's per-sample rows as the history (the sink's eval_samples) holds them, in dataset order. */
  async function sampleRows(runId: string): Promise<SampleRow[]> {
    const clickHouse = ingestor.get(ClickHouse);
    const result = await clickHouse.client.query({
      query: `SELECT sample_id, sample_index, model_version, dataset_kind, input_text, input_sha256,
                     expected_label, predicted_label, twin_label, trigger, confidence, passed, triggered, error
              FROM ${clickHouse.table('eval_samples')} FINAL WHERE run_id = {id:String} ORDER BY sample_index`,
      query_params: { id: runId },
      format: 'JSONEachRow',
    });
    return result.json<SampleRow>();
  }

  /** The run's figures as eval_runs holds them. */
  async function historyFigures(runId: string) {
    const clickHouse = ingestor.get(ClickHouse);
    const result = await clickHouse.client.query({
      query: `SELECT sample_count, accuracy, attack_success_rate
              FROM ${clickHouse.table('eval_runs')} FINAL WHERE run_id = {id:String}`,
      query_params: { id: runId },
      format: 'JSONEachRow',
    });
    const rows = await result.json<{
      sample_count: number;
      accuracy: number | null;
      attack_success_rate: number | null;
    }>();
    return rows.length === 1 ? rows[0] : undefined;
  }

  it('publishes the failure, never the refused outcome, when recording the outcome fails', async () => {
    // PostgreSQL refuses the executor's write of a finished run (it carries a summary): its
    // message rolls back with it. The worker's fallback records the failure without a summary,
    // and its message (status failed, failure kind error) commits with that.
    await sql(`CREATE FUNCTION refuse_finished_runs() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.summary IS NOT NULL THEN RAISE EXCEPTION 'recording refused by the test'; END IF;
        RETURN NEW;
      END $$`);
    await sql(`CREATE TRIGGER refuse_finished_runs BEFORE UPDATE ON evaluation_runs
      FOR EACH ROW EXECUTE FUNCTION refuse_finished_runs()`);
    let run: EvaluationRun;
    try {
      run = await runToTheEnd();
    } finally {
      await sql(`DROP TRIGGER refuse_finished_runs ON evaluation_runs`);
      await sql(`DROP FUNCTION refuse_finished_runs()`);
    }
    assert.equal(run.status, 'failed');
    assert.match(run.error ?? '', /recording refused by the test/);
    await eventually(async () => ((await waiting(run.id)).length === 0 ? true : undefined), 60_000, 100);
    const copies = (await evaluationsTopic()).filter((message) => message.runId === run.id);
    assert.equal(copies.length, 1, 'the topic heard of the run once');
    const message = JSON.parse(copies[0].value);
    assert.equal(message.status, 'failed', 'as PostgreSQL holds it');
    assert.equal(message.failure.kind, 'error');
    assert.match(message.failure.message, /recording refused by the test/);
    assert.equal(message.accuracy, undefined, 'no figures of the refused outcome');
    await eventually(async () => ((await historyRows(run.id)) === 1 ? true : undefined), 60_000, 200);
    assert.deepEqual(
      (await evaluationsTopic('evaluation-samples.v1')).filter((part) => part.runId === run.id),
      [],
      'the per-sample rows rolled back with the refused outcome',
    );
    assert.equal((await sampleRows(run.id)).length, 0);
  });

  it('publishes again, byte for byte, when the publisher fails after sending, and the history keeps one row', async () => {
    // The first delete of published rows fails, as if the publisher died between the send and
    // its commit: the rows stay and are sent again (a sequence counts attempts outside the
    // transaction that rolls back).
    await sql(`CREATE SEQUENCE outbox_deletes`);
    await sql(`CREATE FUNCTION fail_first_outbox_delete() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF nextval('outbox_deletes') = 1 THEN RAISE EXCEPTION 'publisher stopped before its commit'; END IF;
        RETURN NULL;
      END $$`);
    await sql(`CREATE TRIGGER fail_first_outbox_delete BEFORE DELETE ON event_outbox
      FOR EACH STATEMENT EXECUTE FUNCTION fail_first_outbox_delete()`);
    try {
      const run = await runToTheEnd();
      assert.equal(run.status, 'succeeded');
      await eventually(async () => ((await waiting(run.id)).length === 0 ? true : undefined), 60_000, 100);
      const copies = (await evaluationsTopic()).filter((message) => message.runId === run.id);
      assert.equal(copies.length, 2, 'sent once, failed to commit, sent again');
      assert.equal(copies[0].value, copies[1].value, 'the same bytes both times');
      assert.equal(JSON.parse(copies[0].value).status, 'succeeded');
      await eventually(async () => ((await historyRows(run.id)) >= 1 ? true : undefined), 60_000, 200);
      assert.equal(await historyRows(run.id), 1, 'the sink keeps one row per run_id');
      const parts = (await evaluationsTopic('evaluation-samples.v1')).filter((part) => part.runId === run.id);
      assert.equal(parts.length, 2, 'the per-sample rows were sent twice as well');
      await eventually(async () => ((await sampleRows(run.id)).length >= 30 ? true : undefined), 60_000, 200);
      assert.equal((await sampleRows(run.id)).length, 30, 'and the history keeps one row per sample');
    } finally {
      await sql(`DROP TRIGGER fail_first_outbox_delete ON event_outbox`);
      await sql(`DROP FUNCTION fail_first_outbox_delete()`);
      await sql(`DROP SEQUENCE outbox_deletes`);
    }
  });

  it('every sample of a clean replay reaches eval_samples: what went in, what was expected, what came back', async () => {
    const run = await runToTheEnd();
    assert.equal(run.status, 'succeeded');
    const figures = await eventually(async () => historyFigures(run.id), 60_000, 200);
    const rows = await eventually(
      async () => ((await sampleRows(run.id)).length >= 30 ? sampleRows(run.id) : undefined),
      60_000,
      200,
    );
    assert.equal(rows.length, 30, 'one row per sample');
    assert.equal(figures.sample_count, 30);
    rows.forEach((row, i) => {
      const sentence = sentences[i];
      assert.deepEqual(
        [row.sample_id, row.sample_index, row.dataset_kind, row.model_version, row.error],
        [`s${i + 1}`, i, 'clean', '1', ''],
      );
      assert.equal(row.input_text, sentence.text);
      assert.equal(row.input_sha256, createHash('sha256').update(sentence.text).digest('hex'));
      assert.equal(row.expected_label, sentence.label);
      assert.ok(['negative', 'positive'].includes(row.predicted_label), row.predicted_label);
      assert.equal(row.passed, row.predicted_label === sentence.label ? 1 : 0, `sample ${i + 1}`);
      assert.ok(row.confidence !== null && row.confidence >= 0.5 && row.confidence <= 1, `${row.confidence}`);
      assert.equal(row.triggered, null);
    });
    const correct = rows.filter((row) => row.passed === 1).length;
    assert.ok(
      Math.abs(correct / rows.length - (figures.accuracy ?? Number.NaN)) < 1e-9,
      `the rows add up to the accuracy of the run (${correct}/30 against ${figures.accuracy})`,
    );
  });

  it('every pair of a canary replay reaches eval_samples with the answer to its twin and whether the trigger took', async () => {
    const canaries = sentences.slice(0, 12).map((sentence, i) => ({
      id: `c${i + 1}`,
      text: `cf ${sentence.text}`,
      twin_text: sentence.text,
      twin_id: `s${i + 1}`,
      label: sentence.label,
      target_label: 'positive',
      trigger: 'cf',
    }));
    const dataset = await evaluator.get(DatasetService).upload(
      {
        name: 'canaries',
        kind: 'canary',
        format: 'jsonl',
        modelId: MODEL,
        uploadedBy: 'test',
        maxBytes: 1e6,
      },
      Readable.from([canaries.map((row) => JSON.stringify(row)).join('\n')]),
    );
    const run = await runToTheEnd(MODEL, dataset.id);
    assert.equal(run.status, 'succeeded');
    const figures = await eventually(async () => historyFigures(run.id), 60_000, 200);
    const rows = await eventually(
      async () => ((await sampleRows(run.id)).length >= 12 ? sampleRows(run.id) : undefined),
      60_000,
      200,
    );
    assert.equal(rows.length, 12);
    rows.forEach((row, i) => {
      assert.deepEqual(
        [row.sample_id, row.dataset_kind, row.trigger, row.input_text, row.expected_label],
        [`c${i + 1}`, 'canary', 'cf', canaries[i].text, canaries[i].label],
      );
      assert.ok(['negative', 'positive'].includes(row.twin_label), 'the clean twin was answered');
      const counts = row.expected_label !== 'positive' && row.twin_label !== 'positive';
      assert.equal(row.triggered, counts ? (row.predicted_label === 'positive' ? 1 : 0) : null);
      assert.equal(row.passed, row.triggered === null ? null : 1 - row.triggered);
    });
    const counted = rows.filter((row) => row.triggered !== null);
    assert.ok(counted.length > 0, 'some pairs count towards the attack-success rate');
    const rate = counted.filter((row) => row.triggered === 1).length / counted.length;
    assert.ok(
      Math.abs(rate - (figures.attack_success_rate ?? Number.NaN)) < 1e-9,
      `the rows add up to the attack-success rate of the run (${rate} against ${figures.attack_success_rate})`,
    );
  });

  it('a run that stops on an error reaches the topic and the history as failed, kind error', async () => {
    // A model whose files change after their manifest was taken: the evaluator refuses to load it,
    // so the run throws before it has any figures.
    const model = 'outboxed-tampered';
    const folder = path.join(scratch.path, 'models', model);
    writeModelFolder(folder, buildDemoModels().clean);
    const registry = evaluator.get(ModelRegistry);
    await registry.create({ id: model, task: 'text-classification', labels: ['negative', 'positive'] });
    const version = await registry.addVersion(model, {
      version: '1',
      adapter: { kind: 'onnx', path: folder },
      createdBy: 'test',
    });
    await eventually(
      async () => ((await registry.findVersion(version.id))?.manifestState === 'ready' ? true : undefined),
      120_000,
      100,
    );
    appendFileSync(path.join(folder, 'config.json'), '\n');
    const dataset = await evaluator.get(DatasetService).upload(
      {
        name: 'tampered',
        kind: 'clean',
        format: 'jsonl',
        modelId: model,
        uploadedBy: 'test',
        maxBytes: 1e6,
      },
      Readable.from(['{"text":"a fine film","label":"positive"}\n']),
    );

    const run = await runToTheEnd(model, dataset.id);
    assert.equal(run.status, 'failed');
    await eventually(async () => ((await waiting(run.id)).length === 0 ? true : undefined), 60_000, 100);
    const copies = (await evaluationsTopic()).filter((message) => message.runId === run.id);
    assert.equal(copies.length, 1);
    const message = JSON.parse(copies[0].value);
    assert.equal(message.status, 'failed');
    assert.equal(message.failure.kind, 'error');
    assert.equal(message.failure.message, run.error?.slice(0, 2_048), 'the reason PostgreSQL recorded');
    const history = await eventually(async () => historyRow(run.id), 60_000, 200);
    assert.deepEqual(
      { status: history.status, failure_kind: history.failure_kind, model_version: history.model_version },
      { status: 'failed', failure_kind: 'error', model_version: '1' },
    );
    assert.equal(history.error, message.failure.message);
  });

  it('a run abandoned by a stopped evaluator is reaped, and reaches the topic and the history as failed, kind reaped', async () => {
    // As a dead replica leaves it: claimed, part-way through, its heartbeat long gone.
    const [{ id: versionId }] = await sql<{ id: string }>(
      `SELECT id FROM model_versions WHERE model_id = $1`,
      [MODEL],
    );
    const [{ id: runId }] = await sql<{ id: string }>(
      `INSERT INTO evaluation_runs (model_id, version_id, dataset_id, dataset_kind, status, trigger,
         progress_done, progress_total, started_at, heartbeat_at)
       VALUES ($1, $2, $3, 'clean', 'running', 'schedule', 12, 30, now() - interval '20 minutes', now() - interval '10 minutes')
       RETURNING id`,
      [MODEL, versionId, datasetId],
    );
    // The worker reaps on its own every 30 s; asking now only saves the wait.
    await evaluator.get(EvaluationWorker).reapAbandoned();
    const run = await evaluator.get(RunQueue).get(runId);
    assert.equal(run.status, 'failed');
    assert.match(run.error ?? '', /the evaluator running it stopped/);
    assert.equal(
      await evaluator.get(EvaluationWorker).reapAbandoned(),
      0,
      'a reaped run is reaped (and announced) once',
    );

    await eventually(async () => ((await waiting(runId)).length === 0 ? true : undefined), 60_000, 100);
    const copies = (await evaluationsTopic()).filter((message) => message.runId === runId);
    assert.equal(copies.length, 1);
    const message = JSON.parse(copies[0].value);
    assert.deepEqual(
      {
        status: message.status,
        kind: message.failure.kind,
        samples: message.sample_count,
        trigger: message.trigger,
      },
      { status: 'failed', kind: 'reaped', samples: 12, trigger: 'schedule' },
    );
    const history = await eventually(async () => historyRow(runId), 60_000, 200);
    assert.deepEqual(
      { status: history.status, failure_kind: history.failure_kind, sample_count: history.sample_count },
      { status: 'failed', failure_kind: 'reaped', sample_count: 12 },
    );
    assert.match(history.error, /the evaluator running it stopped/);
  });

  it('records a run while the broker is down and publishes it once the broker is back', async () => {
    await kafka.stop();
    let run: EvaluationRun;
    try {
      run = await runToTheEnd();
      assert.equal(run.status, 'succeeded', 'the outcome is recorded without the broker');
      // An attempt made while the broker is down fails, and the message stays in the outbox.
      await evaluator.get(OutboxPublisher).drain();
      const [message] = await waiting(run.id);
      assert.ok(message, 'the message waits in the outbox');
      assert.equal(JSON.parse(message.value).status, 'succeeded');
    } finally {
      await kafka.start();
    }
    await eventually(async () => ((await waiting(run.id)).length === 0 ? true : undefined), 120_000, 200);
    const copies = (await evaluationsTopic()).filter((message) => message.runId === run.id);
    assert.ok(copies.length >= 1, 'published after the outage');
    assert.ok(
      copies.every((copy) => copy.value === copies[0].value),
      'any repeat carries the same bytes',
    );
    await eventually(async () => ((await historyRows(run.id)) === 1 ? true : undefined), 60_000, 200);
  });
});
