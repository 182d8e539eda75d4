import {
  feedbackSchema,
  inferenceEventSchema,
  LIMITS,
  validate,
  type FeedbackInput,
  type InferenceEventInput,
} from '@tripline/contracts';
import { HttpTransport } from './http-transport';
import { KafkaTransport } from './kafka-transport';
import { Queue } from './queue';
import { ENVELOPE_BYTES, settle, type Settings } from './settings';
import { backoffDelay, sleep } from '@tripline/retry';
import type { BufferedItem, SendOutcome, Transport } from './transport';
import {
  RecorderError,
  RecordValidationError,
  type ItemRejection,
  type RecordedItem,
  type Recorder,
  type RecorderLogger,
  type RecorderOptions,
  type RecorderStats,
  type RecordKind,
} from './types';

const KINDS: RecordKind[] = ['events', 'feedback'];

const consoleLogger: RecorderLogger = {
  warn: (message) => console.warn(`tripline-sdk: ${message}`),
  error: (message) => console.error(`tripline-sdk: ${message}`),
};

/** Creates a recorder that validates, buffers and sends inference events and feedback in batches. */
export function createRecorder(options: RecorderOptions): Recorder {
  if (!options || typeof options !== 'object')
    throw new TypeError('createRecorder: expected an options object');
  const settings = settle(options);
  const logger = options.logger ?? consoleLogger;
  const transport = createTransport(options, settings, logger);
  return new BufferingRecorder(settings, transport, logger, options.onError, options.onRetry);
}

function createTransport(options: RecorderOptions, settings: Settings, logger: RecorderLogger): Transport {
  const transport = options.transport as { kind?: unknown } | undefined;
  if (transport?.kind === 'http')
    return new HttpTransport(options.transport as Extract<RecorderOptions['transport'], { kind: 'http' }>);
  if (transport?.kind === 'kafka')
    return new KafkaTransport(
      options.transport as Extract<RecorderOptions['transport'], { kind: 'kafka' }>,
      logger,
      {
        baseMs: settings.retryBaseMs,
        maxMs: settings.maxRetryDelayMs,
      },
    );
  throw new TypeError(`transport.kind: expected 'http' or 'kafka' (got ${JSON.stringify(transport?.kind)})`);
}

class BufferingRecorder implements Recorder {
  private readonly queues: Record<RecordKind, Queue<BufferedItem>> = {
    events: new Queue(),
    feedback: new Queue(),
  };
  private readonly queuedBytes: Record<RecordKind, number> = { events: 0, feedback: 0 };
  private readonly inFlight: Record<RecordKind, BufferedItem[] | undefined> = {
    events: undefined,
    feedback: undefined,
  };
  private readonly sending: Record<RecordKind, boolean> = { events: false, feedback: false };
  private readonly blocked = new Queue<{ kind: RecordKind; item: BufferedItem; resolve: () => void }>();
  private readonly flushes: { upTo: number; resolve: () => void }[] = [];
  private readonly counters = { sent: 0, failed: 0, dropped: 0, retries: 0, rejected: 0 };
  /** Sequence numbers are given on entering the buffer, so each queue is ordered by them. */
  private nextSeq = 1;
  /** Every buffered item up to this sequence number is due now, whatever the size of its batch. */
  private flushTarget = 0;
  private timer?: NodeJS.Timeout;
  private closed = false;
  private closing?: Promise<void>;
  private overflowing = false;

  constructor(
    private readonly settings: Settings,
    private readonly transport: Transport,
    private readonly logger: RecorderLogger,
    private readonly onError?: RecorderOptions['onError'],
    private readonly onRetry?: RecorderOptions['onRetry'],
  ) {}

  record(event: InferenceEventInput): void | Promise<void> {
    return this.accept('events', event);
  }

  recordFeedback(feedback: FeedbackInput): void | Promise<void> {
    return this.accept('feedback', feedback);
  }

  flush(): Promise<void> {
    const upTo = this.nextSeq - 1;
    if (this.oldestPending() > upTo) return Promise.resolve();
    this.flushTarget = Math.max(this.flushTarget, upTo);
    const done = new Promise<void>((resolve) => this.flushes.push({ upTo, resolve }));
    for (const kind of KINDS) this.kick(kind);
    return done;
  }

  close(): Promise<void> {
    if (!this.closing) {
      this.closed = true;
      this.closing = this.shutdown();
    }
    return this.closing;
  }

  stats(): RecorderStats {
    return { buffered: this.buffered(), ...this.counters };
  }

  private async shutdown(): Promise<void> {
    try {
      // Items waiting under 'block' were recorded before close(), so they are delivered too.
      do {
        this.admitBlocked();
        await this.flush();
      } while (this.blocked.size > 0 || this.queued() > 0);
    } finally {
      clearTimeout(this.timer);
      this.timer = undefined;
      try {
        await this.transport.close();
      } catch (error) {
        this.logger.warn(
          `closing the transport failed: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    }
  }

  private accept(kind: RecordKind, input: unknown): void | Promise<void> {
    const what = kind === 'events' ? 'record()' : 'recordFeedback()';
    if (this.closed) throw new Error(`${what} after close(): the recorder is closed and would never send it`);
    const item = this.prepare(kind, input);
    if (this.blocked.size === 0 && this.buffered() < this.settings.maxBufferedEvents) {
      this.enqueue(kind, item);
      return this.settings.overflow === 'block' ? Promise.resolve() : undefined;
    }
    return this.overflow(kind, item);
  }

  private prepare(kind: RecordKind, input: unknown): BufferedItem {
    const what = kind === 'events' ? 'inference event' : 'feedback';
    let value = input;
    if (this.settings.validate) {
      const checked = validate(kind === 'events' ? inferenceEventSchema : feedbackSchema, input);
      if (!checked.ok) throw new RecordValidationError(what, checked.errors);
      value = checked.value;
    }
    let json: string | undefined;
    try {
      json = JSON.stringify(value);
    } catch (error) {
      throw new TypeError(
        `invalid ${what}: cannot be serialised as JSON (${error instanceof Error ? error.message : String(error)})`,
      );
    }
    if (typeof json !== 'string' || !json.startsWith('{'))
      throw new TypeError(`invalid ${what}: expected an object`);
    const { model_id: modelId, event_id: eventId } = value as { model_id?: unknown; event_id?: unknown };
    const key = typeof modelId === 'string' ? modelId : null;
    const bytes = Buffer.byteLength(json) + this.transport.overheadBytes({ key });
    if (bytes > LIMITS.batchBytes - ENVELOPE_BYTES)
      throw new RangeError(
        `invalid ${what}: ${bytes} bytes serialised; one item can be at most ${LIMITS.batchBytes - ENVELOPE_BYTES} bytes`,
      );
    return { seq: 0, json, bytes, key, ...(typeof eventId === 'string' ? { eventId } : {}) };
  }

  private enqueue(kind: RecordKind, item: BufferedItem): void {
    item.seq = this.nextSeq++;
    this.queues[kind].push(item);
    this.queuedBytes[kind] += item.bytes;
    // Referenced on purpose: buffered items keep the process alive until they are sent.
    this.timer ??= setTimeout(() => this.onTimer(), this.settings.flushIntervalMs);
    if (
      this.queues[kind].size >= this.settings.maxBatchSize ||
      this.queuedBytes[kind] >= this.settings.maxBatchBytes
    )
      this.kick(kind);
  }

  private onTimer(): void {
    this.timer = undefined;
    this.flushTarget = this.nextSeq - 1;
    for (const kind of KINDS) this.kick(kind);
  }

  private overflow(kind: RecordKind, item: BufferedItem): void | Promise<void> {
    if (!this.overflowing) {
      this.overflowing = true;
      this.logger.warn(
        `${this.settings.maxBufferedEvents} items buffered, the transport is not keeping up: ` +
          (this.settings.overflow === 'block'
            ? 'record() now waits for room'
            : `applying overflow policy ${this.settings.overflow}`),
      );
    }
    if (this.settings.overflow === 'block')
      return new Promise<void>((resolve) => this.blocked.push({ kind, item, resolve }));
    this.counters.dropped++;
    if (this.settings.overflow === 'drop-newest') return;
    const victim = this.oldestQueuedKind();
    // With everything held already in flight, nothing older can go: the new item is the one dropped.
    if (victim === undefined) return;
    const dropped = this.queues[victim].shift()!;
    this.queuedBytes[victim] -= dropped.bytes;
    this.enqueue(kind, item);
    this.settleFlushes();
  }

  private kick(kind: RecordKind): void {
    this.pump(kind).catch((error: unknown) =>
      this.logger.error(`sending ${kind} failed unexpectedly: ${String(error)}`),
    );
  }

  /** One sender per kind: batches of a kind go out in order, one at a time. */
  private async pump(kind: RecordKind): Promise<void> {
    if (this.sending[kind]) return;
    this.sending[kind] = true;
    try {
      while (this.due(kind)) {
        // Taken synchronously, before the first await: what record() buffers next goes to the next batch.
        const batch = this.take(kind);
        this.inFlight[kind] = batch;
        try {
          await this.deliver(kind, batch);
        } finally {
          this.inFlight[kind] = undefined;
        }
        this.admitBlocked();
        if (this.buffered() < this.settings.maxBufferedEvents) this.overflowing = false;
        this.settleFlushes();
      }
    } finally {
      this.sending[kind] = false;
      if (this.queued() === 0) {
        clearTimeout(this.timer);
        this.timer = undefined;
      }
    }
  }

  private due(kind: RecordKind): boolean {
    const head = this.queues[kind].peek();
    if (!head) return false;
    return (
      head.seq <= this.flushTarget ||
      this.queues[kind].size >= this.settings.maxBatchSize ||
      this.queuedBytes[kind] >= this.settings.maxBatchBytes
    );
  }

  private take(kind: RecordKind): BufferedItem[] {
    const queue = this.queues[kind];
    const batch: BufferedItem[] = [];
    let bytes = 0;
    while (batch.length < this.settings.maxBatchSize) {
      const next = queue.peek();
      if (!next || (batch.length > 0 && bytes + next.bytes > this.settings.maxBatchBytes)) break;
      queue.shift();
      this.queuedBytes[kind] -= next.bytes;
      bytes += next.bytes;
      batch.push(next);
    }
    return batch;
  }

  /** Sends one batch until it is delivered or finally fails; never throws. */
  private async deliver(kind: RecordKind, batch: BufferedItem[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      let outcome: SendOutcome;
      try {
        outcome = await this.transport.send(kind, batch);
      } catch (error) {
        outcome = {
          ok: false,
          retriable: true,
          error: error instanceof Error ? error : new Error(String(error)),
        };
      }
      if (outcome.ok) return this.delivered(kind, batch, outcome.rejections);
      if (outcome.tooLarge && batch.length > 1) {
        const middle = Math.ceil(batch.length / 2);
        await this.deliver(kind, batch.slice(0, middle));
        await this.deliver(kind, batch.slice(middle));
        return;
      }
      const details = { status: outcome.status, retriable: outcome.retriable, cause: outcome.error };
      if (!outcome.retriable || attempt > this.settings.maxRetries) {
        this.counters.failed += batch.length;
        const why = outcome.retriable ? `gave up after ${attempt} attempts` : 'not retried';
        const error = new RecorderError(
          `${batch.length} ${kind} not delivered (${why}): ${outcome.error.message}`,
          'failed',
          kind,
          details,
        );
        this.report(error, batch);
        return;
      }
      const delay = Math.min(
        this.settings.maxRetryDelayMs,
        outcome.retryAfterMs ??
          backoffDelay(attempt, this.settings.retryBaseMs, this.settings.maxRetryDelayMs),
      );
      this.counters.retries++;
      this.logger.warn(
        `${kind} batch of ${batch.length}: attempt ${attempt} failed (${outcome.error.message}); retrying in ${delay} ms`,
      );
      try {
        this.onRetry?.(new RecorderError(outcome.error.message, 'failed', kind, details), attempt, delay);
      } catch (error) {
        this.logger.error(`onRetry threw: ${String(error)}`);
      }
      await sleep(delay);
    }
  }

  private delivered(
    kind: RecordKind,
    batch: BufferedItem[],
    reported: { index: number; event_id?: string; errors: ItemRejection['errors'] }[],
  ): void {
    // Only indexes that name an item of this batch, each once: the answer comes from the network.
    const byIndex = new Map<number, (typeof reported)[number]>();
    for (const rejection of reported)
      if (Number.isInteger(rejection.index) && rejection.index >= 0 && rejection.index < batch.length)
        byIndex.set(rejection.index, rejection);
    const rejections = [...byIndex.values()];
    this.counters.sent += batch.length - rejections.length;
    this.counters.rejected += rejections.length;
    if (rejections.length === 0) return;
    const first = rejections[0].errors[0];
    const error = new RecorderError(
      `${rejections.length} of ${batch.length} ${kind} rejected by the server` +
        (first ? `, e.g. ${first.field}: ${first.message}` : ''),
      'rejected',
      kind,
      { rejections: rejections.map((rejection, index) => ({ ...rejection, index })) },
    );
    this.report(
      error,
      rejections.map((rejection) => batch[rejection.index]),
    );
  }

  private report(error: RecorderError, items: BufferedItem[]): void {
    if (!this.onError) {
      this.logger.error(error.message);
      return;
    }
    const parsed = items.map((item) => JSON.parse(item.json) as RecordedItem);
    const complain = (thrown: unknown) =>
      this.logger.error(`onError threw (${String(thrown)}) while handling: ${error.message}`);
    try {
      const result = this.onError(error, parsed);
      if (result && typeof result.then === 'function') result.then(undefined, complain);
    } catch (thrown) {
      complain(thrown);
    }
  }

  private admitBlocked(): void {
    while (this.blocked.size > 0 && this.buffered() < this.settings.maxBufferedEvents) {
      const { kind, item, resolve } = this.blocked.shift()!;
      this.enqueue(kind, item);
      resolve();
    }
  }

  private settleFlushes(): void {
    const oldest = this.oldestPending();
    for (let i = this.flushes.length - 1; i >= 0; i--) {
      if (this.flushes[i].upTo < oldest) this.flushes.splice(i, 1)[0].resolve();
    }
  }

  /** The lowest sequence number not yet delivered or failed; Infinity when nothing is held. */
  private oldestPending(): number {
    let oldest = Infinity;
    for (const kind of KINDS) {
      const inFlight = this.inFlight[kind]?.[0]?.seq;
      const queued = this.queues[kind].peek()?.seq;
      if (inFlight !== undefined) oldest = Math.min(oldest, inFlight);
      if (queued !== undefined) oldest = Math.min(oldest, queued);
    }
    return oldest;
  }

  private oldestQueuedKind(): RecordKind | undefined {
    const events = this.queues.events.peek()?.seq ?? Infinity;
    const feedback = this.queues.feedback.peek()?.seq ?? Infinity;
    if (events === Infinity && feedback === Infinity) return undefined;
    return events <= feedback ? 'events' : 'feedback';
  }

  private queued(): number {
    return this.queues.events.size + this.queues.feedback.size;
  }

  private buffered(): number {
    return this.queued() + (this.inFlight.events?.length ?? 0) + (this.inFlight.feedback?.length ?? 0);
  }
}
