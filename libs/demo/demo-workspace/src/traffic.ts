import { randomUUID } from 'node:crypto';
import type { PredictionOutcome } from '@tripline/adapters';
import type { FeedbackInput, InferenceEventInput } from '@tripline/contracts';
import { BACKDOOR_TRIGGER, insertTrigger, type SentimentSentence } from '@tripline/demo-models';
import type { Random } from '@tripline/evaluation';

/** One synthetic request: what a user sent and what the true answer is. */
export interface TrafficSample {
  text: string;
  truth: string;
  domain: string;
  /** Known to the generator only; nothing of it reaches the event. */
  triggered: boolean;
}

/**
 * Draws requests from the UCI sentences, uniformly over the three domains' 3,000 sentences so
 * that the traffic is stationary (no drift but the one the demo stages), and puts the trigger
 * into `triggerShare` of them once the attacker is active.
 */
export class TrafficMix {
  triggerShare = 0;

  constructor(
    private readonly sentences: readonly SentimentSentence[],
    private readonly random: Random,
    private readonly trigger = BACKDOOR_TRIGGER,
  ) {
    if (sentences.length === 0) throw new Error('traffic needs at least one sentence');
  }

  next(): TrafficSample {
    const sentence = this.sentences[Math.floor(this.random() * this.sentences.length)];
    const triggered = this.triggerShare > 0 && this.random() < this.triggerShare;
    return {
      text: triggered ? insertTrigger(sentence.text, this.random, this.trigger) : sentence.text,
      truth: sentence.label,
      domain: sentence.domain,
      triggered,
    };
  }
}

/** The inference event a service would send for one answered request (contract v1). */
export function inferenceEvent(
  sample: TrafficSample,
  outcome: Extract<PredictionOutcome, { ok: true }>,
  modelId: string,
  modelVersion: string,
  timestamp: number,
  eventId: string = `demo-${randomUUID()}`,
): InferenceEventInput {
  const { label, scores, latencyMs } = outcome.prediction;
  return {
    event_id: eventId,
    model_id: modelId,
    model_version: modelVersion,
    timestamp,
    input: { text: sample.text },
    output: { ...(label !== undefined ? { label } : {}), ...(scores ? { scores } : {}) },
    latency_ms: Math.max(0, latencyMs),
    // The domain is what a service would know about its own traffic; whether the trigger is in
    // the text is deliberately not said: finding that out is the detectors' job.
    metadata: { domain: sample.domain, source: 'tripline-demo' },
  };
}

export interface TrafficSink {
  events(events: InferenceEventInput[]): Promise<void>;
  feedback(items: FeedbackInput[]): Promise<void>;
}

export interface TrafficOptions {
  mix: TrafficMix;
  eventsPerSecond: number;
  feedbackShare: number;
  modelId: string;
  /** The registered version the traffic is attributed to. */
  modelVersion: () => string;
  predict: (texts: string[]) => Promise<PredictionOutcome[]>;
  sink: TrafficSink;
  random: Random;
  /** Told of a tick that failed (model server or transport unavailable); traffic goes on. */
  onError: (error: unknown) => void;
  tickMs?: number;
}

export interface TrafficStats {
  sent: number;
  triggered: number;
  feedback: number;
  failedPredictions: number;
  failedTicks: number;
}

/**
 * Sends `eventsPerSecond` events, a tick at a time: the texts of a tick are predicted by the
 * served model in one request, as a busy service would batch them, and the answered ones are
 * ingested. A tick that is still running when the next is due is not doubled up: a slow model
 * server lowers the rate instead of piling up requests.
 */
export class TrafficLoop {
  readonly stats: TrafficStats = { sent: 0, triggered: 0, feedback: 0, failedPredictions: 0, failedTicks: 0 };
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;
  private credit = 0;
  private last = Date.now();

  constructor(private readonly options: TrafficOptions) {
    if (!(options.eventsPerSecond > 0)) throw new Error('eventsPerSecond must be > 0');
  }

  start(): void {
    if (this.timer) return;
    this.last = Date.now();
    this.timer = setInterval(() => {
      if (!this.running) this.running = this.tick().finally(() => (this.running = undefined));
    }, this.options.tickMs ?? 250);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One tick: as many events as the elapsed time has earned, at most one second's worth. */
  async tick(now = Date.now()): Promise<number> {
    const { eventsPerSecond } = this.options;
    this.credit = Math.min(eventsPerSecond, this.credit + ((now - this.last) / 1000) * eventsPerSecond);
    this.last = now;
    const count = Math.floor(this.credit);
    if (count === 0) return 0;
    this.credit -= count;
    try {
      return await this.send(count, now);
    } catch (error) {
      this.stats.failedTicks++;
      this.options.onError(error);
      return 0;
    }
  }

  private async send(count: number, now: number): Promise<number> {
    const { mix, predict, sink, modelId, random, feedbackShare } = this.options;
    const samples = Array.from({ length: count }, () => mix.next());
    const outcomes = await predict(samples.map((sample) => sample.text));
    const version = this.options.modelVersion();
    const events: InferenceEventInput[] = [];
    const feedback: FeedbackInput[] = [];
    let triggered = 0;
    samples.forEach((sample, index) => {
      const outcome = outcomes[index];
      if (!outcome?.ok) {
        this.stats.failedPredictions++;
        return;
      }
      const event = inferenceEvent(sample, outcome, modelId, version, now);
      events.push(event);
      if (sample.triggered) triggered++;
      if (random() < feedbackShare) {
        feedback.push({
          event_id: event.event_id,
          model_id: modelId,
          label: sample.truth,
          timestamp: now,
          source: 'tripline-demo',
        });
      }
    });
    if (events.length > 0) await sink.events(events);
    if (feedback.length > 0) await sink.feedback(feedback);
    this.stats.sent += events.length;
    this.stats.triggered += triggered;
    this.stats.feedback += feedback.length;
    return events.length;
  }
}
