import { Module } from '@nestjs/common';
import { RegistryModule } from '@tripline/registry';
import { RagCitationGuard } from './rag-citation-guard';

/**
 * The RAG stream rule (see RagCitationGuard). Needs PostgreSQL (the models' allow-lists, read through the registry's module), the
 * event bus, configuration and metrics, which the process composes globally; imported by the
 * alerter and standalone apps.
 */
@Module({ imports: [RegistryModule], providers: [RagCitationGuard], exports: [RagCitationGuard] })
export class RagGuardModule {}
