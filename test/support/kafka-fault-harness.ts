import path from 'node:path';
import type { INestApplication } from '@nestjs/common';
import type { Producer } from 'kafkajs';
import { ClickHouse } from '@tripline/clickhouse';
import { EventSink } from '@tripline/ingestion';
import { Metrics } from '@tripline/server';
import { startIngestorInProcess } from './ingestion';
import { eventually, temporaryDirectory, uniqueName } from './services';
import {
  groupCaughtUpOn,
  patientProducer,
  startDedicatedKafka,
  type DedicatedKafka,
} from './dedicated-services';

/** The engine the ingestor writes; the harness closes it after the app, not the app itself. */
class SharedClickHouse extends ClickHouse {
  override async onApplicationShutdown(): Promise<void> {}
}

export interface KafkaFaultHarness {
  kafka: DedicatedKafka;
  ingestor: INestApplication;
  /** Idempotent, and patient enough to wait out a broker outage. */
  producer: Producer;
  /** The topic prefix of this harness (KAFKA_TOPIC_PREFIX). */
  prefix: string;
  /** The inference topic the ingestor consumes. */
  topic: string;
  /** Rows and distinct event ids of a model in ClickHouse, after deduplication (FINAL). */
  stored(modelId: string): Promise<{ rows: number; ids: number }>;
  /** The ingestor's count of inference rows written to ClickHouse. */
  rowsWritten(): Promise<number>;
  /** Waits until the ingestor's group has committed the whole inference topic. */
  caughtUp(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * An ingestor composed in-process (the modules of apps/ingestor) consuming a dedicated broker that
 * the test may stop, kill and restart, writing an embedded ClickHouse the test can query.
 */
export async function startKafkaFaultHarness(): Promise<KafkaFaultHarness> {
  const scratch = temporaryDirectory('tripline-kafka-fault-');
  const clickHouse = new SharedClickHouse({
    database: 'tripline',
    dataDirectory: path.join(scratch.path, 'clickhouse'),
  });
  const prefix = `${uniqueName('faults')}.`;
  const topic = `${prefix}inference.v1`;
  let kafka: DedicatedKafka | undefined;
  let ingestor: INestApplication | undefined;
  let producer: Producer | undefined;
  const close = async () => {
    await producer?.disconnect().catch(() => undefined);
    await ingestor?.close();
    await kafka?.remove();
    await clickHouse.close();
    scratch.remove();
  };
  try {
    kafka = await startDedicatedKafka();
    ingestor = await startIngestorInProcess(
      {
        KAFKA_BROKERS: kafka.brokers.join(','),
        KAFKA_TOPIC_PREFIX: prefix,
        KAFKA_PARTITIONS: '3',
        TRIPLINE_DATA_DIR: scratch.path,
        INGEST_BATCH_MAX_ROWS: '500',
        INGEST_BATCH_MAX_WAIT_MS: '50',
      },
      clickHouse,
    );
    producer = await patientProducer(kafka.brokers);
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
  const app = ingestor;
  const broker = kafka;
  return {
    kafka: broker,
    ingestor: app,
    producer,
    prefix,
    topic,
    stored: async (modelId) => {
      const result = await clickHouse.client.query({
        query:
          'SELECT count() AS n, uniqExact(event_id) AS ids FROM tripline.inference_events FINAL WHERE model_id = {m:String}',
        query_params: { m: modelId },
        format: 'JSONEachRow',
      });
      const [row] = await result.json<{ n: string; ids: string }>();
      return { rows: Number(row.n), ids: Number(row.ids) };
    },
    rowsWritten: async () => {
      const counter = await app
        .get(Metrics)
        .counter({ name: 'tripline_ingest_rows_written_total', help: '', labelNames: ['table'] })
        .get();
      return counter.values.find((value) => value.labels.table === 'inference_events')?.value ?? 0;
    },
    caughtUp: async (timeoutMs = 90_000) => {
      await eventually(
        () =>
          groupCaughtUpOn(broker.client(), app.get(EventSink).groupId, [topic]).then((done) =>
            done ? true : undefined,
          ),
        timeoutMs,
        500,
      );
    },
    close,
  };
}
