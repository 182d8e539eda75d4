import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In } from 'typeorm';
import { CHANNEL_KINDS } from '@tripline/alert-rules';
import { Metrics } from '@tripline/server';
import { DrainWorker } from '@tripline/outbox';
import { backoffDelay } from '@tripline/retry';
import { ChannelEntity, DeliveryEntity } from './entities';
import { NotificationSender, type SendOutcome } from './notification-sender';
import { ALERTER_SETTINGS, type AlerterSettings } from './settings';
import { AlerterWakeups } from './wakeups';

const CLAIM_BATCH = 16;

/**
 * Sends the deliveries the alert store persisted, retrying with backoff until one is delivered or
 * out of attempts, when it is marked failed (and stays visible in the API). Claiming pushes
 * next_attempt_at out by a lease, so a replica that dies mid-send leaves the delivery to be taken
 * up again once the lease ends; any replica, or this one after a restart, resumes it. A delivery
 * waits while an earlier one to the same channel about the same alert is still pending, so a
 * PagerDuty resolve never overtakes its trigger.
 */
@Injectable()
export class DeliveryWorker extends DrainWorker {
  private readonly logger = new Logger('AlertDeliveries');
  private readonly outcomes;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly sender: NotificationSender,
    private readonly wakeups: AlerterWakeups,
    @Inject(ALERTER_SETTINGS) private readonly settings: AlerterSettings,
    metrics: Metrics,
  ) {
    // A failed pass (PostgreSQL, not a channel: those retry per delivery) is retried at the next poll.
    super({ pollMs: settings.deliveryPollMs });
    this.outcomes = metrics.counter(
      {
        name: 'tripline_alert_delivery_attempts_total',
        help: 'Notification delivery attempts by channel kind and outcome (delivered, retry, failed)',
        labelNames: ['kind', 'outcome'],
      },
      { kind: CHANNEL_KINDS, outcome: ['delivered', 'retry', 'failed'] },
    );
  }

  protected override listen(wake: () => void): () => void {
    return this.wakeups.listen(wake);
  }

  protected override async step(): Promise<boolean> {
    return (await this.pass()) > 0;
  }

  protected override failed(error: unknown): void {
    this.logger.warn(`delivery pass failed, retrying at the next poll: ${String(error)}`);
  }

  /** Claims due deliveries and sends them; returns how many it claimed. */
  private async pass(): Promise<number> {
    const claimed = await this.claim();
    if (claimed.length === 0) return 0;
    const channels = await this.dataSource
      .getRepository(ChannelEntity)
      .findBy({ id: In(claimed.map((delivery) => delivery.channelId)) });
    const byId = new Map(channels.map((channel) => [channel.id, channel]));
    await Promise.all(
      claimed.map(async (delivery) => {
        const channel = byId.get(delivery.channelId);
        const outcome: SendOutcome =
          channel === undefined
            ? { ok: false, retryable: false, error: 'the channel was deleted', status: null }
            : !channel.enabled
              ? { ok: false, retryable: false, error: `channel ${channel.name} is disabled`, status: null }
              : await this.sender.send(channel, delivery, delivery.attempts);
        await this.record(delivery, channel, outcome);
      }),
    );
    return claimed.length;
  }

  private async claim(): Promise<DeliveryEntity[]> {
    const leaseMs = this.settings.requestTimeoutMs * 2 + 30_000;
    // Wrapped in a SELECT: TypeORM answers a bare UPDATE ... RETURNING with [rows, count].
    const ids: { id: string }[] = await this.dataSource.query(
      `WITH claimed AS (
         UPDATE notification_deliveries SET
           attempts = attempts + 1,
           next_attempt_at = now() + ($2::integer * interval '1 millisecond'),
           updated_at = now()
         WHERE id IN (
           SELECT d.id FROM notification_deliveries d
           WHERE d.status = 'pending' AND d.next_attempt_at <= now()
             AND NOT EXISTS (
               SELECT 1 FROM notification_deliveries e
               WHERE e.status = 'pending' AND e.channel_id = d.channel_id
                 AND e.alert_ids && d.alert_ids AND e.seq < d.seq)
           ORDER BY d.seq
           LIMIT $1
           FOR UPDATE SKIP LOCKED)
         RETURNING id)
       SELECT id FROM claimed`,
      [CLAIM_BATCH, leaseMs],
    );
    if (ids.length === 0) return [];
    const rows = await this.dataSource.getRepository(DeliveryEntity).findBy(ids.map(({ id }) => ({ id })));
    return rows.sort((a, b) => a.seq - b.seq);
  }

  private async record(
    delivery: DeliveryEntity,
    channel: ChannelEntity | undefined,
    outcome: SendOutcome,
  ): Promise<void> {
    const deliveries = this.dataSource.getRepository(DeliveryEntity);
    const kind = channel?.kind ?? 'unknown';
    if (outcome.ok) {
      this.outcomes.inc({ kind, outcome: 'delivered' });
      await deliveries.update(
        { id: delivery.id },
        { status: 'delivered', deliveredAt: new Date(), lastError: null, lastStatus: outcome.status },
      );
      return;
    }
    const attempts = delivery.attempts;
    const error = outcome.error.slice(0, 2_000);
    if (outcome.retryable && attempts < delivery.maxAttempts) {
      const delay = Math.max(
        backoffDelay(attempts, this.settings.retryBaseMs, this.settings.retryCapMs),
        Math.min(outcome.retryAfterMs ?? 0, this.settings.retryCapMs),
      );
      this.outcomes.inc({ kind, outcome: 'retry' });
      this.logger.warn(
        `delivery ${delivery.id} to ${channel?.name ?? 'a deleted channel'} (${kind}) failed, attempt ${attempts} of ${delivery.maxAttempts}; retrying in ${delay} ms: ${error}`,
      );
      await deliveries.update(
        { id: delivery.id },
        {
          lastError: error,
          lastStatus: outcome.status,
          // The database's clock, like the claim's: replicas with skewed clocks agree on what is due.
          nextAttemptAt: () => `now() + ${Math.round(delay)} * interval '1 millisecond'`,
        },
      );
      return;
    }
    this.outcomes.inc({ kind, outcome: 'failed' });
    const why = outcome.retryable
      ? `gave up after ${attempts} attempts`
      : 'not retried: the error is permanent';
    this.logger.error(
      `delivery ${delivery.id} of ${delivery.event} alert(s) ${delivery.alertIds.join(', ')} to ${channel?.name ?? 'a deleted channel'} (${kind}) FAILED, ${why}: ${error}`,
    );
    await deliveries.update(
      { id: delivery.id },
      { status: 'failed', failedAt: new Date(), lastError: error, lastStatus: outcome.status },
    );
  }
}
