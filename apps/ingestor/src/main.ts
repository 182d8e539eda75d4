import 'reflect-metadata';
import { runApplication } from '@tripline/server';
import { IngestorModule } from './ingestor.module';

void runApplication(IngestorModule, { service: 'ingestor' });
