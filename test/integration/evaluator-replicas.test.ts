import assert from 'node:assert/strict';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { DataSource } from 'typeorm';
import { ConfigModule } from '@tripline/config';
import { buildDemoModels, writeModelFolder } from '@tripline/demo-models';
import { EvaluationRunnerModule, EvaluationScheduler } from '@tripline/evaluation-runner';
import { PostgresModule } from '@tripline/postgres';
import { DatasetService, ModelRegistry, ScheduleService } from '@tripline/registry';
import { Metrics, OperabilityModule } from '@tripline/server';
import { TransportModule } from '@tripline/transport';
import {
  createTestDatabase,
  eventually,
  kafkaBrokers,
  temporaryDirectory,
  uniqueName,
} from '@tripline/testing';

async function evaluatorReplica(): Promise<INestApplication> {
  const module = await Test.createTestingModule({
    imports: [ConfigModule, OperabilityModule, PostgresModule, TransportModule, EvaluationRunnerModule],
  }).compile();
  const app = module.createNestApplication({ logger: ['error'] });
  await app.init();
  return app;
}

async function tickOutcomes(app: INestApplication): Promise<Record<string, number>> {
  const counter = app
    .get(Metrics)
    .counter({ name: 'tripline_schedule_ticks_total', help: '', labelNames: ['outcome'] });
  return Object.fromEntries(
    (await counter.get()).values.map((value) => [String(value.labels.outcome), value.value]),
  );
}

describe('two evaluator replicas on one PostgreSQL', () => {
  const scratch = temporaryDirectory();
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  const replicas: INestApplication[] = [];

  before(async () => {
    database = await createTestDatabase();
    Object.assign(process.env, {
      DATABASE_URL: database.url,
      KAFKA_BROKERS: kafkaBrokers().join(','),
      KAFKA_TOPIC_PREFIX: `${uniqueName('replicas')}.`,
      KAFKA_PARTITIONS: '1',
      TRIPLINE_DATA_DIR: scratch.path,
      TRIPLINE_SCHEDULE_SYNC_MS: '200',
      TRIPLINE_EVALUATOR_POLL_MS: '50',
      LOG_LEVEL: 'error',
    });
    replicas.push(await evaluatorReplica(), await evaluatorReplica());
  });

  after(async () => {
    await Promise.all(replicas.map((replica) => replica.close()));
    await database?.drop();
    scratch.remove();
  });

  it('queue each scheduled tick once, never run one model twice at a time, and both take part', async () => {
    const demo = buildDemoModels();
    const folder = path.join(scratch.path, 'models', 'sentiment-clean');
    writeModelFolder(folder, demo.clean);
    const [first] = replicas;
    await first
      .get(ModelRegistry)
      .create({ id: 'replicated', task: 'text-classification', labels: ['negative', 'positive'] });
    await first
      .get(ModelRegistry)
      .addVersion('replicated', { version: '1', adapter: { kind: 'onnx', path: folder }, createdBy: 'test' });
    const rows = demo.test
      .slice(0, 50)
      .map((sentence) => JSON.stringify({ text: sentence.text, label: sentence.label }))
      .join('\n');
    const dataset = await first.get(DatasetService).upload(
      {
        name: 'small',
        kind: 'clean',
        format: 'jsonl',
        modelId: 'replicated',
        uploadedBy: 'test',
        maxBytes: 1e6,
      },
      Readable.from([rows]),
    );
    const schedule = await first
      .get(ScheduleService)
      .create({ modelId: 'replicated', datasetIds: [dataset.id], cron: '* * * * * *' });

    const db = first.get(DataSource);
    const runs = () =>
      db.query(
        `SELECT id, scheduled_for, status, started_at, finished_at FROM evaluation_runs WHERE schedule_id = $1 ORDER BY started_at`,
        [schedule.id],
      ) as Promise<
        {
          id: string;
          scheduled_for: Date;
          status: string;
          started_at: Date | null;
          finished_at: Date | null;
        }[]
      >;
    await eventually(
      async () => ((await runs()).filter((run) => run.status === 'succeeded').length >= 4 ? true : undefined),
      60_000,
      200,
    );
    await first.get(ScheduleService).update(schedule.id, { enabled: false });
    // Each replica drops the job now rather than at its next sync: no tick fires after this.
    await Promise.all(replicas.map((replica) => replica.get(EvaluationScheduler).sync()));
    await eventually(
      async () =>
        (await runs()).every((run) => run.status === 'succeeded' || run.status === 'failed')
          ? true
          : undefined,
      60_000,
      200,
    );

    const all = await runs();
    const ticks = new Set(all.map((run) => run.scheduled_for.toISOString()));
    assert.equal(ticks.size, all.length, 'one run per tick');
    for (let i = 1; i < all.length; i++) {
      assert.ok(
        all[i].started_at! >= all[i - 1].finished_at!,
        `runs ${all[i - 1].id} and ${all[i].id} overlap`,
      );
    }
    const outcomes = await Promise.all(replicas.map(tickOutcomes));
    const queued = outcomes.reduce((sum, outcome) => sum + (outcome.queued ?? 0), 0);
    assert.equal(queued, all.length, 'every run was queued by exactly one replica');
    const declined = outcomes.reduce(
      (sum, outcome) => sum + (outcome['claimed-elsewhere'] ?? 0) + (outcome.overlap ?? 0),
      0,
    );
    assert.ok(
      declined > 0,
      `the other replica saw the same ticks and declined them (${JSON.stringify(outcomes)})`,
    );
  });
});
