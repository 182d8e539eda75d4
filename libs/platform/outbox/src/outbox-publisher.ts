import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ENVIRONMENT, type Environment } from '@tripline/config';
import type { TopicKey } from '@tripline/contracts';
import { EventBus } from '@tripline/transport';
import { DrainWorker } from './drain-worker';
import { Outbox } from './outbox';

const BATCH = 500;
/** Longest pause between attempts while the bus refuses messages. */
const RETRY_CAP_MS = 30_000;
// Arbitrary but fixed: one drainer at a time across replicas keeps each topic in outbox order.
const DRAIN_LOCK = 7_303_417_020;

interface OutboxRow {
  seq: string;
  topic: TopicKey;
  key: string | null;
  value: string;
}

/**
 * Drains the outbox to the event bus in outbox order. A batch is deleted in the transaction that
 * published it: a failed publish rolls back and the rows wait for the next attempt (after a
 * backoff while the bus keeps failing); a crash between the publish and the commit publishes them
 * again, which consumers absorb by the message's idempotency key. Any replica of any process may
 * drain; a transaction-scoped advisory lock lets one drain at a time.
 */
@Injectable()
export class OutboxPublisher extends DrainWorker {
  private readonly logger = new Logger('Outbox');

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly bus: EventBus,
    private readonly outbox: Outbox,
    @Inject(ENVIRONMENT) environment: Environment,
  ) {
    const pollMs = environment.TRIPLINE_OUTBOX_POLL_MS;
    super({ pollMs, backoff: { baseMs: pollMs, capMs: RETRY_CAP_MS } });
  }

  /**
   * Publishes everything in the outbox now. One drain at a time; a call during a drain runs one
   * more after it. Never throws: a failure is logged and retried later.
   */
  drain(): Promise<void> {
    return this.run();
  }

  protected override listen(wake: () => void): () => void {
    return this.outbox.onWake(wake);
  }

  protected override async step(): Promise<boolean> {
    return (await this.publishBatch()) === BATCH;
  }

  protected override failed(error: unknown, failures: number, retryInMs: number | undefined): void {
    this.logger.warn(
      `outbox not published yet (attempt ${failures}), retrying in ${retryInMs} ms: ${String(error)}`,
    );
  }

  private publishBatch(): Promise<number> {
    return this.dataSource.transaction(async (manager) => {
      const [{ locked }] = await manager.query('SELECT pg_try_advisory_xact_lock($1) AS locked', [
        DRAIN_LOCK,
      ]);
      if (!locked) return 0; // another replica is draining; its next batch includes these rows
      const rows: OutboxRow[] = await manager.query(
        `SELECT seq, topic, key, value FROM event_outbox ORDER BY seq LIMIT $1`,
        [BATCH],
      );
      if (rows.length === 0) return 0;
      for (const [topic, messages] of byTopic(rows)) await this.bus.publish(topic, messages);
      await manager.query(`DELETE FROM event_outbox WHERE seq = ANY($1::bigint[])`, [
        rows.map((row) => row.seq),
      ]);
      return rows.length;
    });
  }
}

/** The rows per topic, each topic's in outbox order (topics are independent streams). */
function byTopic(rows: readonly OutboxRow[]): Map<TopicKey, { key: string | null; value: string }[]> {
  const topics = new Map<TopicKey, { key: string | null; value: string }[]>();
  for (const row of rows) {
    const messages = topics.get(row.topic) ?? [];
    messages.push({ key: row.key, value: row.value });
    topics.set(row.topic, messages);
  }
  return topics;
}
