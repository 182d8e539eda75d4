import { Injectable } from '@nestjs/common';

/**
 * Tells the delivery worker that a transaction committed deliveries, so a notification leaves now
 * rather than at the next poll. Polling stays as the backstop for
 * work committed by other replicas and for retries.
 */
@Injectable()
export class AlerterWakeups {
  private readonly listeners = new Set<() => void>();

  listen(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  signal(): void {
    for (const listener of this.listeners) listener();
  }
}
