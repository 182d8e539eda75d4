import type { BeforeApplicationShutdown, OnApplicationBootstrap } from '@nestjs/common';
import { backoffDelay } from '@tripline/retry';

export interface DrainSettings {
  /** How often to look for work when nobody wakes the worker. */
  pollMs: number;
  /**
   * After a failed pass, wait `backoffDelay(failures, baseMs, capMs)` before the next (polls and
   * wake-ups in between are skipped), so a refusing dependency is not hammered. Without it a
   * failed pass is retried at the next poll.
   */
  backoff?: { baseMs: number; capMs: number };
}

/**
 * The loop that drains a PostgreSQL work table: the outbox to the bus (OutboxPublisher), alert
 * deliveries to their channels (the alerts lib's DeliveryWorker). A pass runs at start, on every
 * poll and on every wake-up; one pass at a time, and a wake-up during a pass runs one more after
 * it, so work committed mid-pass is not left for the next poll. A pass repeats `step` while it
 * reports more work. Which rows a step claims, and how, is the subclass's business: the table's
 * owner knows its SQL.
 */
export abstract class DrainWorker implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private stopped = false;
  private failures = 0;
  private retryAt = 0;
  private stopListening?: () => void;

  constructor(private readonly drainSettings: DrainSettings) {}

  /** Does one batch of work; true when there may be more to do right away. */
  protected abstract step(): Promise<boolean>;

  /** A pass threw (the worker never does): `retryInMs` is the backoff, when there is one. */
  protected abstract failed(error: unknown, failures: number, retryInMs: number | undefined): void;

  /** Subscribes to wake-ups (a commit left work); returns the unsubscribe. Default: polls only. */
  protected listen(_wake: () => void): (() => void) | undefined {
    return undefined;
  }

  onApplicationBootstrap(): void {
    this.stopListening = this.listen(() => void this.runWhenDue());
    this.timer = setInterval(() => void this.runWhenDue(), this.drainSettings.pollMs);
    this.timer.unref();
    void this.run();
  }

  /** Stops polling and listening, and waits for the pass under way (which ends after its step). */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.stopListening?.();
    await this.running;
  }

  /** Runs a pass now (or one more after the current one). Never throws. */
  run(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          while (!this.stopped && (await this.step()));
        } while (this.again && !this.stopped);
        this.failures = 0;
        this.retryAt = 0;
      } catch (error) {
        this.failures++;
        const { backoff } = this.drainSettings;
        const delay = backoff ? backoffDelay(this.failures, backoff.baseMs, backoff.capMs) : undefined;
        if (delay !== undefined) this.retryAt = Date.now() + delay;
        this.failed(error, this.failures, delay);
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  private runWhenDue(): Promise<void> | undefined {
    if (Date.now() < this.retryAt) return undefined;
    return this.run();
  }
}
