import type { INestApplicationContext } from '@nestjs/common';
import type { Environment } from '@tripline/config';
import { DemoWorkspace } from './demo-workspace.service';
import { demoOptionsFromEnvironment } from './options';

/**
 * What the standalone app runs once it listens: the demo, unless TRIPLINE_DEMO=false. A demo that
 * cannot start says why and leaves the platform running: the demo is a guest, not a dependency.
 */
export async function startDemoWorkspace(
  app: INestApplicationContext,
  environment: Environment,
): Promise<void> {
  if (environment.TRIPLINE_DEMO !== 'true') return;
  try {
    await app.get(DemoWorkspace).start(demoOptionsFromEnvironment(environment));
  } catch (error) {
    process.stderr.write(
      `demo: the demo workspace could not start: ${error instanceof Error ? error.message : String(error)}\n` +
        'demo: Tripline itself runs on; TRIPLINE_DEMO=false skips the demo\n',
    );
  }
}
