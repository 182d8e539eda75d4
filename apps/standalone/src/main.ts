import 'reflect-metadata';
import { loadEnvironmentOrExit } from '@tripline/config';
import { startDemoWorkspace } from '@tripline/demo-workspace';
import { runApplication } from '@tripline/server';
import { claimDataDirectory } from './data-directory';
import { StandaloneModule } from './standalone.module';

const environment = loadEnvironmentOrExit();
claimDataDirectory(environment.TRIPLINE_DATA_DIR);
// The demo starts once the API listens, so its "where to look" lines point at a live server.
void runApplication(StandaloneModule, { service: 'standalone', openApi: true }).then((app) =>
  startDemoWorkspace(app, environment),
);
