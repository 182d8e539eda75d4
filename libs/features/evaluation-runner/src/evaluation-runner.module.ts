import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { OutboxModule } from '@tripline/outbox';
import { RegistryModule } from '@tripline/registry';
import { RunsModule } from '@tripline/runs';
import { ArtefactIntegrity } from './artefact-integrity';
import { EvaluationExecutor } from './evaluation-executor';
import { EvaluationScheduler } from './evaluation-scheduler';
import { EvaluationWorker } from './evaluation-worker';
import { ManifestHashing } from './manifest-hashing';

/**
 * Schedules, the run queue's consumer and the replay itself. Needs PostgreSQL and the bus; run
 * outcomes reach the evaluations topic through the outbox.
 */
@Module({
  imports: [ScheduleModule.forRoot(), RegistryModule, RunsModule, OutboxModule],
  providers: [EvaluationScheduler, EvaluationWorker, EvaluationExecutor, ArtefactIntegrity, ManifestHashing],
  exports: [EvaluationExecutor, ArtefactIntegrity, ManifestHashing],
})
export class EvaluationRunnerModule {}
