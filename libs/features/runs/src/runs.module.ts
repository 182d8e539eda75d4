import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { RegistryModule } from '@tripline/registry';
import { BaselinesController } from './baselines.controller';
import { RUN_ENTITIES } from './entities';
import { EvaluationsController } from './evaluations.controller';
import { RunQueue } from './run-queue.service';
import { ScansController } from './scans.controller';

/**
 * The run queue (`evaluation_runs`): evaluations and trigger scans waiting, running and done, and
 * their baselines; no routes. Its table is its own: other libs go through RunQueue (the
 * repository is not exported). Models and datasets it reads through the registry's services.
 */
@Module({
  imports: [TypeOrmModule.forFeature(RUN_ENTITIES), RegistryModule],
  providers: [RunQueue],
  exports: [RunQueue],
})
export class RunsModule {}

/** REST for runs and scans: /v1/evaluations, /v1/models/{id}/baselines, /v1/scans. */
@Module({
  imports: [RunsModule, RegistryModule],
  controllers: [EvaluationsController, BaselinesController, ScansController],
})
export class RunsApiModule {}
