import { Module } from '@nestjs/common';
import { ConfigModule } from '@tripline/config';
import { PostgresModule } from '@tripline/postgres';
import { OperabilityModule } from '@tripline/server';
import { TransportModule } from '@tripline/transport';
import { AlerterModule as AlertingFeatureModule } from '../../../libs/alerter/src';

/**
 * Rules over metrics and evaluations, alert lifecycle, notifications, and the API for rules,
 * alerts, silences and channels; Kafka and PostgreSQL only.
 */
@Module({
  imports: [ConfigModule, OperabilityModule, PostgresModule, TransportModule, AlertingFeatureModule],
})
export class AlerterModule {}
