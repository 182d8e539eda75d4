import { Module } from '@nestjs/common';
import { ConfigModule } from '@tripline/config';
import { PostgresModule } from '@tripline/postgres';
import { RagGuardModule } from '@tripline/rag-guard';
import { OperabilityModule } from '@tripline/server';
import { TransportModule } from '@tripline/transport';
import { AlertsModule } from '@tripline/alerts';

/**
 * Rules over metrics and evaluations, alert lifecycle, notifications, and the API for rules,
 * alerts, silences and channels, and the RAG stream rule (citations outside a model's allow-list);
 * Kafka and PostgreSQL only.
 */
@Module({
  imports: [ConfigModule, OperabilityModule, PostgresModule, TransportModule, AlertsModule, RagGuardModule],
})
export class AlerterModule {}
