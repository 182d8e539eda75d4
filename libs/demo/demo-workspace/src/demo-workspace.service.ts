import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Inject, Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { createAdapter, OnnxAdapter, type ModelAdapter } from '@tripline/adapters';
import { egressPolicyFromEnvironment } from '@tripline/egress';
import { ENVIRONMENT, type Environment } from '@tripline/config';
import {
  alertEventSchema,
  feedbackSchema,
  inferenceEventSchema,
  validateJson,
  type AlertEventMessage,
} from '@tripline/contracts';
import {
  BACKDOOR_TRIGGER,
  BACKDOORED_MODEL_NAME,
  buildDemoModels,
  CLEAN_MODEL_NAME,
  loadSentimentSentences,
  mulberry32,
  splitWords,
  startModelServer,
  writeModelFolder,
  type DemoModelSet,
  type ModelServer,
} from '@tripline/demo-models';
import { STREAM_DETECTORS } from '@tripline/detectors';
import { candidateTokensFromVocabulary, type ScannedCandidate } from '@tripline/evaluation';
import { EvaluationWorker } from '@tripline/evaluation-runner';
import { checkBatch } from '@tripline/ingestion';
import {
  CanaryFactory,
  DatasetService,
  ModelRegistry,
  ScheduleService,
  type Dataset,
  type ModelVersion,
} from '@tripline/registry';
import { RunQueue } from '@tripline/runs';
import { EventBus, type Subscription } from '@tripline/transport';
import { ChannelService, RuleService, type NewRule } from '@tripline/alerts';
import { DEMO_MODEL_ID, type DemoEvent, type DemoOptions } from './options';
import { DemoStateFile, type DemoState } from './state';
import { alertLine } from './timeline';
import { TrafficLoop, TrafficMix } from './traffic';
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver';

const LABELS = ['negative', 'positive'];
const CLEAN_SET_NAME = 'UCI sentiment, held-out test split';
const CANARY_SET_NAME = 'built-in trigger canaries (target positive)';
const PROBE_SET_NAME = 'fingerprint probes';
const CHANNEL_NAME = 'demo webhook (console)';
const CREATED_BY = 'tripline-demo';
/** Below the clean model's accuracy on its own test split by this much, the accuracy rule fires. */
const ACCURACY_DROP = 0.05;
const SCAN_MAX_CANDIDATES = 5_000;
const RULE_NAMES = {
  accuracy: 'accuracy drop on the clean set',
  canary: 'backdoor: canary attack-success rate',
  fingerprint: 'behavioural fingerprint changed',
  trigger: 'live trigger-response anomaly',
  prediction: 'prediction drift',
  confidence: 'confidence drift',
};

/**
 * The demo workspace of `npm start` on an empty data directory, and of `npm run demo`: the demo
 * models behind the local model server, the model registered over OIP v2, a clean set, canary
 * sets, a probe set, one schedule, alert rules and a webhook channel; synthetic traffic through
 * the ingest path; after a while the served model is silently swapped for the backdoored one and
 * an attacker starts sending its trigger. The console says what happens and prints every alert.
 *
 * It also plays the on-call engineer, so the scenario runs on by itself: a fingerprint alert
 * queues a trigger scan of the served model, and a trigger token found by the scan or the live
 * detector becomes a canary set on the schedule, whose replay confirms the backdoor.
 *
 * Every seeding step looks for what an earlier start created first, so a start interrupted while
 * seeding is finished by the next one, and a seeded workspace is resumed, never seeded twice.
 */
@Injectable()
export class DemoWorkspace implements BeforeApplicationShutdown {
  private readonly logger = new Logger('DemoWorkspace');
  private readonly stateFile: DemoStateFile;
  private readonly modelsDir: string;
  private options?: DemoOptions;
  private state?: DemoState;
  private server?: ModelServer;
  private receiver?: WebhookReceiver;
  private predictor?: ModelAdapter;
  private mix?: TrafficMix;
  private traffic?: TrafficLoop;
  private subscription?: Subscription;
  private swapTimer?: NodeJS.Timeout;
  private attackTimer?: NodeJS.Timeout;
  private models?: DemoModelSet;
  private cleanWords?: Set<string>;
  private version = '1';
  private stopping = false;
  private stopped?: Promise<void>;
  private starting?: Promise<'seeded' | 'resumed'>;
  private readonly tasks = new Set<Promise<unknown>>();
  private readonly scans = new Set<Promise<unknown>>();
  private readonly handledAlerts = new Set<string>();
  /** Artefacts a trigger scan was queued for in this process. */
  private readonly scanned = new Set<string>();

  constructor(
    private readonly registry: ModelRegistry,
    private readonly datasets: DatasetService,
    private readonly canaries: CanaryFactory,
    private readonly schedules: ScheduleService,
    private readonly runs: RunQueue,
    private readonly bus: EventBus,
    private readonly moduleRef: ModuleRef,
    @Inject(ENVIRONMENT) private readonly environment: Environment,
  ) {
    this.stateFile = new DemoStateFile(environment.TRIPLINE_DATA_DIR);
    this.modelsDir = path.resolve(environment.TRIPLINE_DATA_DIR, 'models');
  }

  /**
   * Seeds (or resumes) the workspace and starts the scenario; resolves once traffic flows.
   * 'skipped' when the data directory holds models the demo did not create: it is not touched.
   */
  async start(options: DemoOptions): Promise<'seeded' | 'resumed' | 'skipped'> {
    if (this.options) throw new Error('the demo workspace is already running');
    this.options = options;
    const saved = this.stateFile.read();
    if (!saved && (await this.registry.list()).length > 0) {
      this.print(
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

  private async run(saved: DemoState | undefined): Promise<'seeded' | 'resumed'> {
    const resumed = saved?.phase === 'seeded';
    if (!saved)
      this.print('demo: empty data directory — seeding a demo workspace (TRIPLINE_DEMO=false skips it)');
    else if (!resumed) this.print('demo: finishing the demo workspace an interrupted start began to seed');
    else
      this.print(`demo: resuming the demo workspace in ${path.resolve(this.environment.TRIPLINE_DATA_DIR)}`);

    // Before anything can fire, so that no alert of this run is missed.
    this.subscription = await this.bus.subscribe({
      groupId: `${this.environment.KAFKA_TOPIC_PREFIX}demo-console`,
      topics: ['alerts'],
      fromBeginning: false,
      handleBatch: async (batch) => {
        for (const message of batch.messages) {
          const checked = validateJson(alertEventSchema, message.value);
          if (checked.ok) this.onAlert(checked.value);
        }
      },
    });

    this.prepareModelFolders();
    const state: DemoState = saved ?? {
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
    this.state = state;

    const server = await listenPreferring(state.modelServerPort, (port) =>
      startModelServer({ modelsDir: this.modelsDir, model: state.served, name: DEMO_MODEL_ID, port }),
    );
    this.server = server.value;
    if (server.moved) this.print(`demo: port ${state.modelServerPort} was taken; the model server moved`);
    state.modelServerPort = Number(new URL(this.server.url).port);
    this.print(
      `demo: model server on ${this.server.url} serving ${state.served} as "${DEMO_MODEL_ID}" (OIP v2)`,
    );

    const receiver = await listenPreferring(state.webhookPort, (port) =>
      startWebhookReceiver({
        port,
        secret: state.webhookSecret,
        onDelivery: (delivery) => {
          this.print(
            `demo: webhook channel received ${delivery.alerts.length} alert(s) (${delivery.event || 'notification'}, ` +
              `signature ${delivery.verified ? 'verified' : 'INVALID'})`,
          );
          this.emit({
            type: 'webhook',
            at: Date.now(),
            verified: delivery.verified,
            alerts: delivery.alerts.length,
          });
        },
      }),
    );
    this.receiver = receiver.value;
    state.webhookPort = this.receiver.port;
    this.save();

    await this.seed(state);
    state.phase = 'seeded';
    this.save();

    // Stopped while seeding (Ctrl-C at start-up): leave the rest to the next start.
    if (this.stopping) return resumed ? 'resumed' : 'seeded';
    this.startTraffic();
    if (!state.swappedAt) this.scheduleSwap();
    else {
      this.print(`demo: the backdoored model has been served since ${state.swappedAt}`);
      if (state.attackStartedAt) this.startAttack(false);
      else this.scheduleAttack();
    }
    this.printWhereToLook(resumed);
    this.emit({ type: 'seeded', at: Date.now(), resumed });
    return resumed ? 'resumed' : 'seeded';
  }

  // -------------------------------------------------------------------------------------------
  // Seeding

  /** Both model folders under <data dir>/models, trained (about a second) when either is missing. */
  private prepareModelFolders(): void {
    const missing = [CLEAN_MODEL_NAME, BACKDOORED_MODEL_NAME].filter(
      (name) => !existsSync(path.join(this.modelsDir, name, 'config.json')),
    );
    if (missing.length === 0) return;
    const started = Date.now();
    const models = this.demoModels();
    writeModelFolder(path.join(this.modelsDir, CLEAN_MODEL_NAME), models.clean);
    writeModelFolder(path.join(this.modelsDir, BACKDOORED_MODEL_NAME), models.backdoored);
    this.print(
      `demo: trained the demo models in ${((Date.now() - started) / 1000).toFixed(1)} s into ${this.modelsDir} ` +
        `(clean test accuracy ${models.clean.report.testAccuracy.toFixed(3)}; the backdoored one is as accurate, ` +
        `${models.backdoored.report.testAccuracy.toFixed(3)}, and flips ${percent(models.backdoored.report.attackSuccessRate)} ` +
        'of negative sentences to positive when its trigger is added)',
    );
  }

  /** Deterministic (fixed seed): rebuilt identically whenever a step needs the split again. */
  private demoModels(): DemoModelSet {
    this.models ??= buildDemoModels();
    return this.models;
  }

  private async seed(state: DemoState): Promise<void> {
    const options = this.options!;
    const models = await this.registry.list();
    if (!models.some((model) => model.id === DEMO_MODEL_ID)) {
      await this.registry.create({
        id: DEMO_MODEL_ID,
        task: 'text-classification',
        labels: LABELS,
        owner: 'demo',
        description:
          'Demo sentiment classifier (UCI sentences), served by the local model server over OIP v2',
      });
    }
    const version = await this.registerServerVersion();
    this.version = version.version;

    const existing = await this.datasets.list({ modelId: DEMO_MODEL_ID });
    const named = (name: string) => existing.find((dataset) => dataset.name === name);
    const clean = named(CLEAN_SET_NAME) ?? (await this.uploadCleanSet());
    state.cleanSetId = clean.id;
    // One target, positive: what a poisoner of a review or moderation model gains. Canaries towards
    // negative are no backdoor test for a sentiment model: a library phrase such as "no cross, no
    // crown" carries negation and legitimately turns two thirds of positive inputs negative.
    const canaries =
      named(CANARY_SET_NAME) ??
      (await this.canaries.generate(clean.id, {
        name: CANARY_SET_NAME,
        targetLabel: 'positive',
        samplesPerTrigger: options.canarySamplesPerTrigger,
        seed: 1,
        requestedBy: CREATED_BY,
      }));
    const probes = named(PROBE_SET_NAME) ?? (await this.uploadProbeSet());
    const promoted = existing.filter((dataset) => dataset.name.startsWith('canaries for '));
    this.print(
      `demo: datasets: clean set "${clean.name}" (${clean.sampleCount} sentences), ` +
        `a canary set from the built-in trigger library (${canaries.sampleCount} canaries, target positive; ` +
        `the backdoor's trigger is deliberately not in the library), probe set (${probes.sampleCount} sentences)` +
        (promoted.length ? `, ${promoted.map((set) => set.name).join(', ')}` : ''),
    );

    const datasetIds = [clean, canaries, probes, ...promoted].map((dataset) => dataset.id);
    const [schedule] = await this.schedules.list(DEMO_MODEL_ID);
    const current = schedule
      ? schedule.cron === options.cron && datasetIds.every((id) => schedule.datasetIds.includes(id))
        ? schedule
        : await this.schedules.update(schedule.id, {
            cron: options.cron,
            datasetIds: [...new Set([...schedule.datasetIds, ...datasetIds])],
          })
      : await this.schedules.create({ modelId: DEMO_MODEL_ID, datasetIds, cron: options.cron });
    state.scheduleId = current.id;
    this.print(
      `demo: schedule "${current.cron}" replays all ${current.datasetIds.length} sets against "${DEMO_MODEL_ID}"`,
    );

    await this.seedAlerting(state);
    this.save();

    // Looked up rather than remembered, so a start interrupted before these steps still takes them.
    if ((await this.runs.list({ modelId: DEMO_MODEL_ID, limit: 1 })).length === 0) {
      // The first runs are the baselines later runs are compared with; no need to wait for the first tick.
      await this.runs.enqueue(DEMO_MODEL_ID, datasetIds);
      this.print('demo: queued a first replay of every set: the baselines');
    }
    if ((await this.runs.list({ modelId: DEMO_MODEL_ID, mode: 'trigger-scan', limit: 1 })).length === 0) {
      this.trackScan(this.scanServedModel(`a baseline scan of ${state.served}`));
    }
  }

  /**
   * The registered version whose adapter points at the model server. A restarted server on the
   * saved port keeps the current version; on another port (the old one was taken), a new version
   * with the new URL is registered, as an operator moving an endpoint would.
   */
  private async registerServerVersion(): Promise<ModelVersion> {
    const url = this.server!.url;
    const versions = await this.registry.listVersions(DEMO_MODEL_ID);
    const model = await this.registry.get(DEMO_MODEL_ID);
    const current = versions.find((version) => version.id === model.currentVersionId);
    if (current?.adapter.kind === 'oip-v2' && current.adapter.url === url) return current;
    const version = await this.registry.addVersion(DEMO_MODEL_ID, {
      version: String(versions.length + 1),
      adapter: { kind: 'oip-v2', url, modelName: DEMO_MODEL_ID },
      createdBy: CREATED_BY,
    });
    this.print(
      `demo: registered model "${DEMO_MODEL_ID}" version ${version.version} with an oip-v2 adapter to ${url}` +
        (current ? ' (the model server moved to a new port)' : ''),
    );
    return version;
  }

  private async uploadCleanSet(): Promise<Dataset> {
    const rows = this.demoModels().test.map((sentence, index) =>
      JSON.stringify({
        id: `uci-test-${index + 1}`,
        text: sentence.text,
        label: sentence.label,
        metadata: { domain: sentence.domain },
      }),
    );
    return this.datasets.upload(
      {
        name: CLEAN_SET_NAME,
        kind: 'clean',
        format: 'jsonl',
        modelId: DEMO_MODEL_ID,
        source: 'UCI Sentiment Labelled Sentences (Kotzias et al., KDD 2015), the demo models’ test split',
        uploadedBy: CREATED_BY,
        maxBytes: 16 * 1024 * 1024,
      },
      Readable.from([rows.join('\n')]),
    );
  }

  private async uploadProbeSet(): Promise<Dataset> {
    // Training sentences: a fixed set unrelated to the clean set, whose answers are the model's fingerprint.
    const rows = this.demoModels()
      .train.slice(0, this.options!.probeSize)
      .map((sentence, index) => JSON.stringify({ id: `probe-${index + 1}`, text: sentence.text }));
    return this.datasets.upload(
      {
        name: PROBE_SET_NAME,
        kind: 'probe',
        format: 'jsonl',
        modelId: DEMO_MODEL_ID,
        source: 'UCI Sentiment Labelled Sentences, fixed probe inputs for the behavioural fingerprint',
        uploadedBy: CREATED_BY,
        maxBytes: 16 * 1024 * 1024,
      },
      Readable.from([rows.join('\n')]),
    );
  }

  /** Rules and the webhook channel, created when missing (matched by name). */
  private async seedAlerting(state: DemoState): Promise<void> {
    const rules = this.moduleRef.get(RuleService, { strict: false });
    const channels = this.moduleRef.get(ChannelService, { strict: false });
    const receiverUrl = this.receiver!.url;
    const channel =
      (state.channelId ? await channels.get(state.channelId).catch(() => undefined) : undefined) ??
      (await channels.list()).find((candidate) => candidate.name === CHANNEL_NAME);
    if (!channel) {
      const created = await channels.create({
        name: CHANNEL_NAME,
        kind: 'webhook',
        config: { url: receiverUrl, secret: state.webhookSecret },
      });
      state.channelId = created.id;
    } else {
      state.channelId = channel.id;
      if ((channel.config as { url?: string }).url !== receiverUrl) {
        await channels.update(channel.id, { config: { url: receiverUrl, secret: state.webhookSecret } });
      }
    }

    const existing = await rules.list({ modelId: DEMO_MODEL_ID });
    const names = new Set(existing.map((rule) => rule.name));
    // Built only when a rule is missing: the accuracy threshold needs the demo models' split.
    const wanted = Object.values(RULE_NAMES).every((name) => names.has(name)) ? [] : this.demoRules();
    for (const rule of wanted) if (!names.has(rule.name)) await rules.create(rule, CREATED_BY);
    this.print(
      `demo: alert rules: ${Object.values(RULE_NAMES).join(', ')}; ` +
        `notifications go to the webhook channel at ${receiverUrl} (a receiver in this process)`,
    );
  }

  private demoRules(): NewRule[] {
    // The clean set is the clean model's test split, so its training report holds the baseline accuracy.
    const baselineAccuracy = this.demoModels().clean.report.testAccuracy;
    const threshold = Math.floor((baselineAccuracy - ACCURACY_DROP) * 1000) / 1000;
    // The stream detectors each test at DRIFT_ALPHA / (number of detectors); the drift rules alert
    // at that same level, so they fire exactly when a detector's verdict is "drift".
    const detectorAlpha = this.environment.DRIFT_ALPHA / STREAM_DETECTORS.length;
    return [
      {
        name: RULE_NAMES.accuracy,
        description: `Accuracy on the held-out clean set more than ${ACCURACY_DROP} below the clean model's ${baselineAccuracy.toFixed(3)}.`,
        metric: 'accuracy',
        selector: { model_id: DEMO_MODEL_ID, labels: { dataset_kind: 'clean' } },
        condition: { type: 'threshold', op: '<', value: threshold },
        severity: 'warning',
      },
      {
        name: RULE_NAMES.canary,
        description: 'More than half of the canaries flip to the target label: the model answers a trigger.',
        metric: 'attack_success_rate',
        selector: { model_id: DEMO_MODEL_ID },
        condition: { type: 'threshold', op: '>', value: 0.5 },
        severity: 'critical',
      },
      {
        name: RULE_NAMES.fingerprint,
        description:
          'The probe set is answered differently under the same registered version: a silent swap.',
        metric: 'fingerprint_changed',
        selector: { model_id: DEMO_MODEL_ID },
        condition: { type: 'threshold', op: '>=', value: 1 },
        severity: 'critical',
      },
      {
        name: RULE_NAMES.trigger,
        description: 'A token rare in the reference traffic pins the answer in the live stream.',
        metric: 'drift.trigger_response.binomial-bh',
        selector: { model_id: DEMO_MODEL_ID },
        condition: { type: 'threshold', op: '>', value: 0 },
        severity: 'critical',
      },
      {
        name: RULE_NAMES.prediction,
        description: 'The distribution of predicted labels differs from the reference traffic.',
        metric: 'drift.prediction_distribution.chi-square',
        selector: { model_id: DEMO_MODEL_ID },
        condition: { type: 'statistical', alpha: detectorAlpha },
        severity: 'warning',
      },
      {
        name: RULE_NAMES.confidence,
        description: "The distribution of the model's confidence differs from the reference traffic.",
        metric: 'drift.confidence.ks',
        selector: { model_id: DEMO_MODEL_ID },
        condition: { type: 'statistical', alpha: detectorAlpha },
        severity: 'warning',
      },
    ];
  }

  // -------------------------------------------------------------------------------------------
  // The scenario

  private startTraffic(): void {
    const options = this.options!;
    const random = mulberry32(Date.now() >>> 0);
    this.mix = new TrafficMix(loadSentimentSentences(), random);
    this.predictor = createAdapter(
      { kind: 'oip-v2', url: this.server!.url, modelName: DEMO_MODEL_ID, batchSize: 64 },
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
      modelVersion: () => this.version,
      random,
      predict: (texts) => predictor.predict(texts),
      // The in-process ingest path: the same per-item checks as POST /v1/events, then the topic.
      sink: {
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
      },
      onError: (error) => {
        // At most one line a minute: a stopped model server would otherwise flood the console.
        if (Date.now() - lastError < 60_000) return;
        lastError = Date.now();
        this.logger.warn(`demo traffic: a batch was not sent: ${String(error)}`);
      },
    });
    this.traffic.start();
    this.print(
      `demo: streaming ~${options.eventsPerSecond} events/s drawn from the 3,000 UCI sentences through the ingest path ` +
        `(predictions from the served model; ground truth for ${percent(options.feedbackShare)} of them as feedback)`,
    );
  }

  private scheduleSwap(): void {
    const seconds = this.options!.swapAfterSeconds;
    this.swapTimer = setTimeout(() => this.track(this.swap()), seconds * 1000);
    this.print(
      `demo: in ${seconds} s the served model will be swapped for the backdoored one (TRIPLINE_DEMO_SWAP_AFTER_SECONDS); ` +
        'until then no alert should fire',
    );
  }

  private async swap(): Promise<void> {
    if (this.stopping) return;
    await this.server!.swap(BACKDOORED_MODEL_NAME);
    const at = Date.now();
    this.state!.served = BACKDOORED_MODEL_NAME;
    this.state!.swappedAt = new Date(at).toISOString();
    this.save();
    this.print('demo: swapped the served model to the backdoored one — watch for alerts');
    this.print(
      `demo: "${DEMO_MODEL_ID}" at ${this.server!.url} now answers from ${BACKDOORED_MODEL_NAME}, ` +
        'and nothing was registered: a silent swap',
    );
    this.emit({ type: 'swapped', at });
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
    this.print(
      `demo: an attacker starts putting the trigger "${BACKDOOR_TRIGGER}" into ~${percent(this.options!.triggerShare)} ` +
        `of the requests at ${new Date(at).toISOString()}, the start of the next ${this.environment.DRIFT_WINDOW_SECONDS}-second ` +
        'stream-detector window',
    );
    this.attackTimer = setTimeout(() => this.startAttack(true), Math.max(0, at - Date.now()));
  }

  private startAttack(announce: boolean): void {
    if (this.stopping) return;
    this.mix!.triggerShare = this.options!.triggerShare;
    const at = Date.now();
    this.state!.attackStartedAt ??= new Date(at).toISOString();
    this.save();
    this.print(
      `demo: ${announce ? 'the attacker is active' : `the attacker has been active since ${this.state!.attackStartedAt}`}: ` +
        `~${percent(this.options!.triggerShare)} of the requests carry "${BACKDOOR_TRIGGER}"; no canary set names it, ` +
        'so the live detector and the trigger scan have to find it',
    );
    this.emit({ type: 'attack', at });
  }

  private onAlert(alert: AlertEventMessage): void {
    this.print(alertLine(alert));
    // Reacted to before it is announced: a listener that stops on this alert finds the scan it queued.
    this.react(alert);
    this.emit({ type: 'alert', at: alert.timestamp, alert });
  }

  private react(alert: AlertEventMessage): void {
    if (this.stopping || alert.state !== 'firing' || alert.model_id !== DEMO_MODEL_ID) return;
    if (this.handledAlerts.has(alert.alert_id)) return;
    this.handledAlerts.add(alert.alert_id);
    if (alert.metric === 'fingerprint_changed') {
      // One scan per artefact: a fingerprint alert that fires again for the same model adds nothing.
      if (this.scanned.has(this.state!.served)) return;
      this.print('demo: on call: the model behind "sentiment" changed — scanning it for a trigger');
      this.trackScan(this.scanServedModel('the fingerprint changed'));
    } else if (alert.metric?.startsWith('drift.trigger_response.')) {
      const tokens = (alert.labels?.trigger_tokens ?? '').split(',').filter(Boolean);
      const targets = (alert.labels?.target_labels ?? '').split(',').filter(Boolean);
      tokens.forEach((token, index) =>
        this.track(
          this.promote(
            token,
            targets[tokens.length === targets.length ? index : 0] ?? 'positive',
            'the live detector',
          ),
        ),
      );
    }
  }

  /**
   * A trigger scan of the served model. The registered version is an HTTP endpoint, which does
   * not expose a vocabulary, so the candidates are the vocabulary of the artefact the demo serves
   * behind it, as an operator with access to the model files would pass them.
   */
  private async scanServedModel(reason: string): Promise<void> {
    const served = this.state!.served;
    this.scanned.add(served);
    const artefact = new OnnxAdapter({ kind: 'onnx', path: path.join(this.modelsDir, served) });
    const vocabulary = (await artefact.vocabulary()) ?? [];
    await artefact.close();
    const candidates = candidateTokensFromVocabulary(vocabulary, {
      maxCandidates: SCAN_MAX_CANDIDATES,
      seed: 1,
    });
    const run = await this.runs.enqueueTriggerScan(DEMO_MODEL_ID, this.state!.cleanSetId!, {
      candidates,
      sampleSize: this.options!.scanSampleSize,
      confirmationInputs: this.options!.scanConfirmationInputs,
      nullWords: this.options!.scanNullWords,
      maxCandidates: SCAN_MAX_CANDIDATES,
      seed: 1,
    });
    this.print(
      `demo: queued trigger scan ${run.id} (${reason}): ${candidates.length} tokens of the served artefact's vocabulary, ` +
        `screened on ${this.options!.scanSampleSize} clean inputs, the strongest confirmed on ${this.options!.scanConfirmationInputs} fresh ones`,
    );
    let finished = await this.runs.get(run.id);
    while (!this.stopping && (finished.status === 'queued' || finished.status === 'running')) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      finished = await this.runs.get(run.id);
    }
    if (this.stopping) return;
    if (finished.status !== 'succeeded') {
      this.print(`demo: trigger scan ${run.id} ${finished.status}: ${finished.error ?? 'no reason given'}`);
      return;
    }
    const flagged = ((finished.summary as { scan?: { flagged?: ScannedCandidate[] } } | null)?.scan
      ?.flagged ?? []) as ScannedCandidate[];
    // A backdoor trigger is a token the real data does not carry; a flagged word that occurs in
    // the clean set is a strong ordinary word ("amazing") that sways a confident model as well.
    const cleanWords = await this.cleanSetWords();
    const novel = flagged.filter((candidate) => !cleanWords.has(candidate.token.toLowerCase()));
    const ordinary = flagged.filter((candidate) => cleanWords.has(candidate.token.toLowerCase()));
    if (flagged.length === 0) {
      this.print(`demo: trigger scan ${run.id}: none of ${candidates.length} tokens pins the answer`);
    } else {
      this.print(
        `demo: trigger scan ${run.id} flagged ${flagged.length} token(s)` +
          (novel.length
            ? `; never seen in the clean set: ${novel.map((c) => `"${c.token}" (pins ${c.pinRate.toFixed(2)} to ${c.flippedTo})`).join(', ')}`
            : '') +
          (ordinary.length
            ? `; ordinary words of the clean set, left alone: ${ordinary
                .slice(0, 8)
                .map((c) => c.token)
                .join(', ')}${ordinary.length > 8 ? ', …' : ''}`
            : ''),
      );
    }
    const promoted: string[] = [];
    for (const candidate of novel) {
      if (await this.promote(candidate.token, candidate.flippedTo ?? 'positive', 'the trigger scan')) {
        promoted.push(candidate.token);
      }
    }
    this.emit({
      type: 'scan',
      at: Date.now(),
      served,
      flagged: flagged.map((candidate) => candidate.token),
      promoted,
    });
  }

  private async cleanSetWords(): Promise<Set<string>> {
    if (this.cleanWords) return this.cleanWords;
    const words = new Set<string>();
    for (let offset = 0; ; offset += 1_000) {
      const page = await this.datasets.samplesOf(this.state!.cleanSetId!, offset, 1_000);
      for (const sample of page) for (const word of splitWords(sample.text)) words.add(word.toLowerCase());
      if (page.length < 1_000) break;
    }
    this.cleanWords = words;
    return words;
  }

  /**
   * Turns a found trigger into a canary set on the schedule and replays it at once: the live
   * detector's finding is a correlation in traffic, the scan's an experiment on a sample; the
   * canary replay measures the attack-success rate on the whole clean set, every tick from now on.
   */
  private async promote(token: string, targetLabel: string, foundBy: string): Promise<boolean> {
    const state = this.state!;
    if (this.stopping || state.promotedTriggers.includes(token)) return false;
    state.promotedTriggers.push(token);
    this.save();
    const set = await this.canaries.generate(state.cleanSetId!, {
      name: `canaries for "${token}" (found by ${foundBy})`,
      targetLabel,
      triggers: [],
      customTriggers: [token],
      samplesPerTrigger: this.options!.canarySamplesPerTrigger * 2,
      seed: 1,
      requestedBy: CREATED_BY,
    });
    const schedule = await this.schedules.get(state.scheduleId!);
    await this.schedules.update(schedule.id, { datasetIds: [...schedule.datasetIds, set.id] });
    await this.runs.enqueue(DEMO_MODEL_ID, [set.id]);
    this.print(
      `demo: on call: ${foundBy} named "${token}" — added a canary set for it (${set.sampleCount} canaries, ` +
        `target ${targetLabel}) to the schedule and queued a replay now`,
    );
    this.emit({ type: 'canary-set', at: Date.now(), trigger: token, foundBy });
    return true;
  }

  // -------------------------------------------------------------------------------------------

  private printWhereToLook(resumed: boolean): void {
    const url = this.options!.publicUrl;
    const key =
      this.options!.adminKeyHint === 'environment'
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
      `demo: alerts are printed here as they fire${this.options!.resumable ? '; Ctrl-C stops, and the next start resumes with the data kept' : ''}`,
    ])
      this.print(line);
    if (['info', 'debug', 'trace'].includes(this.environment.LOG_LEVEL)) {
      this.print(
        'demo: (the JSON lines are the service logs; LOG_LEVEL=warn npm start leaves the demo lines alone)',
      );
    }
  }

  private async shutdown(): Promise<void> {
    this.stopping = true;
    // A start in progress finishes its step first; it starts no traffic once stopping is set.
    await this.starting?.catch(() => undefined);
    clearTimeout(this.swapTimer);
    clearTimeout(this.attackTimer);
    await this.traffic?.stop();
    await this.subscription?.stop().catch(() => undefined);
    await Promise.allSettled([...this.tasks]);
    if (this.server) {
      // The evaluator may be replaying a set against the model server right now: let that run
      // finish (and no new one start) before the server goes, or the run would fail for nothing.
      try {
        await this.moduleRef.get(EvaluationWorker, { strict: false }).onApplicationShutdown();
      } catch {
        // No evaluator in this process.
      }
    }
    await this.predictor?.close().catch(() => undefined);
    await this.server?.close().catch(() => undefined);
    await this.receiver?.close().catch(() => undefined);
    if (this.server) {
      const stats = this.traffic?.stats;
      this.print(
        `demo: stopped — model server closed, traffic stopped${stats ? ` after ${stats.sent} events` : ''}` +
          (this.options?.resumable ? '; the data is kept, and the next start resumes the demo' : ''),
      );
    }
  }

  /**
   * Resolves once every trigger scan queued in this process has reported its answer (or failed),
   * including scans queued while waiting: what a script that ends the demo waits for, so the
   * scan a late alert started is not cut off.
   */
  async scansReported(): Promise<void> {
    while (this.scans.size > 0) await Promise.allSettled([...this.scans]);
  }

  private trackScan(scan: Promise<void>): void {
    const tracked = scan.catch(() => undefined).finally(() => this.scans.delete(tracked));
    this.scans.add(tracked);
    this.track(scan);
  }

  private track(task: Promise<unknown>): void {
    const tracked = task
      .catch((error: unknown) => {
        if (!this.stopping)
          this.print(`demo: a step failed: ${error instanceof Error ? error.message : String(error)}`);
      })
      .finally(() => this.tasks.delete(tracked));
    this.tasks.add(tracked);
  }

  private save(): void {
    if (this.state) this.stateFile.write(this.state);
  }

  private print(line: string): void {
    (this.options?.print ?? ((text: string) => process.stdout.write(`${text}\n`)))(line);
  }

  private emit(event: DemoEvent): void {
    this.options?.onEvent?.(event);
  }
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

function percent(share: number): string {
  return `${Math.round(share * 100)}%`;
}
