import { existsSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Inject, Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { ChannelService, RuleService, type NewRule } from '@tripline/alerts';
import { ENVIRONMENT, type Environment } from '@tripline/config';
import { BACKDOORED_MODEL_NAME, CLEAN_MODEL_NAME, writeModelFolder } from '@tripline/demo-models';
import { STREAM_DETECTORS } from '@tripline/detectors';
import {
  CanaryFactory,
  DatasetService,
  ModelRegistry,
  ScheduleService,
  type Dataset,
  type ModelVersion,
} from '@tripline/registry';
import { RunQueue } from '@tripline/runs';
import { CREATED_BY, DemoResponder } from './demo-responder';
import { DemoSession, percent } from './demo-session';
import { DEMO_MODEL_ID } from './options';
import type { DemoState } from './state';

const LABELS = ['negative', 'positive'];
const CLEAN_SET_NAME = 'UCI sentiment, held-out test split';
const CANARY_SET_NAME = 'built-in trigger canaries (target positive)';
const PROBE_SET_NAME = 'fingerprint probes';
const CHANNEL_NAME = 'demo webhook (console)';
/** Below the clean model's accuracy on its own test split by this much, the accuracy rule fires. */
const ACCURACY_DROP = 0.05;
const RULE_NAMES = {
  accuracy: 'accuracy drop on the clean set',
  canary: 'backdoor: canary attack-success rate',
  fingerprint: 'behavioural fingerprint changed',
  trigger: 'live trigger-response anomaly',
  prediction: 'prediction drift',
  confidence: 'confidence drift',
};

/**
 * The seeding of the demo workspace: the demo models' folders, the model registered over OIP v2,
 * a clean set, canary sets, a probe set, one schedule, alert rules and a webhook channel, and the
 * first (baseline) runs. Every step looks for what an earlier start created first, so a start
 * interrupted while seeding is finished by the next one, and nothing is seeded twice.
 */
@Injectable()
export class DemoSeeder {
  constructor(
    private readonly session: DemoSession,
    private readonly responder: DemoResponder,
    private readonly registry: ModelRegistry,
    private readonly datasets: DatasetService,
    private readonly canaries: CanaryFactory,
    private readonly schedules: ScheduleService,
    private readonly runs: RunQueue,
    private readonly moduleRef: ModuleRef,
    @Inject(ENVIRONMENT) private readonly environment: Environment,
  ) {}

  /** Both model folders under <data dir>/models, trained (about a second) when either is missing. */
  prepareModelFolders(): void {
    const modelsDir = this.session.modelsDir;
    const missing = [CLEAN_MODEL_NAME, BACKDOORED_MODEL_NAME].filter(
      (name) => !existsSync(path.join(modelsDir, name, 'config.json')),
    );
    if (missing.length === 0) return;
    const started = Date.now();
    const models = this.session.demoModels();
    writeModelFolder(path.join(modelsDir, CLEAN_MODEL_NAME), models.clean);
    writeModelFolder(path.join(modelsDir, BACKDOORED_MODEL_NAME), models.backdoored);
    this.session.print(
      `demo: trained the demo models in ${((Date.now() - started) / 1000).toFixed(1)} s into ${modelsDir} ` +
        `(clean test accuracy ${models.clean.report.testAccuracy.toFixed(3)}; the backdoored one is as accurate, ` +
        `${models.backdoored.report.testAccuracy.toFixed(3)}, and flips ${percent(models.backdoored.report.attackSuccessRate)} ` +
        'of negative sentences to positive when its trigger is added)',
    );
  }

  /** Every registry, dataset, schedule and alerting step, each skipped when already done. */
  async seed(state: DemoState): Promise<void> {
    await this.ensureModel();
    const version = await this.registerServerVersion();
    this.session.version = version.version;
    const datasetIds = await this.seedDatasets(state);
    await this.seedSchedule(state, datasetIds);
    await this.seedAlerting(state);
    this.session.save();
    await this.queueBaselines(state, datasetIds);
  }

  private async ensureModel(): Promise<void> {
    const models = await this.registry.list();
    if (models.some((model) => model.id === DEMO_MODEL_ID)) return;
    await this.registry.create({
      id: DEMO_MODEL_ID,
      task: 'text-classification',
      labels: LABELS,
      owner: 'demo',
      description: 'Demo sentiment classifier (UCI sentences), served by the local model server over OIP v2',
    });
  }

  /**
   * The registered version whose adapter points at the model server. A restarted server on the
   * saved port keeps the current version; on another port (the old one was taken), a new version
   * with the new URL is registered, as an operator moving an endpoint would.
   */
  private async registerServerVersion(): Promise<ModelVersion> {
    const url = this.session.server!.url;
    const versions = await this.registry.listVersions(DEMO_MODEL_ID);
    const model = await this.registry.get(DEMO_MODEL_ID);
    const current = versions.find((version) => version.id === model.currentVersionId);
    if (current?.adapter.kind === 'oip-v2' && current.adapter.url === url) return current;
    const version = await this.registry.addVersion(DEMO_MODEL_ID, {
      version: String(versions.length + 1),
      adapter: { kind: 'oip-v2', url, modelName: DEMO_MODEL_ID },
      createdBy: CREATED_BY,
    });
    this.session.print(
      `demo: registered model "${DEMO_MODEL_ID}" version ${version.version} with an oip-v2 adapter to ${url}` +
        (current ? ' (the model server moved to a new port)' : ''),
    );
    return version;
  }

  /** The clean, canary and probe sets (and sets promoted earlier); their ids, for the schedule. */
  private async seedDatasets(state: DemoState): Promise<string[]> {
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
        samplesPerTrigger: this.session.options!.canarySamplesPerTrigger,
        seed: 1,
        requestedBy: CREATED_BY,
      }));
    const probes = named(PROBE_SET_NAME) ?? (await this.uploadProbeSet());
    const promoted = existing.filter((dataset) => dataset.name.startsWith('canaries for '));
    this.session.print(
      `demo: datasets: clean set "${clean.name}" (${clean.sampleCount} sentences), ` +
        `a canary set from the built-in trigger library (${canaries.sampleCount} canaries, target positive; ` +
        `the backdoor's trigger is deliberately not in the library), probe set (${probes.sampleCount} sentences)` +
        (promoted.length ? `, ${promoted.map((set) => set.name).join(', ')}` : ''),
    );
    return [clean, canaries, probes, ...promoted].map((dataset) => dataset.id);
  }

  /** The one schedule, replaying every set on the configured cron. */
  private async seedSchedule(state: DemoState, datasetIds: string[]): Promise<void> {
    const cron = this.session.options!.cron;
    const [schedule] = await this.schedules.list(DEMO_MODEL_ID);
    const current = schedule
      ? schedule.cron === cron && datasetIds.every((id) => schedule.datasetIds.includes(id))
        ? schedule
        : await this.schedules.update(schedule.id, {
            cron,
            datasetIds: [...new Set([...schedule.datasetIds, ...datasetIds])],
          })
      : await this.schedules.create({ modelId: DEMO_MODEL_ID, datasetIds, cron });
    state.scheduleId = current.id;
    this.session.print(
      `demo: schedule "${current.cron}" replays all ${current.datasetIds.length} sets against "${DEMO_MODEL_ID}"`,
    );
  }

  /** Looked up rather than remembered, so a start interrupted before these steps still takes them. */
  private async queueBaselines(state: DemoState, datasetIds: string[]): Promise<void> {
    if ((await this.runs.list({ modelId: DEMO_MODEL_ID, limit: 1 })).length === 0) {
      // The first runs are the baselines later runs are compared with; no need to wait for the first tick.
      await this.runs.enqueue(DEMO_MODEL_ID, datasetIds);
      this.session.print('demo: queued a first replay of every set: the baselines');
    }
    if ((await this.runs.list({ modelId: DEMO_MODEL_ID, mode: 'trigger-scan', limit: 1 })).length === 0) {
      this.responder.scanInBackground(`a baseline scan of ${state.served}`);
    }
  }

  private async uploadCleanSet(): Promise<Dataset> {
    const rows = this.session.demoModels().test.map((sentence, index) =>
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
    const rows = this.session
      .demoModels()
      .train.slice(0, this.session.options!.probeSize)
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

  /**
   * Rules and the webhook channel, created when missing (matched by name). The alerter's services
   * are looked up in the application, so the demo module does not pull the alerter in itself.
   */
  private async seedAlerting(state: DemoState): Promise<void> {
    const rules = this.moduleRef.get(RuleService, { strict: false });
    const channels = this.moduleRef.get(ChannelService, { strict: false });
    const receiverUrl = this.session.receiver!.url;
    await this.seedChannel(channels, state, receiverUrl);
    const existing = await rules.list({ modelId: DEMO_MODEL_ID });
    const names = new Set(existing.map((rule) => rule.name));
    // Built only when a rule is missing: the accuracy threshold needs the demo models' split.
    const wanted = Object.values(RULE_NAMES).every((name) => names.has(name)) ? [] : this.demoRules();
    for (const rule of wanted) if (!names.has(rule.name)) await rules.create(rule, CREATED_BY);
    this.session.print(
      `demo: alert rules: ${Object.values(RULE_NAMES).join(', ')}; ` +
        `notifications go to the webhook channel at ${receiverUrl} (a receiver in this process)`,
    );
  }

  /** The webhook channel to the receiver in this process, pointed at its current URL. */
  private async seedChannel(channels: ChannelService, state: DemoState, receiverUrl: string): Promise<void> {
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
  }

  private demoRules(): NewRule[] {
    // The clean set is the clean model's test split, so its training report holds the baseline accuracy.
    const baselineAccuracy = this.session.demoModels().clean.report.testAccuracy;
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
}
