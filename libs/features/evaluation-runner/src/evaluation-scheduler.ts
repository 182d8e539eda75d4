import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob } from 'cron';
import { ENVIRONMENT, type Environment } from '@tripline/config';
import { ScheduleService, type Schedule } from '@tripline/registry';
import { RunQueue } from '@tripline/runs';
import { Metrics } from '@tripline/server';

/**
 * Keeps one cron job per enabled schedule, in step with the schedules table: a schedule added,
 * changed or removed through the API takes effect within one sync interval, without a restart.
 * Every replica runs the same jobs; the run queue lets exactly one of them queue each tick.
 */
@Injectable()
export class EvaluationScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('EvaluationScheduler');
  private readonly versions = new Map<string, string>();
  private timer?: NodeJS.Timeout;
  private readonly ticks;
  private readonly synced;

  constructor(
    private readonly registry: SchedulerRegistry,
    private readonly schedules: ScheduleService,
    private readonly queue: RunQueue,
    metrics: Metrics,
    @Inject(ENVIRONMENT) private readonly environment: Environment,
  ) {
    this.ticks = metrics.counter(
      {
        name: 'tripline_schedule_ticks_total',
        help: 'Schedule ticks by outcome',
        labelNames: ['outcome'],
      },
      { outcome: ['queued', 'no-version', 'overlap', 'claimed-elsewhere', 'error'] },
    );
    this.synced = metrics.gauge({
      name: 'tripline_schedule_synced_timestamp_seconds',
      help: 'When the last completed sync of the cron jobs with the schedules table began: every change saved before then is in effect',
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.sync();
    this.timer = setInterval(
      () => void this.sync().catch((error) => this.logger.warn(`schedule sync failed: ${String(error)}`)),
      this.environment.TRIPLINE_SCHEDULE_SYNC_MS,
    );
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
    for (const id of this.versions.keys()) this.unregister(id);
  }

  /** Reconciles the registered jobs with the table. */
  async sync(): Promise<void> {
    const began = Date.now();
    const current = (await this.schedules.list()).filter((schedule) => schedule.enabled);
    const seen = new Set<string>();
    for (const schedule of current) {
      seen.add(schedule.id);
      const version = `${schedule.cron}|${schedule.datasetIds.join(',')}|${schedule.updatedAt.toISOString()}`;
      if (this.versions.get(schedule.id) === version) continue;
      this.unregister(schedule.id);
      this.register(schedule, version);
    }
    for (const id of [...this.versions.keys()]) if (!seen.has(id)) this.unregister(id);
    this.synced.set(began / 1000);
  }

  private register(schedule: Schedule, version: string): void {
    const job = CronJob.from({
      cronTime: schedule.cron,
      start: true,
      onTick: () => void this.tick(schedule, job.lastDate() ?? new Date()),
    });
    this.registry.addCronJob(this.jobName(schedule.id), job as never);
    this.versions.set(schedule.id, version);
    this.logger.log(`schedule ${schedule.id} (${schedule.modelId}, "${schedule.cron}") registered`);
  }

  private unregister(id: string): void {
    if (!this.versions.delete(id)) return;
    try {
      this.registry.deleteCronJob(this.jobName(id));
    } catch {
      // already gone
    }
  }

  private async tick(schedule: Schedule, firedAt: Date): Promise<void> {
    // The tick is named by its second, the same on every replica.
    const tick = new Date(Math.floor(firedAt.getTime() / 1000) * 1000);
    try {
      const outcome = await this.queue.enqueueTick(schedule.id, schedule.modelId, schedule.datasetIds, tick);
      const label = Array.isArray(outcome) ? (outcome.length ? 'queued' : 'no-version') : outcome;
      this.ticks.inc({ outcome: label });
      if (label === 'overlap')
        this.logger.log(
          `tick of schedule ${schedule.id} skipped: model ${schedule.modelId} still has a run in progress`,
        );
    } catch (error) {
      this.ticks.inc({ outcome: 'error' });
      this.logger.warn(`tick of schedule ${schedule.id} failed: ${String(error)}`);
    }
  }

  private jobName(id: string): string {
    return `schedule:${id}`;
  }
}
