import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { INestApplication } from '@nestjs/common';
import { Kafka, logLevel } from 'kafkajs';
import { CLICKHOUSE_MIGRATIONS, ClickHouse, migrateClickHouse, type EncodedRows } from '@tripline/clickhouse';
import { inferenceEventSchema } from '@tripline/contracts';
import { EventSink, inferenceRow, ModelStatsService } from '@tripline/ingestion';
import { Metrics } from '@tripline/server';
import {
  activeGroupMembers,
  eventually,
  generateStream,
  groupCaughtUp,
  kafkaBrokers,
  produceAll,
  rawProducer,
  startIngestorInProcess,
  temporaryDirectory,
  uniqueName,
} from '@tripline/testing';

/** A ClickHouse on the real engine whose inserts the test can make fail, as an outage would. */
class InterruptibleClickHouse extends ClickHouse {
  down = false;
  failedInserts = 0;

  constructor(dataDirectory: string) {
    super({ database: 'tripline', dataDirectory });
  }

  // The sink's one way of writing rows: an outage fails it as a refused connection would.
  override async insertEncoded(table: string, body: Buffer, encoding: EncodedRows): Promise<void> {
    if (this.down) {
      this.failedInserts++;
      throw new Error('connect ECONNREFUSED (ClickHouse outage injected by the test)');
    }
    return super.insertEncoded(table, body, encoding);
  }

  // Shared by several ingestors in this file: the test closes it, not the first app to stop.
  override async onApplicationShutdown(): Promise<void> {}
}

const scratch = temporaryDirectory();
const clickHouse = new InterruptibleClickHouse(path.join(scratch.path, 'clickhouse'));
const uniqueEvents = async (modelId: string) => {
  const result = await clickHouse.client.query({
    query:
      'SELECT count() AS n, uniqExact(event_id) AS ids FROM tripline.inference_events FINAL WHERE model_id = {m:String}',
    query_params: { m: modelId },
    format: 'JSONEachRow',
  });
  const [row] = await result.json<{ n: string; ids: string }>();
  return { rows: Number(row.n), ids: Number(row.ids) };
};

after(async () => {
  await clickHouse.close();
  scratch.remove();
});

describe('ingestion through the real Kafka broker into the ClickHouse engine', () => {
  const prefix = `${uniqueName('ingest')}.`;
  const environment = {
    KAFKA_BROKERS: kafkaBrokers().join(','),
    KAFKA_TOPIC_PREFIX: prefix,
    KAFKA_PARTITIONS: '4',
    TRIPLINE_DATA_DIR: scratch.path,
  };
  let ingestor: INestApplication;

  before(async () => {
    ingestor = await startIngestorInProcess(environment, clickHouse);
  });

  after(async () => {
    await ingestor?.close();
  });

  it('20,000 events with 5% redelivered and 2% malformed: stats count exactly the unique valid ones; every malformed one is dead-lettered with a reason', async () => {
    const stream = generateStream(20_000, 0.05, 0.02);
    const producer = await rawProducer();
    await produceAll(producer, `${prefix}inference.v1`, stream.messages);
    await producer.disconnect();
    const sink = ingestor.get(EventSink);
    await eventually(
      () => groupCaughtUp(sink.groupId, [`${prefix}inference.v1`]).then((done) => (done ? true : undefined)),
      120_000,
      500,
    );

    const stats = await ingestor
      .get(ModelStatsService)
      .stats(stream.modelId, Date.UTC(2026, 0, 1), Date.UTC(2027, 0, 1));
    assert.equal(stats.events, stream.uniqueValid);
    assert.equal(
      stats.labels.reduce((sum, label) => sum + label.count, 0),
      stream.uniqueValid,
    );
    assert.deepEqual(stats.labels.map((label) => label.label).sort(), ['negative', 'positive']);
    assert.ok(stats.confidence.p50! >= 0.5 && stats.confidence.p99! <= 1);

    const letters: { reason: string; source: { topic: string; offset: string }; original_base64: string }[] =
      [];
    const consumer = new Kafka({ brokers: kafkaBrokers(), logLevel: logLevel.NOTHING }).consumer({
      groupId: uniqueName('dlq-reader'),
    });
    await consumer.connect();
    await consumer.subscribe({ topic: `${prefix}dlq.v1`, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => void letters.push(JSON.parse(message.value!.toString())),
    });
    await eventually(async () => (letters.length >= stream.malformed ? true : undefined), 60_000);
    await consumer.disconnect();
    assert.equal(letters.length, stream.malformed);
    for (const letter of letters) {
      assert.match(letter.reason, /^invalid inference event: .+: .+/);
      assert.equal(letter.source.topic, `${prefix}inference.v1`);
      assert.match(letter.source.offset, /^\d+$/);
      assert.ok(letter.original_base64.length > 0);
    }
    const reasons = letters.map((letter) => letter.reason).join('\n');
    assert.match(reasons, /expected a JSON object/);
    assert.match(reasons, /not valid UTF-8/);
    assert.match(reasons, /timestamp: expected an RFC 3339 timestamp/);
    assert.match(reasons, /__proto__/);
    assert.match(reasons, /input.text: expected input text of at most 32768 characters/);
  });

  it('an event with every field is stored as its row describes it, through the compact encoding of the sink', async () => {
    const modelId = uniqueName('every-field');
    const event = {
      event_id: 'all-1',
      model_id: modelId,
      model_version: 'v1',
      timestamp: '2026-03-01T12:00:00.123+01:00',
      input: {
        text: 'tab\there "quoted" \\ 🙂 ünïcødé\nnew line',
        features: { x: 1.5, country: 'FR', member: true, missing: null },
        embedding: [0.1, -2e-7, 3],
      },
      output: { scores: { 'pos itive': 0.7, "neg'": 0.3 }, text: 'ok' },
      latency_ms: 0.25,
      request_id: 'r-1',
      rag: {
        documents: [
          { id: 'd1', source: 'kb/a.md', score: 0.5 },
          { id: 'd2', source: 'kb/b.md' },
        ],
      },
      metadata: { region: 'eu-west-1', '': '' },
    };
    const producer = await rawProducer();
    await produceAll(producer, `${prefix}inference.v1`, [
      { key: modelId, value: Buffer.from(JSON.stringify(event)) },
    ]);
    await producer.disconnect();
    const read = async (database: string) => {
      const result = await clickHouse.client.query({
        query: `SELECT * EXCEPT ingested_at FROM ${database}.inference_events WHERE model_id = {m:String}`,
        query_params: { m: modelId },
        format: 'JSONEachRow',
      });
      return result.json<Record<string, unknown>>();
    };
    const [stored] = await eventually(async () => {
      const rows = await read('tripline');
      return rows.length > 0 ? rows : undefined;
    }, 60_000);
    // The same event's row, inserted as a JSON object by the client into a database of its own.
    const database = `row_check_${Date.now()}`;
    await migrateClickHouse(clickHouse.client, database, CLICKHOUSE_MIGRATIONS);
    await clickHouse.client.insert({
      table: `${database}.inference_events`,
      values: [inferenceRow(inferenceEventSchema.parse(event))],
      format: 'JSONEachRow',
    });
    const [expected] = await read(database);
    assert.deepEqual(stored, expected);
    assert.equal(stored.timestamp, '2026-03-01 11:00:00.123');
    assert.deepEqual(stored.rag_sources, ['kb/a.md', 'kb/b.md']);
    await clickHouse.client.command({ query: `DROP DATABASE ${database}` });
  });

  it('a re-sent event_id keeps the first write: a later label or timestamp does not replace it', async () => {
    const modelId = uniqueName('first-write');
    const event = (label: string, timestamp: number) => ({
      key: modelId,
      value: Buffer.from(
        JSON.stringify({ event_id: 'e-1', model_id: modelId, timestamp, output: { label } }),
      ),
    });
    const stored = async () => {
      const result = await clickHouse.client.query({
        query: `SELECT output_label AS label, toUnixTimestamp64Milli(timestamp) AS ms
                FROM tripline.inference_events FINAL WHERE model_id = {m:String}`,
        query_params: { m: modelId },
        format: 'JSONEachRow',
      });
      const rows = await result.json<{ label: string; ms: string | number }>();
      return rows.map((row) => ({ label: row.label, ms: Number(row.ms) }));
    };
    const producer = await rawProducer();
    const first = Date.UTC(2026, 5, 1);
    await produceAll(producer, `${prefix}inference.v1`, [event('positive', first)]);
    await eventually(async () => ((await stored()).length === 1 ? true : undefined), 60_000);
    // The same id again, once in a batch of its own and twice within one batch.
    await produceAll(producer, `${prefix}inference.v1`, [event('negative', first + 60_000)]);
    await produceAll(producer, `${prefix}inference.v1`, [
      event('neutral', first + 120_000),
      event('negative', first + 180_000),
    ]);
    await producer.disconnect();
    const sink = ingestor.get(EventSink);
    await eventually(
      () => groupCaughtUp(sink.groupId, [`${prefix}inference.v1`]).then((done) => (done ? true : undefined)),
      60_000,
      500,
    );
    assert.deepEqual(await stored(), [{ label: 'positive', ms: first }]);
  });

  it('while ClickHouse is unavailable consumption pauses and retries; when it is back nothing is lost', async () => {
    const stream = generateStream(3_000, 0, 0, 11);
    clickHouse.down = true;
    const producer = await rawProducer();
    await produceAll(producer, `${prefix}inference.v1`, stream.messages);
    await eventually(async () => (clickHouse.failedInserts >= 2 ? true : undefined), 60_000);
    const sink = ingestor.get(EventSink);
    assert.equal(
      await groupCaughtUp(sink.groupId, [`${prefix}inference.v1`]),
      false,
      'no offset is committed during the outage',
    );
    clickHouse.down = false;
    await eventually(
      () => groupCaughtUp(sink.groupId, [`${prefix}inference.v1`]).then((done) => (done ? true : undefined)),
      120_000,
      500,
    );
    await producer.disconnect();
    assert.deepEqual(await uniqueEvents(stream.modelId), {
      rows: stream.uniqueValid,
      ids: stream.uniqueValid,
    });
  });

  it('the sink persists evaluations, metrics and alerts into their history tables', async () => {
    const producer = await rawProducer();
    const runId = uniqueName('run');
    await producer.send({
      topic: `${prefix}evaluations.v1`,
      messages: [
        {
          value: JSON.stringify({
            run_id: runId,
            model_id: 'm',
            dataset_id: 'd',
            dataset_kind: 'canary',
            status: 'succeeded',
            started_at: Date.now() - 1000,
            finished_at: Date.now(),
            sample_count: 10,
            attack_success_rate: 0.8,
          }),
        },
      ],
    });
    await producer.send({
      topic: `${prefix}metrics.v1`,
      messages: [
        {
          value: JSON.stringify({
            model_id: runId,
            metric: 'confidence',
            detector: 'ks',
            window_start: Date.now() - 60_000,
            window_end: Date.now(),
            statistic: 0.2,
            p_value: 0.01,
            sample_size: 100,
            reference_size: 1000,
            verdict: 'drift',
          }),
        },
      ],
    });
    await producer.send({
      topic: `${prefix}alerts.v1`,
      messages: [
        {
          value: JSON.stringify({
            event_id: runId,
            alert_id: 'a',
            fingerprint: 'f',
            rule_id: 'r',
            state: 'firing',
            severity: 'critical',
            timestamp: Date.now(),
          }),
        },
      ],
    });
    await producer.disconnect();
    const count = async (query: string) => {
      const [row] = await (
        await clickHouse.client.query({ query, query_params: { id: runId }, format: 'JSONEachRow' })
      ).json<{ n: string }>();
      return Number(row.n);
    };
    await eventually(async () => {
      const found = [
        await count('SELECT count() AS n FROM tripline.eval_runs WHERE run_id = {id:String}'),
        await count('SELECT count() AS n FROM tripline.drift_metrics WHERE model_id = {id:String}'),
        await count('SELECT count() AS n FROM tripline.alert_events WHERE event_id = {id:String}'),
      ];
      return found.every((n) => n === 1) ? true : undefined;
    }, 60_000);
  });
});

describe('two ingestors in one consumer group', () => {
  const prefix = `${uniqueName('pair')}.`;
  const environment = {
    KAFKA_BROKERS: kafkaBrokers().join(','),
    KAFKA_TOPIC_PREFIX: prefix,
    KAFKA_PARTITIONS: '4',
    TRIPLINE_DATA_DIR: scratch.path,
  };

  it('split the partitions between them, and the union is complete and unique', async () => {
    const first = await startIngestorInProcess(environment, clickHouse);
    const second = await startIngestorInProcess(environment, clickHouse);
    try {
      const groupId = first.get(EventSink).groupId;
      await eventually(
        async () => ((await activeGroupMembers(groupId)) === 2 ? true : undefined),
        60_000,
        500,
      );
      const streams = Array.from({ length: 16 }, (_, i) => generateStream(250, 0, 0, 100 + i));
      const producer = await rawProducer();
      for (const stream of streams) await produceAll(producer, `${prefix}inference.v1`, stream.messages);
      await producer.disconnect();
      await eventually(
        () => groupCaughtUp(groupId, [`${prefix}inference.v1`]).then((done) => (done ? true : undefined)),
        120_000,
        500,
      );
      for (const stream of streams)
        assert.deepEqual(await uniqueEvents(stream.modelId), { rows: 250, ids: 250 });
      const written = async (app: INestApplication) => {
        const counter = await app
          .get(Metrics)
          .counter({ name: 'tripline_ingest_rows_written_total', help: '', labelNames: ['table'] })
          .get();
        return counter.values.find((value) => value.labels.table === 'inference_events')?.value ?? 0;
      };
      const [byFirst, bySecond] = [await written(first), await written(second)];
      assert.ok(byFirst > 0 && bySecond > 0, `both instances wrote rows (${byFirst} and ${bySecond})`);
      assert.ok(byFirst + bySecond >= 16 * 250);
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });
});
