import 'reflect-metadata';
import { runApplication } from '@tripline/server';
import { AlerterModule } from './alerter.module';

void runApplication(AlerterModule, { service: 'alerter' });
