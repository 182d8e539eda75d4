import { Module } from '@nestjs/common';
import { EventSink } from './event-sink';
import { IngestController } from './ingest.controller';
import { ModelDriftController, ModelDriftService } from './model-drift';
import { ModelStatsController, ModelStatsService } from './model-stats';

/** The ingestor's half: topics into ClickHouse. Needs ClickHouse and the event bus. */
@Module({ providers: [EventSink], exports: [EventSink] })
export class EventSinkModule {}

/** The API's half: POST /v1/events and /v1/feedback onto the bus. */
@Module({ controllers: [IngestController] })
export class HttpIngestModule {}

/** GET /v1/models/{id}/stats and /v1/models/{id}/drift over ClickHouse. */
@Module({
  controllers: [ModelStatsController, ModelDriftController],
  providers: [ModelStatsService, ModelDriftService],
  exports: [ModelStatsService],
})
export class ModelStatsModule {}
