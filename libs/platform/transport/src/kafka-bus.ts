import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Kafka, logLevel, type Admin, type Consumer, type Producer, type LogEntry } from 'kafkajs';
import { TOPICS, topicName, type TopicKey } from '@tripline/contracts';
import { backoffDelay, sleep } from '@tripline/retry';
import {
  EventBus,
  type BusHealth,
  type BusMessage,
  type OutgoingMessage,
  type PartitionLag,
  type Subscription,
  type SubscriptionOptions,
} from './event-bus';
import { describeKafkaLog } from './kafka-log';
import { produceRequests } from './produce-requests';
import { createTopicsWithLeaders } from './topic-creation';

export interface KafkaBusOptions {
  brokers: string[];
  clientId: string;
  topicPrefix: string;
  partitions: number;
  replicationFactor: number;
}

const KAFKAJS_LEVELS: Record<number, 'error' | 'warn' | 'log' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'log',
  [logLevel.DEBUG]: 'debug',
};

export class KafkaBus extends EventBus implements OnApplicationShutdown {
  readonly kind = 'kafka' as const;
  private readonly logger = new Logger('Kafka');
  private readonly kafka: Kafka;
  private readonly admin: Admin;
  private readonly producer: Producer;
  private readonly subscriptions = new Set<Subscription>();
  private producerReady?: Promise<void>;

  constructor(private readonly options: KafkaBusOptions) {
    super();
    this.kafka = new Kafka({
      clientId: options.clientId,
      brokers: options.brokers,
      retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 10_000 },
      logLevel: logLevel.WARN,
      logCreator: () => (entry: LogEntry) => {
        const method = KAFKAJS_LEVELS[entry.level] ?? 'log';
        this.logger[method](describeKafkaLog(entry.log as Record<string, unknown>, entry.namespace));
      },
    });
    this.admin = this.kafka.admin();
    // Idempotent, acks=all: a retried send after a broker hiccup never lands twice in the log.
    this.producer = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
    });
  }

  topicName(topic: TopicKey): string {
    return topicName(this.options.topicPrefix, topic);
  }

  /**
   * Creates every topic of the design that is missing (existing topics are left as they are) and
   * resolves once every partition has a leader, so a publish or subscribe right after it finds them.
   */
  async ensureTopics(): Promise<void> {
    await this.admin.connect();
    const created = await createTopicsWithLeaders(
      this.admin,
      (Object.keys(TOPICS) as TopicKey[]).map((key) => ({
        topic: this.topicName(key),
        numPartitions: this.options.partitions,
        replicationFactor: this.options.replicationFactor,
      })),
      {
        onRetry: (reason, attempt, delay) =>
          this.logger.warn(`topics not ready (attempt ${attempt}), retrying in ${delay} ms: ${reason}`),
      },
    );
    if (created.length > 0) this.logger.log(`created topics ${created.join(', ')}`);
  }

  async publish(topic: TopicKey, messages: OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return;
    this.producerReady ??= this.producer.connect();
    try {
      await this.producerReady;
    } catch (error) {
      this.producerReady = undefined;
      throw error;
    }
    // In order, one request at a time (the producer allows one in flight): a request's batch per
    // partition stays under the broker's message size limit however many messages are published.
    for (const request of produceRequests(messages))
      await this.producer.send({
        topic: this.topicName(topic),
        acks: -1,
        messages: request.map((message) => ({
          key: message.key ?? null,
          value: message.value,
          headers: message.headers,
        })),
      });
  }

  async subscribe(options: SubscriptionOptions): Promise<Subscription> {
    const consumer: Consumer = this.kafka.consumer({
      groupId: options.groupId,
      allowAutoTopicCreation: false,
      sessionTimeout: 30_000,
      heartbeatInterval: 3_000,
      // Larger fetches mean fewer fetch-handle-commit round trips per partition.
      maxBytesPerPartition: 4 * 1024 * 1024,
      maxBytes: 32 * 1024 * 1024,
    });
    const stopping = new AbortController();
    await consumer.connect();
    await consumer.subscribe({
      topics: options.topics.map((key) => this.topicName(key)),
      fromBeginning: options.fromBeginning ?? false,
    });
    await consumer.run({
      partitionsConsumedConcurrently: options.concurrency ?? 1,
      eachBatchAutoResolve: false,
      autoCommit: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        if (batch.messages.length === 0) return;
        const messages: BusMessage[] = batch.messages.map((message) => ({
          topic: batch.topic,
          partition: batch.partition,
          offset: message.offset,
          key: message.key ? message.key.toString('utf8') : null,
          value: message.value ?? Buffer.alloc(0),
          headers: decodeHeaders(message.headers),
          timestamp: Number(message.timestamp),
        }));
        for (let attempt = 1; ; attempt++) {
          try {
            await options.handleBatch({ topic: batch.topic, partition: batch.partition, messages });
            break;
          } catch (error) {
            // Retry in place rather than crash the consumer: the partition waits, nothing is skipped.
            // A rebalance or shutdown ends the wait without committing, so the batch is redelivered.
            // Capped well under the session timeout: heartbeats go out between attempts.
            const delay = backoffDelay(attempt, 200, 10_000);
            options.onRetry?.(error, attempt, delay);
            await sleep(delay, stopping.signal);
            if (!isRunning() || isStale() || stopping.signal.aborted) return;
            await heartbeat();
          }
        }
        const last = batch.messages[batch.messages.length - 1].offset;
        resolveOffset(last);
        // Explicit: with autoCommit off, commitOffsetsIfNecessary() would commit nothing.
        await consumer.commitOffsets([
          { topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() },
        ]);
        await heartbeat();
      },
    });
    const subscription: Subscription = {
      stop: async () => {
        stopping.abort();
        this.subscriptions.delete(subscription);
        await consumer.disconnect();
      },
    };
    this.subscriptions.add(subscription);
    return subscription;
  }

  async check(): Promise<BusHealth> {
    try {
      await this.admin.connect();
      const cluster = await withTimeout(
        this.admin.describeCluster(),
        5_000,
        'Kafka did not answer within 5 s',
      );
      return { up: true, detail: `${cluster.brokers.length} broker(s), controller ${cluster.controller}` };
    } catch (error) {
      return { up: false, detail: error instanceof Error ? error.message : String(error) };
    }
  }

  async lag(groupId: string, topics: TopicKey[]): Promise<PartitionLag[]> {
    await this.admin.connect();
    const names = topics.map((topic) => this.topicName(topic));
    const committed = await this.admin.fetchOffsets({ groupId, topics: names });
    const lags: PartitionLag[] = [];
    for (const { topic, partitions } of committed) {
      const offsets = new Map((await this.admin.fetchTopicOffsets(topic)).map((p) => [p.partition, p]));
      for (const { partition, offset } of partitions) {
        const bounds = offsets.get(partition);
        // A group that has committed nothing yet ("-1") is behind by everything retained.
        const position = Number(offset) < 0 ? Number(bounds?.low ?? 0) : Number(offset);
        lags.push({
          topic,
          partition,
          lag: Math.max(0, Number(bounds?.high ?? 0) - position),
          unit: 'messages',
        });
      }
    }
    return lags;
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.allSettled([...this.subscriptions].map((subscription) => subscription.stop()));
    await Promise.allSettled([this.producer.disconnect(), this.admin.disconnect()]);
  }
}

function decodeHeaders(
  headers: Record<string, Buffer | string | (Buffer | string)[] | undefined> | undefined,
): Record<string, string> {
  const decoded: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue;
    const single = Array.isArray(value) ? value[value.length - 1] : value;
    decoded[name] = single.toString();
  }
  return decoded;
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms);
    }),
  ]);
}
