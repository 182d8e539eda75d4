import path from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import { ENVIRONMENT, type Environment } from '@tripline/config';
import { buildDemoModels, type DemoModelSet, type ModelServer } from '@tripline/demo-models';
import type { DemoEvent, DemoOptions } from './options';
import { DemoStateFile, type DemoState } from './state';
import type { WebhookReceiver } from './webhook-receiver';

/**
 * What the seeding, the scenario and the responder of one demo run share: the options it was
 * started with, the saved state, the model server and webhook receiver, whether it is stopping,
 * and the console. One per process, like the workspace, so each part takes it by injection
 * instead of the workspace handing its fields around.
 */
@Injectable()
export class DemoSession {
  readonly stateFile: DemoStateFile;
  readonly modelsDir: string;
  options?: DemoOptions;
  state?: DemoState;
  server?: ModelServer;
  receiver?: WebhookReceiver;
  /** The registered version the traffic reports. */
  version = '1';
  stopping = false;
  private models?: DemoModelSet;
  private readonly tasks = new Set<Promise<unknown>>();

  constructor(@Inject(ENVIRONMENT) environment: Environment) {
    this.stateFile = new DemoStateFile(environment.TRIPLINE_DATA_DIR);
    this.modelsDir = path.resolve(environment.TRIPLINE_DATA_DIR, 'models');
  }

  /** Deterministic (fixed seed): rebuilt identically whenever a step needs the split again. */
  demoModels(): DemoModelSet {
    this.models ??= buildDemoModels();
    return this.models;
  }

  /** Runs a step in the background; a failure is printed unless the demo is stopping. */
  track(task: Promise<unknown>): void {
    const tracked = task
      .catch((error: unknown) => {
        if (!this.stopping)
          this.print(`demo: a step failed: ${error instanceof Error ? error.message : String(error)}`);
      })
      .finally(() => this.tasks.delete(tracked));
    this.tasks.add(tracked);
  }

  /** Resolves once every background step has ended. */
  async tasksSettled(): Promise<void> {
    await Promise.allSettled([...this.tasks]);
  }

  save(): void {
    if (this.state) this.stateFile.write(this.state);
  }

  print(line: string): void {
    (this.options?.print ?? ((text: string) => process.stdout.write(`${text}\n`)))(line);
  }

  emit(event: DemoEvent): void {
    this.options?.onEvent?.(event);
  }
}

export function percent(share: number): string {
  return `${Math.round(share * 100)}%`;
}
