import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuthModule } from '@tripline/auth';
import { ENVIRONMENT, type Environment } from '@tripline/config';
import { OutboxModule } from '@tripline/outbox';
import { AlertRuleRunner } from './alert-rule-runner';
import { AlertStore } from './alert-store';
import {
  AlertsController,
  ChannelsController,
  RulesController,
  SilencesController,
} from './alerts.controllers';
import { AlertQueries, ChannelService, RuleService, SilenceService } from './alerts.services';
import { DeliveryWorker } from './delivery-worker';
import { ALERTING_ENTITIES } from './entities';
import { NotificationSender } from './notification-sender';
import { ALERTER_SETTINGS, alerterSettings } from './settings';
import { AlerterWakeups } from './wakeups';

/**
 * Alert rules over the evaluations and metrics topics, the alert lifecycle in PostgreSQL, alert
 * events to the alerts topic, notifications with persisted, retried deliveries, and the REST API
 * for rules, alerts, silences and channels. Needs PostgreSQL and the event bus. It imports the
 * API-key guard itself: its routes change who gets paged and must never be served without it.
 */
@Module({
  imports: [AuthModule, OutboxModule, TypeOrmModule.forFeature(ALERTING_ENTITIES)],
  controllers: [RulesController, AlertsController, SilencesController, ChannelsController],
  providers: [
    {
      provide: ALERTER_SETTINGS,
      inject: [ENVIRONMENT],
      useFactory: (environment: Environment) => alerterSettings(environment),
    },
    AlerterWakeups,
    AlertStore,
    NotificationSender,
    DeliveryWorker,
    AlertRuleRunner,
    RuleService,
    AlertQueries,
    SilenceService,
    ChannelService,
  ],
  exports: [AlertStore, ALERTER_SETTINGS],
})
export class AlertsModule {}
