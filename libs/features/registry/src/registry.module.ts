import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { OutboxModule } from '@tripline/outbox';
import { CanaryFactory } from './canary-factory.service';
import { DatasetService } from './dataset.service';
import { REGISTRY_ENTITIES } from './entities';
import { ModelRegistry } from './model-registry.service';
import {
  BaselinesController,
  DatasetsController,
  EvaluationsController,
  ModelsController,
  ScansController,
  SchedulesController,
} from './registry.controllers';
import { RunQueue } from './run-queue.service';
import { ScheduleService } from './schedule.service';

/**
 * The registry's state and services (models, versions, datasets, schedules, the run queue): no
 * routes. Its tables are its own: other libs read and change them through these services, never
 * through the entities (the repositories are not exported).
 */
@Module({
  imports: [TypeOrmModule.forFeature(REGISTRY_ENTITIES), OutboxModule],
  providers: [ModelRegistry, DatasetService, ScheduleService, RunQueue, CanaryFactory],
  exports: [ModelRegistry, DatasetService, ScheduleService, RunQueue, CanaryFactory],
})
export class RegistryModule {}

/** REST for the registry: /v1/models, /v1/datasets, /v1/schedules, /v1/evaluations. */
@Module({
  imports: [RegistryModule],
  controllers: [
    ModelsController,
    BaselinesController,
    DatasetsController,
    SchedulesController,
    EvaluationsController,
    ScansController,
  ],
})
export class RegistryApiModule {}
