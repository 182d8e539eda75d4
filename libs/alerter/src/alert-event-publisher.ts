import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { EventBus } from '@tripline/transport';
import { ALERTER_SETTINGS, type AlerterSettings } from './settings';
import { AlerterWakeups } from './wakeups';

const BATCH = 500;

/**
 * Drains the alert event outbox to the alerts topic, in commit order. A row is deleted in the
 * transaction that published it; a crash between the publish and the commit publishes it again,
 * which the history table absorbs (one row per event_id).
 */
@Injectable()
export class AlertEventPublisher implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('AlertEvents');
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private stopListening?: () => void;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly bus: EventBus,
    private readonly wakeups: AlerterWakeups,
    @Inject(ALERTER_SETTINGS) private readonly settings: AlerterSettings,
  ) {}

  onApplicationBootstrap(): void {
    this.stopListening = this.wakeups.listen(() => void this.drain());
    this.timer = setInterval(() => void this.drain(), this.settings.tickMs);
    this.timer.unref();
    void this.drain();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    this.stopListening?.();
    await this.running;
  }

  /** One drain at a time; a wake-up during a drain runs one more. */
  drain(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          while ((await this.publishBatch()) === BATCH);
        } while (this.again);
      } catch (error) {
        this.logger.warn(`alert events not published yet, retrying: ${String(error)}`);
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  private publishBatch(): Promise<number> {
    return this.dataSource.transaction(async (manager) => {
      const rows: { seq: string; key: string | null; event: unknown }[] = await manager.query(
        `SELECT seq, key, event FROM alert_event_outbox ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [BATCH],
      );
      if (rows.length === 0) return 0;
      await this.bus.publish(
        'alerts',
        rows.map((row) => ({ key: row.key, value: JSON.stringify(row.event) })),
      );
      await manager.query(`DELETE FROM alert_event_outbox WHERE seq = ANY($1::bigint[])`, [
        rows.map((row) => row.seq),
      ]);
      return rows.length;
    });
  }
}
