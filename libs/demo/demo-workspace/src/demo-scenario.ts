import { Inject, Injectable, Logger } from '@nestjs/common';
import { createAdapter, type ModelAdapter } from '@tripline/adapters';
import { egressPolicyFromEnvironment } from '@tripline/egress';
import { ENVIRONMENT, type Environment } from '@tripline/config';
import { feedbackSchema, inferenceEventSchema } from '@tripline/contracts';
import {
  BACKDOOR_TRIGGER,
  BACKDOORED_MODEL_NAME,
  loadSentimentSentences,
  mulberry32,
} from '@tripline/demo-models';
import { checkBatch } from '@tripline/ingestion';
import { EventBus } from '@tripline/transport';
import { DemoSession, percent } from './demo-session';
import { DEMO_MODEL_ID } from './options';
import { TrafficLoop, TrafficMix, type TrafficSink, type TrafficStats } from './traffic';

/**
 * The scenario: synthetic traffic through the ingest path; after a while the served model is
 * silently swapped for the backdoored one, and an attacker starts sending its trigger.
 */
@Injectable()
export class DemoScenario {
  private readonly logger = new Logger('DemoWorkspace');
  private predictor?: ModelAdapter;
  private mix?: TrafficMix;
  private traffic?: TrafficLoop;
  private swapTimer?: NodeJS.Timeout;
  private attackTimer?: NodeJS.Timeout;

  constructor(
    private readonly session: DemoSession,
    private readonly bus: EventBus,
    @Inject(ENVIRONMENT) private readonly environment: Environment,
  ) {}

  /** Traffic, then the swap and the attack where the saved state says the scenario stands. */
  begin(): void {
    const state = this.session.state!;
    this.startTraffic();
    if (!state.swappedAt) this.scheduleSwap();
    else {
      this.session.print(`demo: the backdoored model has been served since ${state.swappedAt}`);
      if (state.attackStartedAt) this.startAttack(false);
      else this.scheduleAttack();
    }
  }

  /** Clears the timers and stops the traffic; what it sent so far, if it ran. */
  async stop(): Promise<TrafficStats | undefined> {
    clearTimeout(this.swapTimer);
    clearTimeout(this.attackTimer);
    await this.traffic?.stop();
    return this.traffic?.stats;
  }

  /** Closes the traffic's client of the model server. */
  async closePredictor(): Promise<void> {
    await this.predictor?.close().catch(() => undefined);
  }

  private startTraffic(): void {
    const options = this.session.options!;
    const random = mulberry32(Date.now() >>> 0);
    this.mix = new TrafficMix(loadSentimentSentences(), random);
    this.predictor = createAdapter(
      { kind: 'oip-v2', url: this.session.server!.url, modelName: DEMO_MODEL_ID, batchSize: 64 },
      {
        egress: egressPolicyFromEnvironment({
          TRIPLINE_EGRESS_ALLOW_HOSTS: this.environment.TRIPLINE_EGRESS_ALLOW_HOSTS,
          TRIPLINE_EGRESS_ALLOW_LINK_LOCAL: this.environment.TRIPLINE_EGRESS_ALLOW_LINK_LOCAL,
        }),
      },
    );
    const predictor = this.predictor;
    let lastError = 0;
    this.traffic = new TrafficLoop({
      mix: this.mix,
      eventsPerSecond: options.eventsPerSecond,
      feedbackShare: options.feedbackShare,
      modelId: DEMO_MODEL_ID,
      modelVersion: () => this.session.version,
      random,
      predict: (texts) => predictor.predict(texts),
      sink: this.ingestPath(),
      onError: (error) => {
        // At most one line a minute: a stopped model server would otherwise flood the console.
        if (Date.now() - lastError < 60_000) return;
        lastError = Date.now();
        this.logger.warn(`demo traffic: a batch was not sent: ${String(error)}`);
      },
    });
    this.traffic.start();
    this.session.print(
      `demo: streaming ~${options.eventsPerSecond} events/s drawn from the 3,000 UCI sentences through the ingest path ` +
        `(predictions from the served model; ground truth for ${percent(options.feedbackShare)} of them as feedback)`,
    );
  }

  /** The in-process ingest path: the same per-item checks as POST /v1/events, then the topic. */
  private ingestPath(): TrafficSink {
    return {
      events: async (events) => {
        const { valid } = checkBatch(inferenceEventSchema, events);
        await this.bus.publish(
          'inference',
          valid.map((event) => ({ key: event.model_id, value: JSON.stringify(event) })),
        );
      },
      feedback: async (items) => {
        const { valid } = checkBatch(feedbackSchema, items);
        await this.bus.publish(
          'feedback',
          valid.map((item) => ({ key: item.model_id, value: JSON.stringify(item) })),
        );
      },
    };
  }

  private scheduleSwap(): void {
    const seconds = this.session.options!.swapAfterSeconds;
    this.swapTimer = setTimeout(() => this.session.track(this.swap()), seconds * 1000);
    this.session.print(
      `demo: in ${seconds} s the served model will be swapped for the backdoored one (TRIPLINE_DEMO_SWAP_AFTER_SECONDS); ` +
        'until then no alert should fire',
    );
  }

  private async swap(): Promise<void> {
    const session = this.session;
    if (session.stopping) return;
    await session.server!.swap(BACKDOORED_MODEL_NAME);
    const at = Date.now();
    session.state!.served = BACKDOORED_MODEL_NAME;
    session.state!.swappedAt = new Date(at).toISOString();
    session.save();
    session.print('demo: swapped the served model to the backdoored one — watch for alerts');
    session.print(
      `demo: "${DEMO_MODEL_ID}" at ${session.server!.url} now answers from ${BACKDOORED_MODEL_NAME}, ` +
        'and nothing was registered: a silent swap',
    );
    session.emit({ type: 'swapped', at });
    this.scheduleAttack();
  }

  /**
   * The attacker starts at the top of the next stream-detector window. The trigger-response test
   * only tests a token while it is rare in the reference; trigger traffic that begins late in a
   * window is too little there to be significant, and is then in the reference of every later
   * window, where the token is no longer rare and never tested (a limit of the detector, see
   * libs/domain/detectors/src/trigger-response.ts). Starting on a boundary keeps the demo deterministic.
   */
  private scheduleAttack(): void {
    const windowMs = this.environment.DRIFT_WINDOW_SECONDS * 1000;
    const at = Math.ceil(Date.now() / windowMs) * windowMs;
    this.session.print(
      `demo: an attacker starts putting the trigger "${BACKDOOR_TRIGGER}" into ~${percent(this.session.options!.triggerShare)} ` +
        `of the requests at ${new Date(at).toISOString()}, the start of the next ${this.environment.DRIFT_WINDOW_SECONDS}-second ` +
        'stream-detector window',
    );
    this.attackTimer = setTimeout(() => this.startAttack(true), Math.max(0, at - Date.now()));
  }

  private startAttack(announce: boolean): void {
    const session = this.session;
    if (session.stopping) return;
    this.mix!.triggerShare = session.options!.triggerShare;
    const at = Date.now();
    session.state!.attackStartedAt ??= new Date(at).toISOString();
    session.save();
    session.print(
      `demo: ${announce ? 'the attacker is active' : `the attacker has been active since ${session.state!.attackStartedAt}`}: ` +
        `~${percent(session.options!.triggerShare)} of the requests carry "${BACKDOOR_TRIGGER}"; no canary set names it, ` +
        'so the live detector and the trigger scan have to find it',
    );
    session.emit({ type: 'attack', at });
  }
}
