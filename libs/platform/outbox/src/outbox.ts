import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { TopicKey } from '@tripline/contracts';

/** One message waiting in the outbox: the key and the exact bytes (as text) the topic will carry. */
export interface OutboxMessage {
  key: string | null;
  value: string;
}

/**
 * The transactional outbox. A lib whose state change must reach another process writes the
 * message with `append` in the same PostgreSQL transaction as the change, and calls `wake` after
 * the commit; the OutboxPublisher publishes it, retrying until the bus takes it. So the change and
 * its message are committed together or not at all, and no topic ever says something PostgreSQL
 * does not. Delivery is at least once (a crash between the publish and the delete publishes the
 * row again, with the same bytes): every message on an outbox topic carries an idempotency key
 * its consumers dedupe on (`event_id` of alert events, `run_id` of evaluations).
 *
 * The table `event_outbox` belongs to this lib; other libs reach it only through this class.
 */
@Injectable()
export class Outbox {
  private readonly listeners = new Set<() => void>();

  /** Adds messages to the outbox, in order, inside the caller's open transaction. */
  async append(manager: EntityManager, topic: TopicKey, messages: readonly OutboxMessage[]): Promise<void> {
    if (messages.length === 0) return;
    if (!manager.queryRunner?.isTransactionActive)
      throw new Error(
        `Outbox.append needs the entity manager of an open transaction (the ${topic} message would otherwise outlive a rolled-back change)`,
      );
    await manager.query(
      `INSERT INTO event_outbox (topic, key, value) SELECT $1::text, * FROM unnest($2::text[], $3::text[])`,
      [topic, messages.map((message) => message.key), messages.map((message) => message.value)],
    );
  }

  /** Tells the publisher that a committed transaction left messages, so they leave now, not at the next poll. */
  wake(): void {
    for (const listener of this.listeners) listener();
  }

  /** @internal the publisher's subscription to wake(). */
  onWake(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
