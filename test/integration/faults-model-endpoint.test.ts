/**
 * Fault suite (issue 8, item 4): a model endpoint timing out, erroring and returning garbage.
 * The suite's index is in test/support/dedicated-services.ts.
 *
 * An evaluator composed in-process on a real PostgreSQL database replays a small clean set
 * against the local model server behind the two HTTP adapters that talk to it (OIP v2 and custom
 * JSON). With each fault injected, every run must end 'failed' with the cause in its error, in
 * PostgreSQL and on the evaluations topic alike; once the fault is cleared, the next run succeeds
 * without anything being restarted.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import type { AdapterConfig } from '@tripline/adapters';
import { startModelServer, type ModelServer } from '@tripline/demo-models';
import { ConfigModule } from '@tripline/config';
import { buildDemoModels, CLEAN_MODEL_NAME, writeModelFolder } from '@tripline/demo-models';
import { EvaluationRunnerModule } from '@tripline/evaluation-runner';
import { PostgresModule } from '@tripline/postgres';
import { DatasetService, ModelRegistry } from '@tripline/registry';
import { RunQueue, type EvaluationRun } from '@tripline/runs';
import { OperabilityModule } from '@tripline/server';
import { TransportModule } from '@tripline/transport';
import {
  createTestDatabase,
  eventually,
  kafkaBrokers,
  temporaryDirectory,
  uniqueName,
} from '@tripline/testing';

const TIMEOUT_MS = 400;

describe('evaluation runs against a faulty model endpoint', () => {
  const scratch = temporaryDirectory();
  const prefix = `${uniqueName('endpoint_faults')}.`;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let server: ModelServer;
  let evaluator: INestApplication;
  let consumer: Consumer;
  const published = new Map<string, { status: string; error_count: number }>();
  const datasets = new Map<string, string>();

  const adapters = (url: string): Record<string, AdapterConfig> => ({
    'endpoint-oip': {
      kind: 'oip-v2',
      url,
      modelName: 'sentiment',
      timeoutMs: TIMEOUT_MS,
      retries: 1,
    },
    'endpoint-json': {
      kind: 'custom-json',
      url: `${url}/predict`,
      requestTemplate: { text: '{{input}}' },
      responsePaths: { label: 'result.label', scores: 'result.probs' },
      timeoutMs: TIMEOUT_MS,
      retries: 1,
    },
  });

  /** Queues one run per model and waits until each has finished, as stored and as published. */
  const runAll = async (): Promise<Record<string, EvaluationRun>> => {
    const queue = evaluator.get(RunQueue);
    const finished: Record<string, EvaluationRun> = {};
    for (const modelId of datasets.keys()) {
      const [queued] = await queue.enqueue(modelId, [datasets.get(modelId)!]);
      finished[modelId] = await eventually(
        async () => {
          const run = await queue.get(queued.id);
          return run.status === 'succeeded' || run.status === 'failed' ? run : undefined;
        },
        60_000,
        100,
      );
      await eventually(async () => (published.has(queued.id) ? true : undefined), 30_000, 100);
      assert.equal(
        published.get(queued.id)!.status,
        finished[modelId].status,
        'the evaluations topic says what PostgreSQL says',
      );
    }
    return finished;
  };

  before(async () => {
    const demo = buildDemoModels();
    writeModelFolder(path.join(scratch.path, 'models', CLEAN_MODEL_NAME), demo.clean);
    server = await startModelServer({
      modelsDir: path.join(scratch.path, 'models'),
      model: CLEAN_MODEL_NAME,
    });
    database = await createTestDatabase();
    Object.assign(process.env, {
      DATABASE_URL: database.url,
      KAFKA_BROKERS: kafkaBrokers().join(','),
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_PARTITIONS: '1',
      TRIPLINE_DATA_DIR: scratch.path,
      TRIPLINE_EVALUATOR_POLL_MS: '50',
      LOG_LEVEL: 'error',
    });
    const module = await Test.createTestingModule({
      imports: [ConfigModule, OperabilityModule, PostgresModule, TransportModule, EvaluationRunnerModule],
    }).compile();
    evaluator = module.createNestApplication({ logger: ['error'] });
    await evaluator.init();

    consumer = new Kafka({ brokers: kafkaBrokers(), logLevel: logLevel.NOTHING }).consumer({
      groupId: uniqueName('endpoint-faults-reader'),
    });
    await consumer.connect();
    await consumer.subscribe({ topic: `${prefix}evaluations.v1`, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const value = JSON.parse(message.value!.toString()) as {
          run_id: string;
          status: string;
          error_count: number;
        };
        published.set(value.run_id, value);
      },
    });

    const rows = demo.test
      .slice(0, 24)
      .map((sentence) => JSON.stringify({ text: sentence.text, label: sentence.label }))
      .join('\n');
    for (const [modelId, adapter] of Object.entries(adapters(server.url))) {
      await evaluator
        .get(ModelRegistry)
        .create({ id: modelId, task: 'text-classification', labels: ['negative', 'positive'] });
      await evaluator.get(ModelRegistry).addVersion(modelId, { version: '1', adapter, createdBy: 'test' });
      const dataset = await evaluator
        .get(DatasetService)
        .upload(
          { name: 'small', kind: 'clean', format: 'jsonl', modelId, uploadedBy: 'test', maxBytes: 1e6 },
          Readable.from([rows]),
        );
      datasets.set(modelId, dataset.id);
    }
  });

  after(async () => {
    await consumer?.disconnect();
    await evaluator?.close();
    await server?.close();
    await database?.drop();
    scratch.remove();
  });

  it('healthy endpoint: both adapters succeed (the control for the faults below)', async () => {
    server.setFaults({});
    for (const [modelId, run] of Object.entries(await runAll())) {
      assert.equal(run.status, 'succeeded', `${modelId}: ${run.error}`);
      assert.equal(run.progressDone, 24);
    }
  });

  const faults: { name: string; faults: Parameters<ModelServer['setFaults']>[0]; cause: RegExp }[] = [
    {
      name: 'answers slower than the adapter timeout',
      faults: { delayMs: TIMEOUT_MS * 4 },
      cause: new RegExp(`timed out after ${TIMEOUT_MS} ms`),
    },
    {
      name: 'answers every call 503',
      faults: { errorRate: 1 },
      cause: /answered 503: injected fault: the model server is unavailable/,
    },
    {
      name: 'answers 200 with a truncated body',
      faults: { garbage: true },
      cause: /answered 200 with a body that is not JSON/,
    },
  ];

  for (const fault of faults) {
    it(`endpoint ${fault.name}: the run fails naming the cause; once cleared the next run succeeds`, async () => {
      server.setFaults(fault.faults);
      const failedByFault = server.state().requests.failedByFault;
      for (const [modelId, run] of Object.entries(await runAll())) {
        assert.equal(run.status, 'failed', `${modelId} must not pass: ${JSON.stringify(run.summary)}`);
        assert.match(run.error ?? '', /24 of 24 samples could not be evaluated/, modelId);
        assert.match(run.error ?? '', fault.cause, modelId);
        const errors = (run.summary as { errors?: { count: number } } | null)?.errors;
        assert.equal(errors?.count, 24, `${modelId}: every sample is counted as an error`);
      }
      if (!fault.faults.delayMs)
        assert.ok(server.state().requests.failedByFault > failedByFault, 'the fault was hit');

      server.setFaults({});
      for (const [modelId, run] of Object.entries(await runAll())) {
        assert.equal(run.status, 'succeeded', `${modelId} after the fault: ${run.error}`);
        assert.equal((run.summary as { errors: { count: number } }).errors.count, 0);
      }
    });
  }
});
