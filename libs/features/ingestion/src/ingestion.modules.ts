import { Global, Module } from '@nestjs/common';
import { LIVE_TRAFFIC_TEXTS } from '@tripline/runs';
import { EventSink } from './event-sink';
import { IngestController } from './ingest.controller';
import { ModelDriftController, ModelDriftService } from './model-drift';
import { ModelStatsController, ModelStatsService } from './model-stats';
import { ModelTimeSeriesController, ModelTimeSeriesService } from './model-timeseries';

/** The ingestor's half: topics into ClickHouse. Needs ClickHouse and the event bus. */
@Module({ providers: [EventSink], exports: [EventSink] })
export class EventSinkModule {}

/** The API's half: POST /v1/events and /v1/feedback onto the bus. */
@Module({ controllers: [IngestController] })
export class HttpIngestModule {}

/**
 * GET /v1/models/{id}/stats, /drift and /timeseries over ClickHouse, and the live-traffic texts
 * a trigger scan queued through the API takes its candidates from (global, so the registry's scan
 * endpoint finds them in whichever app has ClickHouse).
 */
@Global()
@Module({
  controllers: [ModelStatsController, ModelDriftController, ModelTimeSeriesController],
  providers: [
    ModelStatsService,
    ModelDriftService,
    ModelTimeSeriesService,
    { provide: LIVE_TRAFFIC_TEXTS, useExisting: ModelStatsService },
  ],
  exports: [ModelStatsService, LIVE_TRAFFIC_TEXTS],
})
export class ModelStatsModule {}
