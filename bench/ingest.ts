/**
 * bench/ingest: sustained throughput and produce-to-queryable latency of the ingestor (Kafka →
 * validation → buffered ClickHouse inserts), next to the raw floor measured in the same run: a
 * plain kafkajs consume loop writing each fetched batch straight to the same engine.
 *
 *   node dist/bench/ingest.js [--events 200000] [--rounds 3] [--rate 5000]
 *
 * Needs Kafka: KAFKA_BROKERS, or it starts the local stack (deploy/local). Prints one JSON object.
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Global, Module, type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { ClickHouse, ClickHouseModule, CLICKHOUSE_MIGRATIONS, migrateClickHouse } from '@tripline/clickhouse';
import { ConfigModule } from '@tripline/config';
import { EventSinkModule, inferenceRow } from '@tripline/ingestion';
import { OperabilityModule } from '@tripline/server';
import { TransportModule } from '@tripline/transport';

const PARTITIONS = 6;

function argument(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? Number(process.argv[index + 1]) : fallback;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function events(
  count: number,
  modelId: string,
  stamp: () => number,
  first = 0,
): { key: string; value: string }[] {
  return Array.from({ length: count }, (_, n) => n + first).map((i) => ({
    key: `${modelId}-${i % 12}`,
    value: JSON.stringify({
      event_id: `${modelId}-${i}`,
      model_id: `${modelId}-${i % 12}`,
      timestamp: stamp(),
      input: { text: `the service was ${i % 3 ? 'great' : 'slow'} and the food arrived on time ${i}` },
      output: { label: i % 3 ? 'positive' : 'negative', scores: { positive: 0.81, negative: 0.19 } },
      latency_ms: 12 + (i % 40),
      metadata: { region: 'eu-west-1' },
    }),
  }));
}

async function produce(
  producer: Producer,
  topic: string,
  messages: { key: string; value: string }[],
): Promise<void> {
  const chunk = 5_000;
  const sends: Promise<unknown>[] = [];
  for (let i = 0; i < messages.length; i += chunk)
    sends.push(producer.send({ topic, acks: -1, messages: messages.slice(i, i + chunk) }));
  await Promise.all(sends);
}

async function countRows(clickHouse: ClickHouse, table: string, prefix: string): Promise<number> {
  const result = await clickHouse.client.query({
    query: `SELECT count() AS n FROM ${table} WHERE startsWith(event_id, {p:String})`,
    query_params: { p: prefix },
    format: 'JSONEachRow',
  });
  return Number((await result.json<{ n: string }>())[0].n);
}

async function waitForRows(
  clickHouse: ClickHouse,
  table: string,
  prefix: string,
  expected: number,
): Promise<void> {
  const deadline = Date.now() + 600_000;
  while ((await countRows(clickHouse, table, prefix)) < expected) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${expected} rows in ${table}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The floor: fetch, parse, insert, commit — no validation, no dead letters, no cross-batch buffering. */
async function rawFloor(kafka: Kafka, clickHouse: ClickHouse, topic: string): Promise<() => Promise<void>> {
  // The same fetch sizes as the product's consumer, so the floor differs only in what it leaves out.
  const consumer = kafka.consumer({
    groupId: `raw-${randomUUID()}`,
    maxBytesPerPartition: 4 * 1024 * 1024,
    maxBytes: 32 * 1024 * 1024,
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    partitionsConsumedConcurrently: PARTITIONS,
    eachBatch: async ({ batch }) => {
      const rows = batch.messages.map((message) => inferenceRow(JSON.parse(message.value!.toString())));
      await clickHouse.client.insert({
        table: 'bench_raw.inference_events',
        values: rows,
        format: 'JSONEachRow',
      });
    },
  });
  return () => consumer.disconnect();
}

/** One engine per process: every ingestor composed here shares the storage context's ClickHouse. */
function sharedClickHouse(clickHouse: ClickHouse): DynamicModule {
  @Global()
  @Module({})
  class SharedClickHouse {}
  return {
    module: SharedClickHouse,
    global: true,
    providers: [{ provide: ClickHouse, useValue: clickHouse }],
    exports: [ClickHouse],
  };
}

async function main(): Promise<void> {
  const total = argument('events', 200_000);
  const rounds = argument('rounds', 3);
  const rate = argument('rate', 5_000);
  let brokers = process.env.KAFKA_BROKERS;
  let stack: { down(): Promise<unknown> } | undefined;
  if (!brokers) {
    stack = require(path.resolve(__dirname, '..', '..', 'deploy', 'local', 'stack.js'));
    brokers = (
      await (stack as unknown as { up(o: object): Promise<{ kafkaBrokers: string }> }).up({
        quiet: true,
        lease: process.pid,
      })
    ).kafkaBrokers;
  }
  const dataDirectory = mkdtempSync(path.join(tmpdir(), 'tripline-bench-'));
  const prefix = `bench${Date.now().toString(36)}.`;
  Object.assign(process.env, {
    KAFKA_BROKERS: brokers,
    KAFKA_TOPIC_PREFIX: prefix,
    KAFKA_PARTITIONS: String(PARTITIONS),
    TRIPLINE_DATA_DIR: dataDirectory,
    LOG_LEVEL: 'error',
  });
  const kafka = new Kafka({ brokers: brokers.split(','), logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const admin = kafka.admin();
  await admin.connect();

  @Module({ imports: [ConfigModule, OperabilityModule, ClickHouseModule, TransportModule] })
  class Storage {}
  const storage = await NestFactory.createApplicationContext(Storage, { logger: ['error'] });
  const clickHouse = storage.get(ClickHouse);
  // Shared by every ingestor composed below; closed with the storage context at the end.
  const close = clickHouse.onApplicationShutdown.bind(clickHouse);
  clickHouse.onApplicationShutdown = async () => undefined;
  await migrateClickHouse(clickHouse.client, 'bench_raw', CLICKHOUSE_MIGRATIONS);

  const raw: number[] = [];
  const ingestor: number[] = [];
  for (let round = 0; round < rounds; round++) {
    // Alternate which goes first: the shared machine drifts during a run.
    for (const variant of round % 2 ? (['ingestor', 'raw'] as const) : (['raw', 'ingestor'] as const)) {
      const runId = `r${round}${variant}${randomUUID().slice(0, 6)}`;
      const topic = variant === 'raw' ? `${prefix}raw-${runId}` : `${prefix}inference.v1`;
      if (variant === 'raw')
        await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: PARTITIONS }] });
      await produce(
        producer,
        topic,
        events(total, runId, () => Date.now()),
      );
      const started = performance.now();
      if (variant === 'raw') {
        const stop = await rawFloor(kafka, clickHouse, topic);
        await waitForRows(clickHouse, 'bench_raw.inference_events', runId, total);
        raw.push(total / ((performance.now() - started) / 1000));
        await stop();
      } else {
        @Module({
          imports: [
            ConfigModule,
            OperabilityModule,
            TransportModule,
            sharedClickHouse(clickHouse),
            EventSinkModule,
          ],
        })
        class Ingestor {}
        process.env.INGEST_CONSUMER_GROUP = `bench-${runId}`;
        const app = await NestFactory.createApplicationContext(Ingestor, { logger: ['error'] });
        await app.init();
        await waitForRows(clickHouse, 'tripline.inference_events', runId, total);
        ingestor.push(total / ((performance.now() - started) / 1000));
        await app.close();
      }
    }
  }

  // Latency: produce at a steady rate while the ingestor runs; queryable = the row's insert time.
  @Module({
    imports: [
      ConfigModule,
      OperabilityModule,
      TransportModule,
      sharedClickHouse(clickHouse),
      EventSinkModule,
    ],
  })
  class LatencyIngestor {}
  process.env.INGEST_CONSUMER_GROUP = `bench-latency-${randomUUID()}`;
  const latencyRun = `lat${randomUUID().slice(0, 6)}`;
  const app = await NestFactory.createApplicationContext(LatencyIngestor, { logger: ['error'] });
  await app.init();
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const seconds = 10;
  let sent = 0;
  for (let second = 0; second < seconds; second++) {
    const tick = Date.now();
    for (let slice = 0; slice < 10; slice++) {
      const batch = events(rate / 10, latencyRun, () => Date.now(), sent);
      await producer.send({ topic: `${prefix}inference.v1`, acks: -1, messages: batch });
      sent += batch.length;
      const wait = tick + (slice + 1) * 100 - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
  await waitForRows(clickHouse, 'tripline.inference_events', latencyRun, sent);
  const [latency] = await (
    await clickHouse.client.query({
      query: `SELECT quantiles(0.5, 0.99)(dateDiff('millisecond', timestamp, ingested_at)) AS q FROM tripline.inference_events WHERE startsWith(event_id, {p:String})`,
      query_params: { p: latencyRun },
      format: 'JSONEachRow',
    })
  ).json<{ q: number[] }>();
  await app.close();
  await storage.close();
  await close();
  await producer.disconnect();
  await admin.disconnect();
  rmSync(dataDirectory, { recursive: true, force: true });
  if (stack) await (stack as unknown as { down(o: object): Promise<unknown> }).down({ lease: process.pid });

  const ingestorMedian = median(ingestor);
  const rawMedian = median(raw);
  process.stdout.write(
    `${JSON.stringify(
      {
        benchmark: 'ingest',
        events_per_round: total,
        rounds,
        partitions: PARTITIONS,
        ingestor_events_per_second: { median: Math.round(ingestorMedian), runs: ingestor.map(Math.round) },
        raw_floor_events_per_second: { median: Math.round(rawMedian), runs: raw.map(Math.round) },
        ratio_to_raw_floor: Number((ingestorMedian / rawMedian).toFixed(3)),
        produce_to_queryable_ms: {
          rate_events_per_second: rate,
          seconds,
          events: sent,
          p50: latency.q[0],
          p99: latency.q[1],
        },
        goals: { events_per_second: 50_000, ratio_to_raw_floor: 0.7 },
      },
      null,
      2,
    )}\n`,
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
