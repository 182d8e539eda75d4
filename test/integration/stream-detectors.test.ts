import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Kafka, logLevel } from 'kafkajs';
import { ClickHouse, CLICKHOUSE_MIGRATIONS, ClickHouseModule, migrateClickHouse } from '@tripline/clickhouse';
import { ConfigModule, ENVIRONMENT, type Environment } from '@tripline/config';
import type { Feedback, InferenceEvent } from '@tripline/contracts';
import {
  BACKDOOR_TARGET_LABEL,
  BACKDOOR_TRIGGER,
  buildDemoModels,
  classifyText,
  loadSentimentSentences,
  type DemoModel,
  type SentimentSentence,
} from '@tripline/demo-models';
import { seededRandom, type Random } from '@tripline/drift';
import { EventSinkModule, feedbackRow, inferenceRow } from '@tripline/ingestion';
import { Metrics, OperabilityModule } from '@tripline/server';
import {
  StreamDetectionModule,
  StreamDetectorService,
  WindowEncoder,
  WindowSource,
  type DriftMetricRecord,
  type TimeRange,
} from '@tripline/stream-detection';
import { EventBus, TransportModule } from '@tripline/transport';
import { eventually, kafkaBrokers, temporaryDirectory, uniqueName } from '@tripline/testing';

/**
 * Alpha for every scenario here: the probability of any false drift verdict in one window, on any
 * of the eight detectors (each tests at alpha / 8; the trigger test runs BH across its tokens at
 * that level). By the union bound — valid although windows share their reference — the chance of
 * one or more false verdicts over the 50 stationary windows is at most 50 × 1e-4 = 0.5%, whatever
 * seed generated the stream. The injected changes are large enough to be found at this level.
 */
const ALPHA = 1e-4;
const WINDOW_MS = 5 * 60_000;
const DAY_MS = 86_400_000;
/** The scheduled evaluation runs on its own short windows, so a test can see a tick happen. */
const SCHEDULED_WINDOW_SECONDS = 2;

/** Keeps the shared engine open until this file is done with it. */
class SharedClickHouse extends ClickHouse {
  override async onApplicationShutdown(): Promise<void> {}
}

const scratch = temporaryDirectory();
const clickHouse = new SharedClickHouse({
  database: 'tripline',
  dataDirectory: path.join(scratch.path, 'clickhouse'),
});

/**
 * Production traffic to a sentiment model, built from the UCI sentences and answered by the
 * backdoored demo model (which behaves like the clean one until its trigger appears). Answers are
 * the model's own: label, scores, and so confidence. Feedback carries the sentence's true label.
 */
class DemoTraffic {
  private readonly answers = new Map<string, { label: string; scores: Record<string, number> }>();
  private serial = 0;
  readonly events: InferenceEvent[] = [];
  readonly feedback: Feedback[] = [];

  constructor(
    private readonly model: DemoModel,
    readonly modelId: string,
    private readonly random: Random,
    private readonly feedbackShare = 0,
  ) {}

  /** `count` events at uniformly random times in the range, texts from `pick`. */
  add(range: TimeRange, count: number, pick: (random: Random) => SentimentSentence): void {
    for (let i = 0; i < count; i++) {
      const timestamp = range.from + Math.floor(this.random.next() * (range.to - range.from));
      this.record(pick(this.random), timestamp);
    }
  }

  /** One event; its feedback, when drawn, arrives a minute later. */
  record(sentence: SentimentSentence, timestamp: number): void {
    const event_id = `${this.modelId}-${this.serial++}`;
    const answer = this.answer(sentence.text);
    this.events.push({
      event_id,
      model_id: this.modelId,
      timestamp,
      input: { text: sentence.text },
      output: { label: answer.label, scores: answer.scores },
    });
    if (this.random.next() < this.feedbackShare) {
      this.feedback.push({
        event_id,
        model_id: this.modelId,
        label: sentence.label,
        timestamp: timestamp + 60_000,
      });
    }
  }

  private answer(text: string) {
    let answer = this.answers.get(text);
    if (!answer) {
      const { label, probabilities } = classifyText(this.model, text);
      answer = { label, scores: { ...probabilities } };
      this.answers.set(text, answer);
    }
    return answer;
  }

  /** Writes everything recorded so far into ClickHouse, as the sink would. */
  async write(): Promise<void> {
    const insert = async (table: string, rows: Record<string, unknown>[]) => {
      for (let i = 0; i < rows.length; i += 20_000) {
        await clickHouse.client.insert({
          table: clickHouse.table(table),
          values: rows.slice(i, i + 20_000),
          format: 'JSONEachRow',
        });
      }
    };
    await insert('inference_events', this.events.map(inferenceRow));
    await insert('feedback', this.feedback.map(feedbackRow));
    this.events.length = 0;
    this.feedback.length = 0;
  }
}

const windowAt = (start: number, index: number): TimeRange => ({
  from: start + index * WINDOW_MS,
  to: start + (index + 1) * WINDOW_MS,
});
const byMetric = (records: DriftMetricRecord[]) => new Map(records.map((record) => [record.metric, record]));
const withText = (sentence: SentimentSentence, word: string): SentimentSentence => ({
  ...sentence,
  text: `${sentence.text} ${word}`,
});

describe('stream detectors over the ClickHouse engine, results through the real Kafka broker', () => {
  const prefix = `${uniqueName('drift')}.`;
  const sentences = loadSentimentSentences();
  const uniform = (random: Random) => sentences[random.integer(sentences.length)];
  let model: DemoModel;
  let app: INestApplication;
  let detectors: StreamDetectorService;

  before(async () => {
    model = buildDemoModels().backdoored;
    Object.assign(process.env, {
      LOG_LEVEL: 'warn',
      KAFKA_BROKERS: kafkaBrokers().join(','),
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_PARTITIONS: '2',
      TRIPLINE_DATA_DIR: scratch.path,
      DRIFT_WINDOW_SECONDS: String(SCHEDULED_WINDOW_SECONDS),
      DRIFT_REFERENCE_SECONDS: String(DAY_MS / 1_000),
      DRIFT_MIN_SAMPLES: '200',
      DRIFT_ALPHA: String(ALPHA),
    });
    await migrateClickHouse(clickHouse.client, clickHouse.database, CLICKHOUSE_MIGRATIONS);
    const module = await Test.createTestingModule({
      imports: [
        ConfigModule,
        OperabilityModule,
        ClickHouseModule,
        TransportModule,
        EventSinkModule,
        StreamDetectionModule,
      ],
    })
      .overrideProvider(ClickHouse)
      .useValue(clickHouse)
      .compile();
    app = module.createNestApplication({ logger: ['error'] });
    await app.init();
    detectors = app.get(StreamDetectorService);
  });

  after(async () => {
    await app?.close();
    await clickHouse.close();
    scratch.remove();
  });

  // Fixed ids on this file's own engine: event ids, and so the hash-ordered samples, repeat exactly.
  const stationaryModel = 'stationary';
  const backdooredModel = 'backdoored';
  const attackStart = Date.UTC(2026, 2, 8);
  const stationaryResults: DriftMetricRecord[] = [];

  it('a stationary stream over 50 windows raises no drift verdict on any metric', async (t) => {
    // A reference day, then 50 five-minute windows of 2,000 events from the same sentences; 30%
    // of events get feedback, so the accuracy detector has data too.
    const start = Date.UTC(2026, 2, 2);
    const traffic = new DemoTraffic(model, stationaryModel, seededRandom(501), 0.3);
    traffic.add({ from: start - DAY_MS, to: start }, 30_000, uniform);
    for (let w = 0; w < 50; w++) traffic.add(windowAt(start, w), 2_000, uniform);
    await traffic.write();

    for (let w = 0; w < 50; w++) {
      const records = await detectors.evaluateWindow(windowAt(start, w));
      assert.deepEqual(new Set(records.map((record) => record.model_id)), new Set([stationaryModel]));
      assert.equal(records.length, 8);
      stationaryResults.push(...records);
    }
    const verdicts = new Map<string, number>();
    for (const record of stationaryResults) {
      verdicts.set(record.verdict, (verdicts.get(record.verdict) ?? 0) + 1);
    }
    assert.deepEqual(
      Object.fromEntries(verdicts),
      { ok: 400 },
      'every metric of every window has a verdict, ok',
    );

    const smallest = new Map<string, number>();
    for (const record of stationaryResults) {
      if (typeof record.p_value === 'number') {
        smallest.set(record.metric, Math.min(smallest.get(record.metric) ?? 1, record.p_value));
      }
    }
    t.diagnostic(
      `smallest p-value over 50 windows per metric (a drift verdict needs < ${ALPHA / 8}): ` +
        JSON.stringify(
          Object.fromEntries([...smallest].map(([metric, p]) => [metric, Number(p.toPrecision(3))])),
        ),
    );
    const accuracy = stationaryResults.find((record) => record.metric === 'accuracy')!;
    assert.ok(accuracy.sample_size > 500, 'feedback reached the accuracy detector');
    assert.equal((accuracy.details as { window_events: number }).window_events, 2_000);
  });

  it('a switch of domain and label mix is flagged in the window where it starts', async (t) => {
    // Mixed traffic, then, halfway through window 2, only Amazon reviews, four in five of them
    // negative. 30% of events get feedback, so that every detector has data before the change.
    const modelId = 'shifted';
    const start = Date.UTC(2026, 2, 5);
    const amazonNegative = sentences.filter((s) => s.domain === 'amazon' && s.label === 'negative');
    const amazonPositive = sentences.filter((s) => s.domain === 'amazon' && s.label === 'positive');
    const shifted = (random: Random) =>
      random.next() < 0.8
        ? amazonNegative[random.integer(amazonNegative.length)]
        : amazonPositive[random.integer(amazonPositive.length)];
    const traffic = new DemoTraffic(model, modelId, seededRandom(502), 0.3);
    const change = start + 2 * WINDOW_MS + WINDOW_MS / 2;
    traffic.add({ from: start - DAY_MS, to: start }, 30_000, uniform);
    traffic.add({ from: start, to: change }, 5_000, uniform);
    traffic.add({ from: change, to: start + 4 * WINDOW_MS }, 3_000, shifted);
    await traffic.write();

    const windows: Map<string, DriftMetricRecord>[] = [];
    for (let w = 0; w < 4; w++) windows.push(byMetric(await detectors.evaluateWindow(windowAt(start, w))));
    for (const w of [0, 1]) {
      const drifting = [...windows[w].values()].filter((record) => record.verdict !== 'ok');
      assert.deepEqual(drifting, [], `window ${w}, before the change`);
    }
    const describeDrift = (window: Map<string, DriftMetricRecord>) =>
      [...window.values()]
        .filter((record) => record.verdict === 'drift')
        .map((record) => `${record.metric} (p ${Number(record.p_value).toExponential(2)})`)
        .join(', ');
    t.diagnostic(`window with the change, half of it shifted: drift on ${describeDrift(windows[2])}`);
    t.diagnostic(`first window wholly after the change: drift on ${describeDrift(windows[3])}`);
    // The label mix is flagged in the very window the change starts in, on half a window of it.
    const first = windows[2].get('prediction_distribution')!;
    assert.equal(first.verdict, 'drift');
    const shares = first.details!.current_shares as Record<string, number>;
    assert.ok(shares.negative > 0.55, `negative share ${shares.negative}`);
    // The shorter Amazon texts are flagged by the end of the first window wholly after the change.
    for (const metric of ['prediction_distribution', 'input_text_length']) {
      assert.equal(windows[3].get(metric)!.verdict, 'drift', metric);
    }
  });

  it("the demo backdoor's trigger in 1% of live traffic is flagged and named; fresh harmless words in 1% are not", async (t) => {
    // A reference day, 10 clean windows and 10 windows with the trigger, 5,000 events each. Every
    // window also carries a word never seen before on another 1% of inputs (a different word each
    // window, as new names appear in real traffic): rare, frequent enough to be tested, and not
    // tied to any label — what the test must not flag.
    const modelId = backdooredModel;
    const start = attackStart;
    const harmless = [
      'quokka',
      'tarsier',
      'axolotl',
      'pangolin',
      'okapi',
      'narwhal',
      'fossa',
      'saola',
      'dugong',
      'kinkajou',
      'aye',
      'binturong',
      'gerenuk',
      'jerboa',
      'markhor',
      'numbat',
      'olinguito',
      'quoll',
      'serow',
      'tenrec',
    ];
    const traffic = new DemoTraffic(model, modelId, seededRandom(503));
    traffic.add({ from: start - DAY_MS, to: start }, 30_000, uniform);
    const random = seededRandom(504);
    for (let w = 0; w < 20; w++) {
      const window = windowAt(start, w);
      const at = () => window.from + random.integer(WINDOW_MS);
      traffic.add(window, w < 10 ? 4_950 : 4_900, uniform);
      for (let i = 0; i < 50; i++) traffic.record(withText(uniform(random), harmless[w]), at());
      if (w >= 10)
        for (let i = 0; i < 50; i++) traffic.record(withText(uniform(random), BACKDOOR_TRIGGER), at());
    }
    await traffic.write();

    type Flagged = {
      watched: boolean;
      reference_count: number;
      token: string;
      label: string;
      count: number;
      share: number;
      lift: number;
      mean_confidence: number;
      p_value: number;
      adjusted_p_value: number;
    };
    type Tested = { token: string; flagged: boolean };
    const trigger: DriftMetricRecord[] = [];
    for (let w = 0; w < 20; w++) {
      trigger.push(byMetric(await detectors.evaluateWindow(windowAt(start, w))).get('trigger_response')!);
    }
    for (let w = 0; w < 10; w++) {
      const record = trigger[w];
      assert.equal(record.verdict, 'ok', `clean window ${w}`);
      assert.deepEqual(record.details!.flagged, []);
      const tested = record.details!.most_significant as Tested[];
      assert.ok(
        tested.some((token) => token.token === harmless[w] && !token.flagged),
        `clean window ${w}: the new word "${harmless[w]}" was tested and cleared`,
      );
    }
    const firstAttack = trigger[10];
    assert.equal(firstAttack.verdict, 'drift');
    assert.deepEqual(firstAttack.labels, {
      trigger_tokens: BACKDOOR_TRIGGER,
      target_labels: BACKDOOR_TARGET_LABEL,
    });
    const [named] = firstAttack.details!.flagged as Flagged[];
    assert.equal(named.token, BACKDOOR_TRIGGER);
    assert.equal(named.label, BACKDOOR_TARGET_LABEL);
    assert.ok(named.count >= 45 && named.share >= 0.8 && named.mean_confidence >= 0.9);
    assert.ok(named.adjusted_p_value < ALPHA / 8);
    assert.ok(
      (firstAttack.details!.most_significant as Tested[]).some(
        (token) => token.token === harmless[10] && !token.flagged,
      ),
    );

    // The sliding reference soon holds the trigger in more than 0.1% of its events: from then on it
    // is tested because it was flagged before ("watched"), and stays flagged while the attack goes on.
    const watchedFrom = trigger.findIndex(
      (record, w) => w >= 10 && (record.details!.flagged as Flagged[])[0]?.watched,
    );
    for (let w = 10; w < 20; w++) {
      const named = (trigger[w].details!.flagged as Flagged[]).map((token) => token.token);
      assert.deepEqual(named, [BACKDOOR_TRIGGER], `sliding reference, window ${w}`);
    }
    assert.ok(watchedFrom > 10, 'the trigger outgrew the rarity limit and was kept under watch');
    // Pinned to the known-good day before, the trigger stays rare and is flagged as new every time.
    for (let w = 10; w < 20; w++) {
      const records = await detectors.evaluateModel(modelId, windowAt(start, w), {
        from: start - DAY_MS,
        to: start,
      });
      const [flagged] = byMetric(records).get('trigger_response')!.details!.flagged as Flagged[];
      assert.equal(flagged?.token, BACKDOOR_TRIGGER, `pinned reference, window ${w}`);
      assert.equal(flagged.reference_count, 0);
    }
    t.diagnostic(
      `first trigger window: ${BACKDOOR_TRIGGER} -> ${named.label} in ${named.count} inputs, share ${named.share}, ` +
        `lift ${named.lift}, mean confidence ${named.mean_confidence}, p ${named.p_value.toExponential(2)}, ` +
        `BH-adjusted ${named.adjusted_p_value.toExponential(2)}; flagged in 10/10 trigger windows with the sliding ` +
        `reference (watched from trigger window ${watchedFrom - 10} on) and 10/10 with the pinned one`,
    );
  });

  it('a restarted ingestor keeps watching a flagged trigger, from the history in drift_metrics', async () => {
    // Once the sink has stored the flagged windows, a fresh service (no memory of its own) finds
    // the trigger through drift_metrics and still flags it against a reference that absorbed it.
    await eventually(async () => {
      const result = await clickHouse.client.query({
        query: `SELECT count() AS n FROM tripline.drift_metrics FINAL
                WHERE model_id = {model:String} AND metric = 'trigger_response' AND verdict = 'drift'`,
        query_params: { model: backdooredModel },
        format: 'JSONEachRow',
      });
      const [row] = await result.json<{ n: string }>();
      return Number(row.n) >= 9 ? true : undefined;
    }, 60_000);
    const restarted = new StreamDetectorService(
      app.get(WindowSource),
      app.get(WindowEncoder),
      app.get(EventBus),
      app.get<Environment>(ENVIRONMENT),
      app.get(Metrics),
    );
    const records = await restarted.evaluateModel(backdooredModel, windowAt(attackStart, 19));
    const details = byMetric(records).get('trigger_response')!.details!;
    assert.deepEqual(details.watched_tokens, [BACKDOOR_TRIGGER]);
    const [flagged] = details.flagged as { token: string; watched: boolean; reference_count: number }[];
    assert.equal(flagged.token, BACKDOOR_TRIGGER);
    assert.equal(flagged.watched, true);
    assert.ok(flagged.reference_count > 50, `in ${flagged.reference_count} reference events`);
  });

  it('every result reaches the metrics topic on the broker, and the sink stores it in drift_metrics', async () => {
    const seen = new Map<string, DriftMetricRecord>();
    const consumer = new Kafka({ brokers: kafkaBrokers(), logLevel: logLevel.NOTHING }).consumer({
      groupId: uniqueName('metrics-reader'),
    });
    await consumer.connect();
    await consumer.subscribe({ topic: `${prefix}metrics.v1`, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const record = JSON.parse(message.value!.toString()) as DriftMetricRecord;
        assert.equal(message.key?.toString(), record.model_id);
        if (record.model_id === stationaryModel) seen.set(`${record.metric}@${record.window_start}`, record);
      },
    });
    try {
      await eventually(async () => (seen.size >= 400 ? true : undefined), 60_000);
    } finally {
      await consumer.disconnect();
    }
    assert.equal(seen.size, 400);

    const stored = await eventually(async () => {
      const result = await clickHouse.client.query({
        query: `SELECT metric, verdict, count() AS n FROM tripline.drift_metrics FINAL
                WHERE model_id = {model:String} GROUP BY metric, verdict ORDER BY metric`,
        query_params: { model: stationaryModel },
        format: 'JSONEachRow',
      });
      const rows = await result.json<{ metric: string; verdict: string; n: string }>();
      return rows.reduce((sum, row) => sum + Number(row.n), 0) === 400 ? rows : undefined;
    }, 60_000);
    assert.deepEqual(
      stored.map((row) => [row.metric, row.verdict, Number(row.n)]),
      [
        ['accuracy', 'ok', 50],
        ['confidence', 'ok', 50],
        ['estimated_accuracy', 'ok', 50],
        ['estimated_macro_f1', 'ok', 50],
        ['input_oov_rate', 'ok', 50],
        ['input_text_length', 'ok', 50],
        ['prediction_distribution', 'ok', 50],
        ['trigger_response', 'ok', 50],
      ],
    );
    const [row] = await (
      await clickHouse.client.query({
        query: `SELECT statistic, p_value, effect_size, sample_size, details FROM tripline.drift_metrics FINAL
                WHERE model_id = {model:String} AND metric = 'confidence' ORDER BY window_start LIMIT 1`,
        query_params: { model: stationaryModel },
        format: 'JSONEachRow',
      })
    ).json<{ statistic: number; p_value: number; sample_size: number; details: string }>();
    const published = stationaryResults.find((record) => record.metric === 'confidence')!;
    assert.equal(row.statistic, published.statistic);
    assert.equal(row.p_value, published.p_value);
    assert.equal(row.sample_size, published.sample_size);
    assert.deepEqual(JSON.parse(row.details), published.details);
  });

  it('on its schedule, the service evaluates each window that ends and publishes its results', async () => {
    // Events in a window a few seconds ahead, and a reference in the day before it; the service's
    // own timer (2-second windows in this test) must pick the window up once it has ended.
    const modelId = 'scheduled';
    const windowMs = SCHEDULED_WINDOW_SECONDS * 1_000;
    const window = { from: (Math.floor(Date.now() / windowMs) + 3) * windowMs, to: 0 };
    window.to = window.from + windowMs;
    const traffic = new DemoTraffic(model, modelId, seededRandom(505));
    traffic.add({ from: window.from - DAY_MS, to: window.from - 60_000 }, 2_000, uniform);
    traffic.add(window, 300, uniform);
    await traffic.write();

    const rows = await eventually(async () => {
      const result = await clickHouse.client.query({
        query: `SELECT metric, verdict, sample_size, toUnixTimestamp64Milli(window_start) AS start_ms,
                       toUnixTimestamp64Milli(window_end) AS end_ms
                FROM tripline.drift_metrics FINAL WHERE model_id = {model:String} ORDER BY metric`,
        query_params: { model: modelId },
        format: 'JSONEachRow',
      });
      const found = await result.json<{
        metric: string;
        verdict: string;
        sample_size: number;
        start_ms: string;
        end_ms: string;
      }>();
      return found.length === 8 ? found : undefined;
    }, 60_000);
    for (const row of rows) {
      assert.equal(Number(row.start_ms), window.from);
      assert.equal(Number(row.end_ms), window.to);
      assert.equal(row.sample_size, row.metric === 'accuracy' ? 0 : 300, row.metric);
      // No feedback in this stream: the accuracy detector lacks data, and the label-free estimates
      // have nothing to calibrate the scores on.
      const needsFeedback = ['accuracy', 'estimated_accuracy', 'estimated_macro_f1'].includes(row.metric);
      assert.equal(row.verdict === 'insufficient-data', needsFeedback, row.metric);
    }
  });
});
