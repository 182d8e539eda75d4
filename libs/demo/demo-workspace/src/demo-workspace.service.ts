import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Inject, Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { ENVIRONMENT, type Environment } from '@tripline/config';
import { alertEventSchema, validateJson } from '@tripline/contracts';
import { CLEAN_MODEL_NAME, startModelServer } from '@tripline/demo-models';
import { EvaluationWorker } from '@tripline/evaluation-runner';
import { ModelRegistry } from '@tripline/registry';
import { EventBus, type Subscription } from '@tripline/transport';
import { DemoResponder } from './demo-responder';
import { DemoScenario } from './demo-scenario';
import { DemoSeeder } from './demo-seeder';
import { DemoSession } from './demo-session';
import { DEMO_MODEL_ID, type DemoOptions } from './options';
import type { DemoState } from './state';
import { startWebhookReceiver } from './webhook-receiver';

/**
 * The demo workspace of `npm start` on an empty data directory, and of `npm run demo`: the demo
 * models behind the local model server, the model registered over OIP v2, a clean set, canary
 * sets, a probe set, one schedule, alert rules and a webhook channel (DemoSeeder); synthetic
 * traffic through the ingest path; after a while the served model is silently swapped for the
 * backdoored one and an attacker starts sending its trigger (DemoScenario). The console says what
 * happens and prints every alert.
 *
 * It also plays the on-call engineer (DemoResponder), so the scenario runs on by itself. This
 * class starts and stops the parts, in order; what they share is the DemoSession.
 *
 * A start interrupted while seeding is finished by the next one, and a seeded workspace is
 * resumed, never seeded twice.
 */
@Injectable()
export class DemoWorkspace implements BeforeApplicationShutdown {
  private subscription?: Subscription;
  private stopped?: Promise<void>;
  private starting?: Promise<'seeded' | 'resumed'>;

  constructor(
    private readonly session: DemoSession,
    private readonly seeder: DemoSeeder,
    private readonly scenario: DemoScenario,
    private readonly responder: DemoResponder,
    private readonly registry: ModelRegistry,
    private readonly bus: EventBus,
    private readonly moduleRef: ModuleRef,
    @Inject(ENVIRONMENT) private readonly environment: Environment,
  ) {}

  /**
   * Seeds (or resumes) the workspace and starts the scenario; resolves once traffic flows.
   * 'skipped' when the data directory holds models the demo did not create: it is not touched.
   */
  async start(options: DemoOptions): Promise<'seeded' | 'resumed' | 'skipped'> {
    if (this.session.options) throw new Error('the demo workspace is already running');
    this.session.options = options;
    const saved = this.session.stateFile.read();
    if (!saved && (await this.registry.list()).length > 0) {
      this.session.print(
        'demo: skipped — this data directory already has models of its own (TRIPLINE_DEMO=false hides this line)',
      );
      return 'skipped';
    }
    this.starting = this.run(saved);
    try {
      return await this.starting;
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  /** Stops traffic, the responders, the model server and the webhook receiver; idempotent. */
  stop(): Promise<void> {
    this.stopped ??= this.shutdown();
    return this.stopped;
  }

  /**
   * Resolves once every trigger scan queued in this process has reported its answer (or failed),
   * including scans queued while waiting: what a script that ends the demo waits for.
   */
  scansReported(): Promise<void> {
    return this.responder.scansReported();
  }

  private async run(saved: DemoState | undefined): Promise<'seeded' | 'resumed'> {
    const session = this.session;
    const resumed = saved?.phase === 'seeded';
    this.announce(saved);
    // Before anything can fire, so that no alert of this run is missed.
    this.subscription = await this.bus.subscribe({
      groupId: `${this.environment.KAFKA_TOPIC_PREFIX}demo-console`,
      topics: ['alerts'],
      fromBeginning: false,
      handleBatch: async (batch) => {
        for (const message of batch.messages) {
          const checked = validateJson(alertEventSchema, message.value);
          if (checked.ok) this.responder.onAlert(checked.value);
        }
      },
    });

    this.seeder.prepareModelFolders();
    const state = saved ?? freshState();
    session.state = state;
    await this.startModelServer(state);
    await this.startWebhookReceiver(state);
    session.save();

    await this.seeder.seed(state);
    state.phase = 'seeded';
    session.save();

    // Stopped while seeding (Ctrl-C at start-up): leave the rest to the next start.
    if (session.stopping) return resumed ? 'resumed' : 'seeded';
    this.scenario.begin();
    this.printWhereToLook(resumed);
    session.emit({ type: 'seeded', at: Date.now(), resumed });
    return resumed ? 'resumed' : 'seeded';
  }

  private announce(saved: DemoState | undefined): void {
    if (!saved)
      this.session.print(
        'demo: empty data directory — seeding a demo workspace (TRIPLINE_DEMO=false skips it)',
      );
    else if (saved.phase !== 'seeded')
      this.session.print('demo: finishing the demo workspace an interrupted start began to seed');
    else
      this.session.print(
        `demo: resuming the demo workspace in ${path.resolve(this.environment.TRIPLINE_DATA_DIR)}`,
      );
  }

  /** On the saved port when it is free, so the registered adapter URL stays valid. */
  private async startModelServer(state: DemoState): Promise<void> {
    const session = this.session;
    const server = await listenPreferring(state.modelServerPort, (port) =>
      startModelServer({ modelsDir: session.modelsDir, model: state.served, name: DEMO_MODEL_ID, port }),
    );
    session.server = server.value;
    if (server.moved) session.print(`demo: port ${state.modelServerPort} was taken; the model server moved`);
    state.modelServerPort = Number(new URL(session.server.url).port);
    session.print(
      `demo: model server on ${session.server.url} serving ${state.served} as "${DEMO_MODEL_ID}" (OIP v2)`,
    );
  }

  /** The receiver of the webhook channel, which prints every delivery. */
  private async startWebhookReceiver(state: DemoState): Promise<void> {
    const session = this.session;
    const receiver = await listenPreferring(state.webhookPort, (port) =>
      startWebhookReceiver({
        port,
        secret: state.webhookSecret,
        onDelivery: (delivery) => {
          session.print(
            `demo: webhook channel received ${delivery.alerts.length} alert(s) (${delivery.event || 'notification'}, ` +
              `signature ${delivery.verified ? 'verified' : 'INVALID'})`,
          );
          session.emit({
            type: 'webhook',
            at: Date.now(),
            verified: delivery.verified,
            alerts: delivery.alerts.length,
          });
        },
      }),
    );
    session.receiver = receiver.value;
    state.webhookPort = session.receiver.port;
  }

  private printWhereToLook(resumed: boolean): void {
    const options = this.session.options!;
    const url = options.publicUrl;
    const key =
      options.adminKeyHint === 'environment'
        ? 'the key in TRIPLINE_ADMIN_KEY'
        : resumed
          ? 'the admin key printed on the first start; lost it? restart with TRIPLINE_ADMIN_KEY set'
          : 'the admin key printed above, shown once';
    for (const line of [
      'demo: where to look:',
      `demo:   API            ${url}/v1/…  with Authorization: Bearer <key> (${key})`,
      `demo:   API docs       ${url}/docs`,
      `demo:   metrics        ${url}/metrics`,
      `demo:   alerts         curl -H "Authorization: Bearer $TRIPLINE_API_KEY" ${url}/v1/alerts   (or: npx tripline alerts list)`,
      `demo:   evaluations    ${url}/v1/evaluations?model_id=${DEMO_MODEL_ID}`,
      `demo:   live stats     ${url}/v1/models/${DEMO_MODEL_ID}/stats`,
      `demo: alerts are printed here as they fire${options.resumable ? '; Ctrl-C stops, and the next start resumes with the data kept' : ''}`,
    ])
      this.session.print(line);
    if (['info', 'debug', 'trace'].includes(this.environment.LOG_LEVEL)) {
      this.session.print(
        'demo: (the JSON lines are the service logs; LOG_LEVEL=warn npm start leaves the demo lines alone)',
      );
    }
  }

  private async shutdown(): Promise<void> {
    const session = this.session;
    session.stopping = true;
    // A start in progress finishes its step first; it starts no traffic once stopping is set.
    await this.starting?.catch(() => undefined);
    const stats = await this.scenario.stop();
    await this.subscription?.stop().catch(() => undefined);
    await session.tasksSettled();
    if (session.server) {
      // The evaluator may be replaying a set against the model server right now: let that run
      // finish (and no new one start) before the server goes, or the run would fail for nothing.
      try {
        await this.moduleRef.get(EvaluationWorker, { strict: false }).onApplicationShutdown();
      } catch {
        // No evaluator in this process.
      }
    }
    await this.scenario.closePredictor();
    await session.server?.close().catch(() => undefined);
    await session.receiver?.close().catch(() => undefined);
    if (session.server) {
      session.print(
        `demo: stopped — model server closed, traffic stopped${stats ? ` after ${stats.sent} events` : ''}` +
          (session.options?.resumable ? '; the data is kept, and the next start resumes the demo' : ''),
      );
    }
  }
}

/** The state of a first start: the clean model served, nothing seeded yet. */
function freshState(): DemoState {
  return {
    version: 1,
    phase: 'seeding',
    seededAt: new Date().toISOString(),
    modelServerPort: 0,
    webhookPort: 0,
    webhookSecret: randomBytes(24).toString('base64url'),
    served: CLEAN_MODEL_NAME,
    swappedAt: null,
    attackStartedAt: null,
    promotedTriggers: [],
  };
}

/** Listens on the preferred port when it is free, else on any free port (and says it moved). */
async function listenPreferring<T>(
  preferred: number,
  start: (port: number) => Promise<T>,
): Promise<{ value: T; moved: boolean }> {
  if (preferred > 0) {
    try {
      return { value: await start(preferred), moved: false };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    }
  }
  return { value: await start(0), moved: preferred > 0 };
}
