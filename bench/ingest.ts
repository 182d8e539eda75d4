/**
 * bench/ingest: sustained throughput and produce-to-queryable latency of the ingestor (Kafka →
 * validation → buffered ClickHouse inserts), next to two floors measured in the same run:
 * - `kafkajs` floor: a plain kafkajs consume loop (the ingestor's own client, its fetch sizes)
 *   writing each fetched batch straight to the same engine with the same row encoder and insert
 *   call (JSONCompactEachRow lines through ClickHouse.insertEncoded);
 * - `platformatic` floor: the same loop on @platformatic/kafka, the other pure-JS client in the
 *   registry, so the choice of client is measured rather than assumed.
 *
 *   node dist/bench/ingest.js [--events 100000] [--rounds 3] [--rates 5000,20000,50000] [--seconds 5]
 *
 * Fairness: every round of every variant gets its own topics (a fresh prefix) holding exactly the
 * round's events, produced before the clock starts, and is timed from consumer start to the last
 * row being queryable; variants rotate their order each round. The latency phase runs on fresh,
 * empty topics with the ingestor already consuming (proven by a probe event becoming queryable),
 * offers each rate for --seconds, waits for it to drain, and reports p50/p99 of ingested_at −
 * timestamp. Topic creation retries; the broker lease, consumers, topics and temp folders are
 * released on success and failure. Needs Kafka: KAFKA_BROKERS, or it starts the local stack.
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Global, Module, type DynamicModule, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { ClickHouse, ClickHouseModule, CLICKHOUSE_MIGRATIONS, migrateClickHouse } from '@tripline/clickhouse';
import { ConfigModule } from '@tripline/config';
import { TOPICS, topicName, type TopicKey } from '@tripline/contracts';
import { EventSinkModule, INFERENCE_COLUMNS, inferenceLine } from '@tripline/ingestion';
import { OperabilityModule } from '@tripline/server';
import { createTopicsWithLeaders, TransportModule } from '@tripline/transport';

const PARTITIONS = 6;
const FETCH = { maxBytesPerPartition: 4 * 1024 * 1024, maxBytes: 32 * 1024 * 1024 };

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? process.argv[index + 1] : fallback;
}

/** The median over rounds of the ratio within each round. */
function pairedRatio(numerator: number[], denominator: number[]): number {
  return Number(median(numerator.map((value, round) => value / denominator[round])).toFixed(3));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (message: string) => process.stderr.write(`ingest: ${message}\n`);

function events(
  count: number,
  runId: string,
  stamp: () => number,
  first = 0,
): { key: string; value: string }[] {
  return Array.from({ length: count }, (_, n) => n + first).map((i) => ({
    key: `${runId}-${i % 12}`,
    value: JSON.stringify({
      event_id: `${runId}-${i}`,
      model_id: `${runId}-${i % 12}`,
      timestamp: stamp(),
      input: { text: `the service was ${i % 3 ? 'great' : 'slow'} and the food arrived on time ${i}` },
      output: { label: i % 3 ? 'positive' : 'negative', scores: { positive: 0.81, negative: 0.19 } },
      latency_ms: 12 + (i % 40),
      metadata: { region: 'eu-west-1' },
    }),
  }));
}

async function produce(producer: Producer, topic: string, messages: { key: string; value: string }[]) {
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

/** Polls until at least `expected` rows are queryable; returns how many there were then. */
async function waitForRows(clickHouse: ClickHouse, table: string, prefix: string, expected: number) {
  const deadline = Date.now() + 600_000;
  for (;;) {
    const count = await countRows(clickHouse, table, prefix);
    if (count >= expected) return count;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${expected} rows in ${table}`);
    await sleep(20);
  }
}

const RAW_TABLE = 'bench_raw.inference_events';

/** The ingestor's insert path without its checks: the same encoded lines, the same insert call. */
async function insertRows(clickHouse: ClickHouse, values: string[]): Promise<void> {
  let body = '';
  for (const value of values) body += `${inferenceLine(JSON.parse(value))}\n`;
  await clickHouse.insertEncoded(RAW_TABLE, Buffer.from(body, 'utf8'), {
    format: 'JSONCompactEachRow',
    columns: INFERENCE_COLUMNS,
  });
}

/** kafkajs floor: fetch, parse, build rows, insert, commit — no validation, no dead letters. */
async function kafkajsFloor(
  kafka: Kafka,
  clickHouse: ClickHouse,
  topic: string,
): Promise<() => Promise<void>> {
  const consumer = kafka.consumer({ groupId: `raw-${randomUUID()}`, ...FETCH });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    partitionsConsumedConcurrently: PARTITIONS,
    eachBatch: async ({ batch }) =>
      insertRows(
        clickHouse,
        batch.messages.map((message) => message.value!.toString()),
      ),
  });
  return () => consumer.disconnect();
}

/**
 * @platformatic/kafka floor: the same rows and insert. Its stream yields single messages, so they
 * are gathered for one turn of the event loop (everything one fetch delivered) and inserted as a
 * batch while the stream is paused; offsets are committed by its autocommit, as kafkajs's are.
 */
async function platformaticFloor(
  brokers: string[],
  clickHouse: ClickHouse,
  topic: string,
): Promise<() => Promise<void>> {
  // @platformatic/kafka 2.x targets Node 22 and calls Promise.withResolvers, which Node 20 lacks.
  withResolversShim();
  // An ES module: loaded with import(), which node16 module resolution keeps as a real import.
  const { Consumer, MessagesStreamModes, stringDeserializers } = await import('@platformatic/kafka');
  const consumer = new Consumer({
    groupId: `raw-fast-${randomUUID()}`,
    clientId: 'tripline-bench',
    bootstrapBrokers: brokers,
    deserializers: stringDeserializers,
    ...FETCH,
    maxWaitTime: 100,
  });
  const stream = await consumer.consume({
    topics: [topic],
    mode: MessagesStreamModes.EARLIEST,
    autocommit: 100,
  });
  let pending: string[] = [];
  let scheduled = false;
  let failure: unknown;
  const flush = async () => {
    scheduled = false;
    const values = pending;
    pending = [];
    stream.pause();
    try {
      await insertRows(clickHouse, values);
    } catch (error) {
      failure = error;
    }
    stream.resume();
  };
  stream.on('data', (message: { value: string }) => {
    pending.push(message.value);
    if (!scheduled) {
      scheduled = true;
      setImmediate(() => void flush());
    }
  });
  return async () => {
    await stream.close();
    await consumer.close(true);
    if (failure) throw failure;
  };
}

/** Promise.withResolvers (Node 22) for @platformatic/kafka on Node 20; a no-op where it exists. */
function withResolversShim(): void {
  if ('withResolvers' in Promise) return;
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers<T>() {
      let resolve!: (value: T) => void;
      let reject!: (reason?: unknown) => void;
      const promise = new Promise<T>((yes, no) => {
        resolve = yes;
        reject = no;
      });
      return { promise, resolve, reject };
    },
  });
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

/** An ingestor on the given topic prefix, as the ingestor app composes it. */
async function startIngestor(clickHouse: ClickHouse, prefix: string): Promise<INestApplicationContext> {
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
  process.env.KAFKA_TOPIC_PREFIX = prefix;
  process.env.INGEST_CONSUMER_GROUP = `bench-${randomUUID()}`;
  const app = await NestFactory.createApplicationContext(Ingestor, { logger: ['error'] });
  await app.init();
  return app;
}

function allTopics(prefix: string): string[] {
  return (Object.keys(TOPICS) as TopicKey[]).map((key) => topicName(prefix, key));
}

const VARIANTS = ['ingestor', 'kafkajs', 'platformatic'] as const;
type Variant = (typeof VARIANTS)[number];

async function main(): Promise<void> {
  const total = Number(argument('events', '200000'));
  const rounds = Number(argument('rounds', '5'));
  const rates = argument('rates', '5000,20000,50000').split(',').map(Number);
  const seconds = Number(argument('seconds', '5'));
  const cleanups: { name: string; run: () => Promise<unknown> }[] = [];
  const onExit = (name: string, run: () => Promise<unknown>) => cleanups.unshift({ name, run });
  const createdTopics: string[] = [];
  const signal = () => void cleanUp().finally(() => process.exit(1));
  process.once('SIGTERM', signal);
  process.once('SIGINT', signal);
  let cleaned = false;
  async function cleanUp(): Promise<void> {
    if (cleaned) return;
    cleaned = true;
    for (const { name, run } of cleanups) {
      try {
        await run();
      } catch (error) {
        log(`cleaning up ${name} failed: ${String(error)}`);
      }
    }
  }

  try {
    let brokers = process.env.KAFKA_BROKERS;
    if (!brokers) {
      const stack = require(path.resolve(__dirname, '..', '..', 'deploy', 'local', 'stack.js')) as {
        up(options: object): Promise<{ kafkaBrokers: string }>;
        down(options: object): Promise<unknown>;
      };
      // The lease is registered before `up` returns, so a failing start still releases it.
      onExit('the local stack lease', () => stack.down({ lease: process.pid }));
      brokers = (await stack.up({ quiet: true, lease: process.pid })).kafkaBrokers;
    }
    const dataDirectory = mkdtempSync(path.join(tmpdir(), 'tripline-bench-'));
    onExit('the data folder', async () => rmSync(dataDirectory, { recursive: true, force: true }));
    const base = `bench${Date.now().toString(36)}`;
    Object.assign(process.env, {
      KAFKA_BROKERS: brokers,
      KAFKA_PARTITIONS: String(PARTITIONS),
      TRIPLINE_DATA_DIR: dataDirectory,
      LOG_LEVEL: 'error',
    });
    const kafka = new Kafka({ brokers: brokers.split(','), logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    onExit('the producer', () => producer.disconnect());
    const admin = kafka.admin();
    await admin.connect();
    onExit('the admin client', () => admin.disconnect());
    onExit('the bench topics', async () => {
      if (createdTopics.length > 0) await admin.deleteTopics({ topics: createdTopics, timeout: 30_000 });
    });
    const newTopics = async (topics: string[]) => {
      createdTopics.push(...topics);
      await createTopicsWithLeaders(
        admin,
        topics.map((topic) => ({ topic, numPartitions: PARTITIONS })),
        {
          onRetry: (reason, attempt, delay) =>
            log(
              `creating ${topics.length} topic(s): attempt ${attempt} failed, retrying in ${delay} ms: ${reason}`,
            ),
        },
      );
    };

    @Module({ imports: [ConfigModule, OperabilityModule, ClickHouseModule, TransportModule] })
    class Storage {}
    process.env.KAFKA_TOPIC_PREFIX = `${base}.storage.`;
    const storage = await NestFactory.createApplicationContext(Storage, { logger: ['error'] });
    const clickHouse = storage.get(ClickHouse);
    // Shared by every ingestor composed below; closed with the storage context at the end.
    const close = clickHouse.onApplicationShutdown.bind(clickHouse);
    clickHouse.onApplicationShutdown = async () => undefined;
    onExit('the storage context', async () => {
      await storage.close();
      await close();
    });
    await migrateClickHouse(clickHouse.client, 'bench_raw', CLICKHOUSE_MIGRATIONS);

    const throughput: Record<Variant, number[]> = { ingestor: [], kafkajs: [], platformatic: [] };
    const withStartup: Record<Variant, number[]> = { ingestor: [], kafkajs: [], platformatic: [] };
    const startup: Record<Variant, number[]> = { ingestor: [], kafkajs: [], platformatic: [] };
    for (let round = 0; round < rounds; round++) {
      // Rotate the order each round: the shared machine drifts during a run.
      const order = VARIANTS.map((_, i) => VARIANTS[(i + round) % VARIANTS.length]);
      for (const variant of order) {
        const runId = `r${round}${variant.slice(0, 3)}${randomUUID().slice(0, 6)}`;
        const prefix = `${base}.${runId}.`;
        const topics = variant === 'ingestor' ? allTopics(prefix) : [`${prefix}raw`];
        await newTopics(topics);
        const topic = variant === 'ingestor' ? topicName(prefix, 'inference') : topics[0];
        await produce(
          producer,
          topic,
          events(total, runId, () => Date.now()),
        );
        log(`round ${round + 1}/${rounds}: ${variant}, ${total} events on ${topic}`);
        const started = performance.now();
        let stop: () => Promise<unknown>;
        if (variant === 'ingestor') {
          const app = await startIngestor(clickHouse, prefix);
          stop = () => app.close();
        } else if (variant === 'kafkajs') {
          stop = await kafkajsFloor(kafka, clickHouse, topic);
        } else {
          stop = await platformaticFloor(brokers.split(','), clickHouse, topic);
        }
        try {
          const table = variant === 'ingestor' ? 'tripline.inference_events' : RAW_TABLE;
          // Sustained: from the first rows queryable to the last, so that starting a consumer
          // (an ingestor composes a Nest context and joins a group over every sink topic, a floor
          // joins one topic) is not charged as throughput; the rate with start-up is printed too.
          const first = await waitForRows(clickHouse, table, runId, 1);
          const flowing = performance.now();
          await waitForRows(clickHouse, table, runId, total);
          const finished = performance.now();
          const rate = (total - first) / ((finished - flowing) / 1000);
          throughput[variant].push(rate);
          withStartup[variant].push(total / ((finished - started) / 1000));
          startup[variant].push(flowing - started);
          log(
            `round ${round + 1}/${rounds}: ${variant} ${Math.round(rate)} events/s sustained, ` +
              `first rows after ${Math.round(flowing - started)} ms`,
          );
        } finally {
          await stop();
        }
      }
    }

    // Latency on fresh, empty topics, the ingestor already consuming.
    const latencyPrefix = `${base}.latency.`;
    await newTopics(allTopics(latencyPrefix));
    const app = await startIngestor(clickHouse, latencyPrefix);
    onExit('the latency ingestor', () => app.close());
    const inference = topicName(latencyPrefix, 'inference');
    const probe = `probe${randomUUID().slice(0, 6)}`;
    await producer.send({ topic: inference, acks: -1, messages: events(1, probe, () => Date.now()) });
    await waitForRows(clickHouse, 'tripline.inference_events', probe, 1);
    const latency: Record<string, unknown>[] = [];
    for (const rate of rates) {
      const runId = `lat${rate}x${randomUUID().slice(0, 6)}`;
      // Slices of 20 ms: one send per slice, timestamps taken as each batch is built.
      const sliceMs = 20;
      const perSlice = Math.max(1, Math.round((rate * sliceMs) / 1000));
      const slices = Math.round((seconds * 1000) / sliceMs);
      let sent = 0;
      const start = Date.now();
      // At most a few sends in flight: a producer that falls behind the offered rate shows it in
      // the achieved rate instead of queueing thousands of requests on kafkajs's lock (which fails
      // with KafkaJSLockTimeout at 50k/s on a loaded machine).
      const inFlight = new Set<Promise<unknown>>();
      for (let slice = 0; slice < slices; slice++) {
        const batch = events(perSlice, runId, () => Date.now(), sent);
        const send = producer.send({ topic: inference, acks: -1, messages: batch });
        inFlight.add(send);
        void send.then(
          () => inFlight.delete(send),
          () => undefined,
        );
        if (inFlight.size >= 8) await Promise.race(inFlight);
        sent += batch.length;
        const wait = start + (slice + 1) * sliceMs - Date.now();
        if (wait > 0) await sleep(wait);
      }
      await Promise.all(inFlight);
      const offeredSeconds = (Date.now() - start) / 1000;
      await waitForRows(clickHouse, 'tripline.inference_events', runId, sent);
      const [row] = await (
        await clickHouse.client.query({
          query: `SELECT quantiles(0.5, 0.99)(dateDiff('millisecond', timestamp, ingested_at)) AS q FROM tripline.inference_events WHERE startsWith(event_id, {p:String})`,
          query_params: { p: runId },
          format: 'JSONEachRow',
        })
      ).json<{ q: number[] }>();
      latency.push({
        offered_events_per_second: rate,
        achieved_offered_events_per_second: Math.round(sent / offeredSeconds),
        seconds,
        events: sent,
        p50_ms: row.q[0],
        p99_ms: row.q[1],
      });
      log(`latency at ${rate}/s: p50 ${row.q[0]} ms, p99 ${row.q[1]} ms`);
    }

    const medians = Object.fromEntries(
      VARIANTS.map((variant) => [variant, median(throughput[variant])]),
    ) as Record<Variant, number>;
    const runs = (variant: Variant) => ({
      median: Math.round(medians[variant]),
      runs: throughput[variant].map(Math.round),
    });
    process.stdout.write(
      `${JSON.stringify(
        {
          benchmark: 'ingest',
          events_per_round: total,
          rounds,
          partitions: PARTITIONS,
          ingestor_events_per_second: runs('ingestor'),
          floors: {
            kafkajs: { ...runs('kafkajs'), client: "kafkajs 2.2.4 (the ingestor's client)" },
            platformatic: { ...runs('platformatic'), client: '@platformatic/kafka 2.12.1' },
          },
          // The median of each round's own ratio: the variants of a round run back to back, so a
          // burst of load from another session hits them alike; a ratio of medians over rounds can
          // pair the ingestor's quiet round with a floor's busy one.
          ratio_to_kafkajs_floor: pairedRatio(throughput.ingestor, throughput.kafkajs),
          ratio_to_platformatic_floor: pairedRatio(throughput.ingestor, throughput.platformatic),
          with_startup: {
            events_per_second: Object.fromEntries(
              VARIANTS.map((variant) => [variant, Math.round(median(withStartup[variant]))]),
            ),
            first_rows_after_ms: Object.fromEntries(
              VARIANTS.map((variant) => [variant, Math.round(median(startup[variant]))]),
            ),
            ratio_to_kafkajs_floor: pairedRatio(withStartup.ingestor, withStartup.kafkajs),
          },
          ratio_of_medians: {
            kafkajs: Number((medians.ingestor / medians.kafkajs).toFixed(3)),
            platformatic: Number((medians.ingestor / medians.platformatic).toFixed(3)),
          },
          produce_to_queryable: latency,
          goals: { events_per_second: 50_000, ratio_to_raw_floor: 0.8 },
        },
        null,
        2,
      )}\n`,
    );
  } finally {
    await cleanUp();
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
