import path from 'node:path';
import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import { topicName, type TopicKey } from '@tripline/contracts';
import { backoffDelay, sleep } from '@tripline/retry';
import {
  EventBus,
  type BusHealth,
  type OutgoingMessage,
  type PartitionLag,
  type Subscription,
  type SubscriptionOptions,
} from './event-bus';
import { SegmentLog } from './segment-log';

export interface EmbeddedBusOptions {
  directory: string;
  topicPrefix: string;
  maxSegmentBytes?: number;
  maxBatchBytes?: number;
}

/**
 * The standalone transport: one durable log per topic on local disk, one partition each, with
 * the delivery contract of the Kafka bus (at-least-once; offsets committed after the handler
 * succeeds; a failing handler is retried with backoff). A publish resolves only once the
 * records are fsync'd, so an accepted event survives a crash of the process.
 */
export class EmbeddedBus extends EventBus implements OnApplicationShutdown {
  readonly kind = 'embedded' as const;
  private readonly logger = new Logger('EmbeddedBus');
  private readonly logs = new Map<string, Promise<SegmentLog>>();
  private readonly consumers = new Map<string, Subscription>();

  constructor(private readonly options: EmbeddedBusOptions) {
    super();
  }

  topicName(topic: TopicKey): string {
    return topicName(this.options.topicPrefix, topic);
  }

  async publish(topic: TopicKey, messages: OutgoingMessage[]): Promise<void> {
    const log = await this.log(topic);
    await log.append(
      messages.map((message) => ({
        key: message.key ?? null,
        headers: message.headers,
        value: typeof message.value === 'string' ? Buffer.from(message.value, 'utf8') : message.value,
      })),
    );
  }

  async subscribe(options: SubscriptionOptions): Promise<Subscription> {
    const stopping = new AbortController();
    const loops: Promise<void>[] = [];
    for (const topic of options.topics) {
      const consumerKey = `${options.groupId}\u0000${topic}`;
      if (this.consumers.has(consumerKey)) {
        throw new Error(
          `consumer group "${options.groupId}" already consumes ${this.topicName(topic)} in this process`,
        );
      }
      const log = await this.log(topic);
      loops.push(this.consume(log, topic, options, stopping.signal));
      this.consumers.set(consumerKey, { stop: async () => undefined });
    }
    const subscription: Subscription = {
      stop: async () => {
        stopping.abort();
        await Promise.allSettled(loops);
        for (const topic of options.topics) this.consumers.delete(`${options.groupId}\u0000${topic}`);
      },
    };
    for (const topic of options.topics) this.consumers.set(`${options.groupId}\u0000${topic}`, subscription);
    return subscription;
  }

  async check(): Promise<BusHealth> {
    return { up: true, detail: `embedded log at ${this.options.directory}` };
  }

  async lag(groupId: string, topics: TopicKey[]): Promise<PartitionLag[]> {
    return Promise.all(
      topics.map(async (topic) => {
        const log = await this.log(topic);
        const committed = (await log.committed(groupId)) ?? log.startOffset;
        return {
          topic: this.topicName(topic),
          partition: 0,
          lag: Math.max(0, log.endOffset - committed),
          unit: 'bytes' as const,
        };
      }),
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.allSettled(
      [...new Set(this.consumers.values())].map((subscription) => subscription.stop()),
    );
    const logs = await Promise.allSettled([...this.logs.values()]);
    await Promise.allSettled(logs.map((log) => (log.status === 'fulfilled' ? log.value.close() : undefined)));
  }

  private log(topic: TopicKey): Promise<SegmentLog> {
    const name = this.topicName(topic);
    let log = this.logs.get(name);
    if (!log) {
      log = SegmentLog.open(path.join(this.options.directory, name), this.options.maxSegmentBytes);
      this.logs.set(name, log);
    }
    return log;
  }

  private async consume(
    log: SegmentLog,
    topic: TopicKey,
    options: SubscriptionOptions,
    signal: AbortSignal,
  ): Promise<void> {
    const name = this.topicName(topic);
    const committed = await log.committed(options.groupId);
    let position = Math.max(
      committed ?? (options.fromBeginning ? log.startOffset : log.endOffset),
      log.startOffset,
    );
    // Registers the group at once, so retention keeps what it has not read yet.
    if (committed === undefined) await log.commit(options.groupId, position);
    while (!signal.aborted) {
      const records = await log.read(position, this.options.maxBatchBytes);
      if (records.length === 0) {
        await log.waitForAppend(1_000, signal);
        continue;
      }
      const messages = records.map((record) => ({
        topic: name,
        partition: 0,
        offset: String(record.offset),
        key: record.key,
        value: record.value,
        headers: record.headers,
        timestamp: record.timestamp,
      }));
      let delivered = false;
      for (let attempt = 1; !signal.aborted; attempt++) {
        try {
          await options.handleBatch({ topic: name, partition: 0, messages });
          delivered = true;
          break;
        } catch (error) {
          const delay = backoffDelay(attempt);
          options.onRetry?.(error, attempt, delay);
          if (!options.onRetry)
            this.logger.warn(`${options.groupId} on ${name}: ${String(error)}; retrying in ${delay} ms`);
          await sleep(delay, signal);
        }
      }
      if (!delivered) return;
      position = records[records.length - 1].next;
      await log.commit(options.groupId, position);
    }
  }
}
