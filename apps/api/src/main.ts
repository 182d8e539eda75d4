import 'reflect-metadata';
import { runApplication } from '@tripline/server';
import { ApiModule } from './api.module';

void runApplication(ApiModule, { service: 'api', openApi: true });
