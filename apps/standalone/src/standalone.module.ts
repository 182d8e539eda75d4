import { Module } from '@nestjs/common';
import { AuthModule } from '@tripline/auth';
import { ClickHouseModule } from '@tripline/clickhouse';
import { ConfigModule } from '@tripline/config';
import { EvidenceModule } from '@tripline/evidence';
import { DemoWorkspaceModule } from '@tripline/demo-workspace';
import { PostgresModule } from '@tripline/postgres';
import { RagGuardModule } from '@tripline/rag-guard';
import { EventSinkModule, HttpIngestModule, ModelStatsModule } from '@tripline/ingestion';
import { EvaluationRunnerModule } from '@tripline/evaluation-runner';
import { RegistryApiModule } from '@tripline/registry';
import { RunsApiModule } from '@tripline/runs';
import { ConsoleModule, OperabilityModule } from '@tripline/server';
import { StreamDetectionModule } from '@tripline/stream-detection';
import { TransportModule } from '@tripline/transport';
import { AlertsModule } from '@tripline/alerts';

/**
 * Every feature module in one process. With no service variables set, storage is embedded
 * (chDB, PGlite, the on-disk event log) under TRIPLINE_DATA_DIR. The demo workspace is inert
 * until main() starts it.
 */
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
    EventSinkModule,
    StreamDetectionModule,
    RegistryApiModule,
    RunsApiModule,
    EvidenceModule,
    EvaluationRunnerModule,
    AlertsModule,
    RagGuardModule,
    DemoWorkspaceModule,
  ],
})
export class StandaloneModule {}
