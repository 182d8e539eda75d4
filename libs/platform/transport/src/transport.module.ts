import path from 'node:path';
import { Global, Logger, Module } from '@nestjs/common';
import { ENVIRONMENT, type Environment } from '@tripline/config';
import { EmbeddedBus } from './embedded-bus';
import { EventBus } from './event-bus';
import { KafkaBus } from './kafka-bus';

/** Provides the EventBus: Kafka when KAFKA_BROKERS is set, the embedded durable log otherwise. */
@Global()
@Module({
  providers: [
    {
      provide: EventBus,
      inject: [ENVIRONMENT],
      useFactory: async (environment: Environment): Promise<EventBus> => {
        const logger = new Logger('Transport');
        if (!environment.KAFKA_BROKERS) {
          const directory = path.resolve(environment.TRIPLINE_DATA_DIR, 'bus');
          logger.log(`embedded event log at ${directory}`);
          return new EmbeddedBus({ directory, topicPrefix: environment.KAFKA_TOPIC_PREFIX });
        }
        const bus = new KafkaBus({
          brokers: environment.KAFKA_BROKERS,
          clientId: environment.KAFKA_CLIENT_ID,
          topicPrefix: environment.KAFKA_TOPIC_PREFIX,
          partitions: environment.KAFKA_PARTITIONS,
          replicationFactor: environment.KAFKA_REPLICATION_FACTOR,
        });
        await bus.ensureTopics();
        logger.log(`Kafka at ${environment.KAFKA_BROKERS.join(',')}, topics ready`);
        return bus;
      },
    },
  ],
  exports: [EventBus],
})
export class TransportModule {}
