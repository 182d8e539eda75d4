import { Module } from '@nestjs/common';
import { ConfigModule } from '@tripline/config';
import { PostgresModule } from '@tripline/postgres';
import { OperabilityModule } from '@tripline/server';
import { TransportModule } from '@tripline/transport';

/** Rules over metrics and evaluations, alert lifecycle, notifications; Kafka and PostgreSQL only. */
@Module({
  imports: [ConfigModule, OperabilityModule, PostgresModule, TransportModule],
})
export class AlerterModule {}
