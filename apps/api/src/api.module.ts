import { Module } from '@nestjs/common';
import { AuthModule } from '@tripline/auth';
import { ClickHouseModule } from '@tripline/clickhouse';
import { ConfigModule } from '@tripline/config';
import { EvidenceModule } from '@tripline/evidence';
import { PostgresModule } from '@tripline/postgres';
import { HttpIngestModule, ModelStatsModule } from '@tripline/ingestion';
import { RegistryApiModule } from '@tripline/registry';
import { RunsApiModule } from '@tripline/runs';
import { ConsoleModule, OperabilityModule } from '@tripline/server';
import { TransportModule } from '@tripline/transport';

/** REST + OpenAPI: registry, datasets, schedules, rules, alerts and HTTP ingest. */
@Module({
  imports: [
    ConfigModule,
    OperabilityModule,
    ConsoleModule,
    PostgresModule,
    ClickHouseModule,
    TransportModule,
    AuthModule,
    HttpIngestModule,
    ModelStatsModule,
    RegistryApiModule,
    RunsApiModule,
    EvidenceModule,
  ],
})
export class ApiModule {}
