import 'reflect-metadata';
import { loadEnvironmentOrExit } from '@tripline/config';
import { runApplication } from '@tripline/server';
import { claimDataDirectory } from './data-directory';
import { StandaloneModule } from './standalone.module';

const environment = loadEnvironmentOrExit();
claimDataDirectory(environment.TRIPLINE_DATA_DIR);
void runApplication(StandaloneModule, { service: 'standalone', openApi: true });
