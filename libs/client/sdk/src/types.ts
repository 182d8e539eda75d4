import type { FeedbackInput, FieldError, InferenceEventInput } from '@tripline/contracts';

/** The two streams a recorder sends: inference events and ground-truth feedback. */
export type RecordKind = 'events' | 'feedback';

export interface HttpTransportOptions {
  kind: 'http';
  /** Base URL of the Tripline API, e.g. `https://tripline.internal:8080`; batches go to `<url>/v1/events` and `<url>/v1/feedback`. */
  url: string;
  /** An API key with the `ingest` scope. */
  apiKey: string;
  /** Per-request timeout; a request that takes longer counts as a network error and is retried. Default 30 000. */
  requestTimeoutMs?: number;
}

export interface KafkaTransportOptions {
  kind: 'kafka';
  brokers: string[];
  /** Default `tripline.`, the platform's default; must match the ingestors' KAFKA_TOPIC_PREFIX. */
  topicPrefix?: string;
  /** Default `tripline-sdk`. */
  clientId?: string;
  ssl?: boolean;
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
}

export type TransportOptions = HttpTransportOptions | KafkaTransportOptions;

export type OverflowPolicy = 'drop-oldest' | 'drop-newest' | 'block';

export interface RecorderLogger {
  warn(message: string): void;
  error(message: string): void;
}

/** An event or feedback item as it was buffered (timestamps normalised to epoch ms when validated). */
export type RecordedItem = InferenceEventInput | FeedbackInput;

export interface ItemRejection {
  /** Position of the item in the `items` passed to onError. */
  index: number;
  event_id?: string;
  errors: FieldError[];
}

export interface RecorderOptions {
  transport: TransportOptions;
  /** Items per batch; at most 10 000 (what one HTTP request may carry). Default 500. */
  maxBatchSize?: number;
  /** Serialised bytes per batch; one larger item is still sent, alone. Default 1 000 000. */
  maxBatchBytes?: number;
  /** A buffered item waits at most this long before its batch is sent. Default 1000. */
  flushIntervalMs?: number;
  /** Items held in memory, queued and in flight together. Default 10 000. */
  maxBufferedEvents?: number;
  /** What record() does when maxBufferedEvents are held. Default 'drop-oldest'. */
  overflow?: OverflowPolicy;
  /** Retries of a batch after the first attempt, on network errors, 429 and 5xx. Default 8. */
  maxRetries?: number;
  /** First retry delay; it doubles each attempt, with jitter. Default 200. */
  retryBaseMs?: number;
  /** Longest wait between attempts, including a server's Retry-After. Default 30 000. */
  maxRetryDelayMs?: number;
  /** Check each item against the v1 contract in record(). Default true. */
  validate?: boolean;
  /** Called with every batch that finally failed and every item the server rejected. */
  onError?: (error: RecorderError, items: RecordedItem[]) => void | Promise<void>;
  /** Called before each retry, with the wait chosen. */
  onRetry?: (error: RecorderError, attempt: number, delayMs: number) => void;
  /** Default: console, prefixed `tripline-sdk:`. */
  logger?: RecorderLogger;
}

export interface RecorderStats {
  /** Items held: queued plus in flight. */
  buffered: number;
  /** Items the transport accepted (HTTP: accepted in a 2xx answer, duplicates included). */
  sent: number;
  /** Items in batches that failed after the last retry, or could not be retried. */
  failed: number;
  /** Items the overflow policy discarded. */
  dropped: number;
  /** Batch attempts after the first. */
  retries: number;
  /** Items the server rejected one by one (HTTP 202 with status 'rejected'). */
  rejected: number;
}

export interface Recorder {
  /**
   * Validates and buffers one inference event. Throws a RecordValidationError naming the field
   * when the event breaks the contract. With overflow 'block' it returns a promise that resolves
   * once the event is buffered.
   */
  record(event: InferenceEventInput): void | Promise<void>;
  /** The same for ground-truth feedback. */
  recordFeedback(feedback: FeedbackInput): void | Promise<void>;
  /** Sends everything buffered now; resolves when all of it was delivered or finally failed. */
  flush(): Promise<void>;
  /** Flushes, stops the timer and disconnects; record() throws afterwards. Safe to call twice. */
  close(): Promise<void>;
  stats(): RecorderStats;
}

export type RecorderErrorReason = 'failed' | 'rejected';

/** What onError receives: a whole batch that failed, or the items of a batch that the server rejected. */
export class RecorderError extends Error {
  override readonly name = 'RecorderError';
  constructor(
    message: string,
    readonly reason: RecorderErrorReason,
    readonly kind: RecordKind,
    readonly details: {
      /** HTTP status of the last answer, when there was one. */
      status?: number;
      /** Whether the transport said trying again could help. */
      retriable?: boolean;
      rejections?: ItemRejection[];
      cause?: unknown;
    } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
  }

  get status(): number | undefined {
    return this.details.status;
  }

  get rejections(): ItemRejection[] {
    return this.details.rejections ?? [];
  }
}

/** Thrown synchronously by record() and recordFeedback() for an item that breaks the v1 contract. */
export class RecordValidationError extends TypeError {
  override readonly name = 'RecordValidationError';
  constructor(
    readonly what: 'inference event' | 'feedback',
    readonly errors: FieldError[],
  ) {
    super(`invalid ${what}: ${errors.map((error) => `${error.field}: ${error.message}`).join('; ')}`);
  }
}
