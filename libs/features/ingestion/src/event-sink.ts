import { createHash } from 'node:crypto';
import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { z } from 'zod';
import { ClickHouse, type EncodedRows } from '@tripline/clickhouse';
import { ENVIRONMENT, type Environment } from '@tripline/config';
import {
  acceptInferenceEvent,
  alertEventSchema,
  driftMetricSchema,
  evaluationRunSchema,
  evaluationSamplesSchema,
  feedbackSchema,
  inferenceEventSchema,
  modelSettingsSchema,
  validateJson,
  type AcceptanceCheck,
  type FieldError,
  type TopicKey,
} from '@tripline/contracts';
import { Metrics } from '@tripline/server';
import { EventBus, type BusMessage, type ConsumerBatch, type Subscription } from '@tripline/transport';
import {
  alertEventRow,
  driftMetricRow,
  evaluationRunRow,
  evaluationSampleRows,
  feedbackRow,
  INFERENCE_COLUMNS,
  inferenceLine,
  modelSettingsRow,
} from './rows';
import { TableBuffer } from './table-buffer';

interface Route {
  table: string;
  what: string;
  schema: z.ZodType;
  /** A precompiled check of the schema for the common valid message; the schema judges the rest. */
  accept?: AcceptanceCheck<never>;
  /** The lines of the insert body for one valid message (one, or one per sample), in `encoding`. */
  encode: (value: never) => string | string[];
  encoding: EncodedRows;
}

const EACH_ROW: EncodedRows = { format: 'JSONEachRow' };
const asLine =
  <T>(toRow: (value: T) => Record<string, unknown>) =>
  (value: T) =>
    JSON.stringify(toRow(value));

/**
 * A row as the sink buffers it: already one line of the insert body, encoded where its message was
 * validated, so a flush only joins bytes. Inference rows keep their key for the first-write rule.
 */
interface EncodedRow {
  line: string;
  modelId?: string;
  eventId?: string;
}

/** Which table each consumed topic lands in, and how its messages are checked. */
const ROUTES: Partial<Record<TopicKey, Route>> = {
  inference: {
    table: 'inference_events',
    what: 'inference event',
    schema: inferenceEventSchema,
    accept: acceptInferenceEvent as AcceptanceCheck<never>,
    encode: inferenceLine,
    encoding: { format: 'JSONCompactEachRow', columns: INFERENCE_COLUMNS },
  },
  feedback: {
    table: 'feedback',
    what: 'feedback',
    schema: feedbackSchema,
    encode: asLine(feedbackRow),
    encoding: EACH_ROW,
  },
  evaluations: {
    table: 'eval_runs',
    what: 'evaluation run',
    schema: evaluationRunSchema,
    encode: asLine(evaluationRunRow),
    encoding: EACH_ROW,
  },
  evaluationSamples: {
    table: 'eval_samples',
    what: 'evaluation samples',
    schema: evaluationSamplesSchema,
    encode: (message: never) => evaluationSampleRows(message).map((row) => JSON.stringify(row)),
    encoding: EACH_ROW,
  },
  metrics: {
    table: 'drift_metrics',
    what: 'drift metric',
    schema: driftMetricSchema,
    encode: asLine(driftMetricRow),
    encoding: EACH_ROW,
  },
  alerts: {
    table: 'alert_events',
    what: 'alert event',
    schema: alertEventSchema,
    encode: asLine(alertEventRow),
    encoding: EACH_ROW,
  },
  models: {
    table: 'model_settings',
    what: 'model settings',
    schema: modelSettingsSchema,
    encode: asLine(modelSettingsRow),
    encoding: EACH_ROW,
  },
};

export const SINK_TOPICS = Object.keys(ROUTES) as TopicKey[];

/**
 * Originals above this are kept as a prefix with their size and digest: a dead letter must fit
 * under the broker's message limit (1 MB by default) however large the refused message was.
 */
export const DEAD_LETTER_ORIGINAL_LIMIT = 256 * 1024;

/** The dead-letter record: the original bytes, why they were refused, and where they came from. */
export function deadLetter(message: BusMessage, what: string, errors: FieldError[]) {
  const truncated = message.value.length > DEAD_LETTER_ORIGINAL_LIMIT;
  return {
    reason: `invalid ${what}: ${errors.map((error) => `${error.field}: ${error.message}`).join('; ')}`,
    errors,
    source: {
      topic: message.topic,
      partition: message.partition,
      offset: message.offset,
      key: message.key,
      timestamp: message.timestamp,
    },
    original_base64: message.value.subarray(0, DEAD_LETTER_ORIGINAL_LIMIT).toString('base64'),
    ...(truncated
      ? {
          original_truncated: true,
          original_bytes: message.value.length,
          original_sha256: createHash('sha256').update(message.value).digest('hex'),
        }
      : {}),
    rejected_at: new Date().toISOString(),
    rejected_by: 'ingestor',
  };
}

/**
 * The one writer of ClickHouse. Consumes the event and history topics, validates every message,
 * dead-letters what is invalid, and buffers the rest per table; a batch's offsets are committed
 * only after the insert holding its rows succeeded. While ClickHouse is down, handlers fail and
 * the bus redelivers with backoff: consumption pauses, nothing is skipped.
 */
@Injectable()
export class EventSink implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('EventSink');
  private readonly buffers = new Map<string, TableBuffer<EncodedRow>>();
  private readonly routesByTopic = new Map<string, Route>();
  private subscription?: Subscription;
  private lagTimer?: NodeJS.Timeout;
  readonly groupId: string;

  private readonly written;
  private readonly deadLettered;
  private readonly writeSeconds;
  private readonly writeFailures;
  private readonly repeatsDropped;
  private readonly consumerLag;

  constructor(
    private readonly bus: EventBus,
    private readonly clickHouse: ClickHouse,
    @Inject(ENVIRONMENT) private readonly environment: Environment,
    metrics: Metrics,
  ) {
    this.groupId = environment.INGEST_CONSUMER_GROUP ?? `${environment.KAFKA_TOPIC_PREFIX}ingestor`;
    const tables = Object.values(ROUTES).map((route) => route.table);
    this.written = metrics.counter(
      {
        name: 'tripline_ingest_rows_written_total',
        help: 'Rows written to ClickHouse',
        labelNames: ['table'],
      },
      { table: tables },
    );
    this.deadLettered = metrics.counter(
      {
        name: 'tripline_ingest_dead_letters_total',
        help: 'Messages sent to the dead-letter topic, by the topic they were consumed from',
        labelNames: ['topic'],
      },
      { topic: SINK_TOPICS.map((topic) => bus.topicName(topic)) },
    );
    this.writeSeconds = metrics.histogram({
      name: 'tripline_ingest_batch_write_seconds',
      help: 'Duration of one batch insert into ClickHouse',
      labelNames: ['table'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    });
    this.writeFailures = metrics.counter(
      {
        name: 'tripline_ingest_write_failures_total',
        help: 'Failed batch inserts (retried)',
        labelNames: ['table'],
      },
      { table: tables },
    );
    this.repeatsDropped = metrics.counter({
      name: 'tripline_ingest_repeated_events_total',
      help: 'Inference events not written because their event_id was already stored (the first write is kept)',
    });
    // One name per unit: a sum across units would add messages to bytes.
    this.consumerLag = {
      messages: metrics.gauge({
        name: 'tripline_consumer_lag_messages',
        help: 'Kafka messages not yet committed by the ingestor, per topic and partition',
        labelNames: ['topic', 'partition'],
      }),
      bytes: metrics.gauge({
        name: 'tripline_consumer_lag_bytes',
        help: 'Bytes of the embedded log not yet committed by the ingestor, per topic and partition',
        labelNames: ['topic', 'partition'],
      }),
    };
    for (const [key, route] of Object.entries(ROUTES) as [TopicKey, Route][]) {
      this.routesByTopic.set(bus.topicName(key), route);
      this.buffers.set(
        route.table,
        new TableBuffer((rows) => this.insert(route, rows), {
          maxRows: environment.INGEST_BATCH_MAX_ROWS,
          maxWaitMs: environment.INGEST_BATCH_MAX_WAIT_MS,
        }),
      );
    }
  }

  async onApplicationBootstrap(): Promise<void> {
    this.subscription = await this.bus.subscribe({
      groupId: this.groupId,
      topics: SINK_TOPICS,
      fromBeginning: true,
      concurrency: Math.max(1, this.environment.KAFKA_PARTITIONS),
      handleBatch: (batch) => this.handle(batch),
      onRetry: (error, attempt, delay) =>
        this.logger.warn(`batch not stored (attempt ${attempt}), retrying in ${delay} ms: ${String(error)}`),
    });
    this.lagTimer = setInterval(() => void this.recordLag(), 10_000);
    this.lagTimer.unref();
    this.logger.log(
      `consuming ${SINK_TOPICS.map((topic) => this.bus.topicName(topic)).join(', ')} as group ${this.groupId}`,
    );
  }

  /** Drain: stop fetching, let in-flight batches finish their inserts, flush what is left. */
  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.lagTimer);
    const stopping = this.subscription?.stop();
    await Promise.all([...this.buffers.values()].map((buffer) => buffer.flush()));
    await stopping;
    await Promise.all([...this.buffers.values()].map((buffer) => buffer.flush()));
  }

  private async handle(batch: ConsumerBatch): Promise<void> {
    const route = this.routesByTopic.get(batch.topic);
    if (!route) throw new Error(`no table for topic ${batch.topic}`);
    const rows: EncodedRow[] = [];
    const rejected: ReturnType<typeof deadLetter>[] = [];
    const keyed = route.table === 'inference_events';
    for (const message of batch.messages) {
      const result = validateJson(route.schema, message.value, route.accept);
      if (!result.ok) {
        rejected.push(deadLetter(message, route.what, result.errors));
        continue;
      }
      const line = route.encode(result.value as never);
      if (Array.isArray(line)) for (const each of line) rows.push({ line: each });
      else if (!keyed) rows.push({ line });
      else {
        const { model_id: modelId, event_id: eventId } = result.value as {
          model_id: string;
          event_id: string;
        };
        rows.push({ line, modelId, eventId });
      }
    }
    if (rejected.length > 0) {
      // One publish: the bus cuts it into requests the broker accepts (produceRequests).
      await this.bus.publish(
        'dlq',
        rejected.map((letter) => ({
          key: letter.source.key,
          value: JSON.stringify(letter),
          headers: { 'x-tripline-reason': letter.reason.slice(0, 512) },
        })),
      );
      this.deadLettered.inc({ topic: batch.topic }, rejected.length);
    }
    await this.buffers.get(route.table)!.add(rows);
  }

  /**
   * An inference event is written once: the first write of an event_id is the record, and a
   * re-sent event_id (a retry, or a client reusing an id with another label or timestamp) is
   * dropped, not stored over it. The table's ReplacingMergeTree keeps the latest ingested row, so
   * the rule is kept here, by the one writer: inserts of a table are serialised, and events are
   * keyed by model_id, so one event_id always reaches the same writer.
   */
  private async firstWrites(rows: EncodedRow[]): Promise<EncodedRow[]> {
    // Identifiers hold no control characters, so a NUL cannot occur inside either part.
    const key = (modelId: unknown, eventId: unknown) => `${String(modelId)}\u0000${String(eventId)}`;
    const unique = new Map<string, EncodedRow>();
    const ids = new Set<string>();
    for (const row of rows) {
      const id = key(row.modelId, row.eventId);
      if (!unique.has(id)) {
        unique.set(id, row);
        ids.add(row.eventId!);
      }
    }
    const stored = new Set<string>();
    const idList = [...ids];
    // model_id leads the table's sort key: naming the batch's models lets the engine read only
    // their granules, where event_id alone scanned the whole table on every flush.
    const models = [...new Set(rows.map((row) => row.modelId!))];
    for (let start = 0; start < idList.length; start += 10_000) {
      const result = await this.clickHouse.client.query({
        query: `SELECT DISTINCT model_id, event_id FROM ${this.clickHouse.table('inference_events')}
                WHERE model_id IN {models:Array(String)} AND event_id IN {ids:Array(String)}`,
        query_params: { models, ids: idList.slice(start, start + 10_000) },
        format: 'JSONEachRow',
      });
      for (const row of await result.json<{ model_id: string; event_id: string }>())
        stored.add(key(row.model_id, row.event_id));
    }
    const fresh: EncodedRow[] = [];
    for (const [id, row] of unique) if (!stored.has(id)) fresh.push(row);
    this.repeatsDropped.inc(rows.length - fresh.length);
    return fresh;
  }

  private async insert(route: Route, rows: EncodedRow[]): Promise<void> {
    const table = route.table;
    const stop = this.writeSeconds.startTimer({ table });
    try {
      if (table === 'inference_events') rows = await this.firstWrites(rows);
      if (rows.length === 0) {
        stop();
        return;
      }
      let body = '';
      for (const row of rows) body += `${row.line}\n`;
      await this.clickHouse.insertEncoded(
        this.clickHouse.table(table),
        Buffer.from(body, 'utf8'),
        route.encoding,
      );
      stop();
      this.written.inc({ table }, rows.length);
    } catch (error) {
      this.writeFailures.inc({ table });
      throw error;
    }
  }

  private async recordLag(): Promise<void> {
    try {
      for (const lag of await this.bus.lag(this.groupId, SINK_TOPICS)) {
        this.consumerLag[lag.unit].set({ topic: lag.topic, partition: String(lag.partition) }, lag.lag);
      }
    } catch (error) {
      this.logger.debug(`consumer lag unavailable: ${String(error)}`);
    }
  }
}
