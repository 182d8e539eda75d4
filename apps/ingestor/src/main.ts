import 'reflect-metadata';
import { requireSharedHistory } from '@tripline/config';
import { runApplication } from '@tripline/server';
import { IngestorModule } from './ingestor.module';

requireSharedHistory('ingestor');
void runApplication(IngestorModule, { service: 'ingestor' });
