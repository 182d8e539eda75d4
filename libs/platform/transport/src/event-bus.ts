import type { TopicKey } from '@tripline/contracts';

export interface OutgoingMessage {
  key?: string | null;
  value: string | Buffer;
  headers?: Record<string, string>;
}

export interface BusMessage {
  /** Full topic name, prefix included: what a dead-letter record names as its origin. */
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer;
  headers: Record<string, string>;
  timestamp: number;
}

export interface ConsumerBatch {
  topic: string;
  partition: number;
  messages: BusMessage[];
}

export interface SubscriptionOptions {
  groupId: string;
  topics: TopicKey[];
  /** Where a group with no committed offset starts. */
  fromBeginning?: boolean;
  /**
   * Resolving commits the batch's offsets; throwing redelivers the same batch after a backoff,
   * so a failing downstream store pauses consumption instead of skipping messages.
   */
  handleBatch(batch: ConsumerBatch): Promise<void>;
  /** Called with each failure of handleBatch before the retry, e.g. to count or log it. */
  onRetry?(error: unknown, attempt: number, delayMs: number): void;
  /** How many partitions' batches may be in the handler at once (Kafka); default 1. */
  concurrency?: number;
}

export interface PartitionLag {
  topic: string;
  partition: number;
  /** Not yet committed by the group: messages on Kafka, bytes on the embedded log. */
  lag: number;
  unit: 'messages' | 'bytes';
}

export interface Subscription {
  stop(): Promise<void>;
}

export interface BusHealth {
  up: boolean;
  detail: string;
}

/**
 * The event transport. Feature code depends on this class only; which implementation it gets
 * (Kafka, or the embedded log of standalone mode) is decided by TransportModule.
 */
export abstract class EventBus {
  abstract readonly kind: 'kafka' | 'embedded';
  abstract topicName(topic: TopicKey): string;
  abstract publish(topic: TopicKey, messages: OutgoingMessage[]): Promise<void>;
  abstract subscribe(options: SubscriptionOptions): Promise<Subscription>;
  abstract check(): Promise<BusHealth>;
  abstract lag(groupId: string, topics: TopicKey[]): Promise<PartitionLag[]>;
}
