import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { OutboxModule } from '@tripline/outbox';
import { CanaryFactory } from './canary-factory.service';
import { DatasetService } from './dataset.service';
import { REGISTRY_ENTITIES } from './entities';
import { ModelRegistry } from './model-registry.service';
import { DatasetsController } from './datasets.controller';
import { ModelsController } from './models.controller';
import { SchedulesController } from './schedules.controller';
import { ScheduleService } from './schedule.service';

/**
 * The registry's state and services (models, versions, datasets, schedules): no
 * routes. Its tables are its own: other libs read and change them through these services, never
 * through the entities (the repositories are not exported).
 */
@Module({
  imports: [TypeOrmModule.forFeature(REGISTRY_ENTITIES), OutboxModule],
  providers: [ModelRegistry, DatasetService, ScheduleService, CanaryFactory],
  exports: [ModelRegistry, DatasetService, ScheduleService, CanaryFactory],
})
export class RegistryModule {}

/** REST for the registry: /v1/models, /v1/datasets, /v1/schedules (runs and scans: @tripline/runs). */
@Module({
  imports: [RegistryModule],
  controllers: [ModelsController, DatasetsController, SchedulesController],
})
export class RegistryApiModule {}
