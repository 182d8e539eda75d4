import type { Kafka, LogEntry, Producer } from 'kafkajs';
import { topicName } from '@tripline/contracts';
import type { BufferedItem, SendOutcome, Transport } from './transport';
import type { KafkaTransportOptions, RecordKind, RecorderLogger } from './types';

type KafkaModule = typeof import('kafkajs');

/** kafkajs is an optional peer: loaded only when a Kafka transport is created. */
function loadKafkajs(): KafkaModule {
  try {
    return require('kafkajs') as KafkaModule;
  } catch (error) {
    throw new Error('the Kafka transport needs the kafkajs package: npm install kafkajs', { cause: error });
  }
}

/**
 * Publishes each item as one message keyed by model_id, so one model's events stay in order on one
 * partition, with an idempotent producer and acks from every in-sync replica.
 */
export class KafkaTransport implements Transport {
  private readonly kafkaModule: KafkaModule;
  private readonly kafka: Kafka;
  private readonly topics: Record<RecordKind, string>;
  private producer?: Producer;
  private connecting?: Promise<Producer>;

  constructor(
    options: KafkaTransportOptions,
    private readonly logger: RecorderLogger,
    retry: { baseMs: number; maxMs: number },
  ) {
    if (!Array.isArray(options.brokers) || options.brokers.length === 0)
      throw new TypeError('transport.brokers: expected at least one host:port');
    const kafkajs = loadKafkajs();
    this.kafkaModule = kafkajs;
    const prefix = options.topicPrefix ?? 'tripline.';
    this.topics = { events: topicName(prefix, 'inference'), feedback: topicName(prefix, 'feedback') };
    this.kafka = new kafkajs.Kafka({
      clientId: options.clientId ?? 'tripline-sdk',
      brokers: options.brokers,
      ssl: options.ssl,
      sasl: options.sasl as never,
      // kafkajs retries within one send; the recorder retries whole sends on top, with its own counters.
      retry: { retries: 2, initialRetryTime: retry.baseMs, maxRetryTime: retry.maxMs },
      logLevel: kafkajs.logLevel.WARN,
      logCreator: () => (entry: LogEntry) => {
        // Expected: retries are bounded on purpose so flush() ends, and consumers dedupe by event_id.
        if (entry.log.message.startsWith('Limiting retries for the idempotent producer')) return;
        const line = `kafka ${entry.namespace}: ${entry.log.message}`;
        if (entry.level === kafkajs.logLevel.ERROR) this.logger.error(line);
        else this.logger.warn(line);
      },
    });
  }

  overheadBytes(item: { key: string | null }): number {
    // A record's framing (length, attributes, deltas, header count) plus its key.
    return 24 + (item.key === null ? 0 : Buffer.byteLength(item.key));
  }

  async send(kind: RecordKind, batch: BufferedItem[]): Promise<SendOutcome> {
    let producer: Producer;
    try {
      producer = await this.connect();
    } catch (error) {
      return { ok: false, retriable: true, error: asError(error, 'connecting to Kafka failed') };
    }
    try {
      await producer.send({
        topic: this.topics[kind],
        acks: -1,
        messages: batch.map((item) => ({ key: item.key, value: item.json })),
      });
      return { ok: true, rejections: [] };
    } catch (error) {
      const types = protocolErrorTypes(error);
      const tooLarge = types.has('MESSAGE_TOO_LARGE') || types.has('RECORD_LIST_TOO_LARGE');
      return {
        ok: false,
        retriable: !tooLarge && isRetriable(error),
        tooLarge,
        error: asError(error, `publishing to ${this.topics[kind]} failed`),
      };
    }
  }

  private connect(): Promise<Producer> {
    if (this.producer) return Promise.resolve(this.producer);
    this.connecting ??= (async () => {
      const producer = this.kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        // Topics belong to the platform (the ingestor creates them with the configured partitions).
        allowAutoTopicCreation: false,
        createPartitioner: this.kafkaModule.Partitioners.DefaultPartitioner,
        retry: { retries: 2 },
      });
      try {
        await producer.connect();
      } catch (error) {
        // A half-open producer would keep sockets and timers alive; the next send starts afresh.
        await producer.disconnect().catch(() => undefined);
        throw error;
      } finally {
        this.connecting = undefined;
      }
      this.producer = producer;
      return producer;
    })();
    return this.connecting;
  }

  async close(): Promise<void> {
    const producer = this.producer ?? (await this.connecting?.catch(() => undefined));
    this.producer = undefined;
    await producer?.disconnect();
  }
}

function protocolErrorTypes(error: unknown, depth = 0): Set<string> {
  const types = new Set<string>();
  if (!error || typeof error !== 'object' || depth > 4) return types;
  const { type, cause, originalError, errors } = error as {
    type?: unknown;
    cause?: unknown;
    originalError?: unknown;
    errors?: unknown;
  };
  if (typeof type === 'string') types.add(type);
  for (const inner of [cause, originalError, ...(Array.isArray(errors) ? errors : [])])
    for (const found of protocolErrorTypes(inner, depth + 1)) types.add(found);
  return types;
}

/**
 * kafkajs marks each error retriable or not; "retries exceeded" is non-retriable only for its own
 * loop, and what it gave up on (a connection, a leader election) may well pass a little later.
 */
function isRetriable(error: unknown): boolean {
  if (!error || typeof error !== 'object') return true;
  const { name, retriable, errors } = error as { name?: unknown; retriable?: unknown; errors?: unknown };
  if (name === 'KafkaJSNumberOfRetriesExceeded') return true;
  if (Array.isArray(errors) && errors.length > 0) return errors.every(isRetriable);
  return retriable !== false;
}

function asError(error: unknown, context: string): Error {
  const message = error instanceof Error ? error.message : String(error);
  return new Error(`${context}: ${message}`, { cause: error });
}
