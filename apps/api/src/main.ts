import 'reflect-metadata';
import { requireSharedHistory } from '@tripline/config';
import { runApplication } from '@tripline/server';
import { ApiModule } from './api.module';

requireSharedHistory('api');
void runApplication(ApiModule, { service: 'api', openApi: true });
