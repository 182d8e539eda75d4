import { Module } from '@nestjs/common';
import { RagCitationGuard } from './rag-citation-guard';

/**
 * The RAG stream rule (see RagCitationGuard). Needs PostgreSQL (the models' allow-lists), the
 * event bus, configuration and metrics, which the process composes globally; imported by the
 * alerter and standalone apps.
 */
@Module({ providers: [RagCitationGuard], exports: [RagCitationGuard] })
export class RagGuardModule {}
