import { Module } from '@nestjs/common';
import { ClickHouseModule } from '@tripline/clickhouse';
import { ConfigModule } from '@tripline/config';
import { EventSinkModule } from '@tripline/ingestion';
import { OperabilityModule } from '@tripline/server';
import { StreamDetectionModule } from '@tripline/stream-detection';
import { TransportModule } from '@tripline/transport';

/** Kafka consumer: the one writer of ClickHouse, and the stream detectors. */
@Module({
  imports: [
    ConfigModule,
    OperabilityModule,
    ClickHouseModule,
    TransportModule,
    EventSinkModule,
    StreamDetectionModule,
  ],
})
export class IngestorModule {}
