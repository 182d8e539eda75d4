import { Module } from '@nestjs/common';
import { AlertHistoryModule } from '@tripline/alerts';
import { RegistryModule } from '@tripline/registry';
import { RunsModule } from '@tripline/runs';
import { EvidenceController } from './evidence.controller';
import { EvidenceService } from './evidence.service';

/**
 * GET /v1/models/{id}/evidence. Reads the registry and the alerter's state through their services, and
 * ClickHouse where the process has it (the api and standalone apps do).
 */
@Module({
  imports: [RegistryModule, RunsModule, AlertHistoryModule],
  controllers: [EvidenceController],
  providers: [EvidenceService],
})
export class EvidenceModule {}
