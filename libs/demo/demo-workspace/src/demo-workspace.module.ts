import { Module } from '@nestjs/common';
import { RegistryModule } from '@tripline/registry';
import { RunsModule } from '@tripline/runs';
import { DemoResponder } from './demo-responder';
import { DemoScenario } from './demo-scenario';
import { DemoSeeder } from './demo-seeder';
import { DemoSession } from './demo-session';
import { DemoWorkspace } from './demo-workspace.service';

/**
 * The demo workspace, inert until started (the standalone app starts it on an empty data
 * directory, `npm run demo` with compressed settings). The alerter's rule and channel services
 * are looked up in the application at start, so the module does not pull the alerter in itself.
 */
@Module({
  imports: [RegistryModule, RunsModule],
  providers: [DemoSession, DemoSeeder, DemoScenario, DemoResponder, DemoWorkspace],
  exports: [DemoWorkspace],
})
export class DemoWorkspaceModule {}
