import { Module } from '@nestjs/common';
import { Outbox } from './outbox';
import { OutboxPublisher } from './outbox-publisher';

/**
 * The transactional outbox (`event_outbox`) and its publisher. Needs PostgreSQL and the event bus
 * (their global modules). Imported by every feature module that publishes a state change; Nest
 * makes one instance per process however many import it.
 */
@Module({
  providers: [Outbox, OutboxPublisher],
  exports: [Outbox, OutboxPublisher],
})
export class OutboxModule {}
