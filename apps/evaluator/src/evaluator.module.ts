import { Module } from '@nestjs/common';
import { ConfigModule } from '@tripline/config';
import { PostgresModule } from '@tripline/postgres';
import { EvaluationRunnerModule } from '@tripline/evaluation-runner';
import { OperabilityModule } from '@tripline/server';
import { TransportModule } from '@tripline/transport';

/** Scheduled replays of clean and canary sets; needs Kafka and PostgreSQL, never ClickHouse. */
@Module({
  imports: [ConfigModule, OperabilityModule, PostgresModule, TransportModule, EvaluationRunnerModule],
})
export class EvaluatorModule {}
