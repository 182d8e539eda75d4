import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { ENVIRONMENT, type Environment } from '@tripline/config';
import { Outbox } from '@tripline/outbox';
import { DATASET_KINDS } from '@tripline/registry';
import { RunQueue, type ClosedRun } from '@tripline/runs';
import { Metrics } from '@tripline/server';
import { EvaluationExecutor } from './evaluation-executor';
import { failedRunMessage } from './evaluation-message';

const REAP_EVERY_MS = 30_000;

/** Claims queued runs one at a time and executes them; fails runs abandoned by a dead replica. */
@Injectable()
export class EvaluationWorker implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('EvaluationWorker');
  private stopping = false;
  private loop?: Promise<void>;
  private lastReap = 0;
  private readonly finished;

  constructor(
    private readonly queue: RunQueue,
    private readonly executor: EvaluationExecutor,
    private readonly outbox: Outbox,
    metrics: Metrics,
    @Inject(ENVIRONMENT) private readonly environment: Environment,
  ) {
    this.finished = metrics.counter(
      {
        name: 'tripline_evaluation_runs_total',
        help: 'Evaluation runs finished, by status',
        labelNames: ['status', 'kind'],
      },
      { status: ['succeeded', 'failed', 'cancelled'], kind: DATASET_KINDS },
    );
  }

  onApplicationBootstrap(): void {
    this.loop = this.work();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    await this.loop;
  }

  private async work(): Promise<void> {
    while (!this.stopping) {
      try {
        if (Date.now() - this.lastReap > REAP_EVERY_MS) {
          this.lastReap = Date.now();
          await this.reapAbandoned();
        }
        const run = await this.queue.claim();
        if (!run) {
          await new Promise((resolve) => setTimeout(resolve, this.environment.TRIPLINE_EVALUATOR_POLL_MS));
          continue;
        }
        try {
          await this.executor.execute(run);
          const done = await this.queue.get(run.id);
          this.finished.inc({ status: done.status, kind: run.datasetKind });
          this.logger.log(`run ${run.id} (${run.modelId}, ${run.datasetKind}) ${done.status}`);
        } catch (error) {
          // A run that could not finish is recorded as failed, never left looking successful; and
          // recorded even if PostgreSQL itself was the cause, so the model's queue moves on at once.
          await this.recordFailure(run.id, error instanceof Error ? error.message : String(error));
          this.finished.inc({ status: 'failed', kind: run.datasetKind });
          this.logger.warn(`run ${run.id} failed: ${String(error)}`);
        }
      } catch (error) {
        this.logger.warn(`evaluation queue unavailable: ${String(error)}`);
        await new Promise((resolve) => setTimeout(resolve, this.environment.TRIPLINE_EVALUATOR_POLL_MS * 5));
      }
    }
  }

  /**
   * Fails the runs whose evaluator stopped mid-run (no heartbeat for HEARTBEAT_TIMEOUT_MS) and
   * announces each as failed, kind `reaped`; returns how many. Every replica does this now and then.
   */
  async reapAbandoned(): Promise<number> {
    const reaped = await this.queue.failAbandoned((manager, closed) =>
      this.announceFailures(manager, closed, 'reaped'),
    );
    if (reaped > 0) {
      this.outbox.wake();
      this.logger.warn(`${reaped} run(s) abandoned by a stopped evaluator were marked failed`);
    }
    return reaped;
  }

  /** Retries until the failure is stored (or the process stops; the reaper then catches the run). */
  private async recordFailure(runId: string, message: string): Promise<void> {
    for (let attempt = 1; !this.stopping; attempt++) {
      try {
        // False when it was no longer running: finished after all, or failed by a reaper.
        const failed = await this.queue.fail(runId, message, (manager, closed) =>
          this.announceFailures(manager, [closed], 'error'),
        );
        if (failed) this.outbox.wake();
        return;
      } catch (error) {
        if (attempt === 1)
          this.logger.warn(`cannot record the failure of run ${runId} yet: ${String(error)}`);
        await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 250 * attempt)));
      }
    }
  }

  /**
   * Puts the evaluation message of each failed replay into the outbox, in the transaction that
   * records the failure, so the history and the alerter hear of every run that ended, not only of
   * those that finished their replay. Trigger scans publish no evaluation, failed or not.
   */
  private async announceFailures(
    manager: EntityManager,
    closed: readonly ClosedRun[],
    kind: 'error' | 'reaped',
  ): Promise<void> {
    const replays = closed.filter(({ run }) => run.mode === 'replay');
    await this.outbox.append(
      manager,
      'evaluations',
      replays.map((entry) => ({
        key: entry.run.modelId,
        value: JSON.stringify(failedRunMessage(entry, kind)),
      })),
    );
  }
}
